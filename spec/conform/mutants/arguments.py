"""Mutants of the argument checks (guide 4.3.1, 4.11, 9.3 and the DTMF digits in FACTS): an
operation given a value the guide rules out is accepted, or a valid one refused."""

from __future__ import annotations

import re
from typing import Any

from ...vocabulary import Api, ErrorType
from ..adapter import ApiResult
from .base import BrokenClient


class AcceptsRatingNine(BrokenClient):
    """Accepts postFeedback() with rating 9 (ARG-RATING, guide 4.11)."""

    fault = "accepts-rating-9"
    rule = "ARG-RATING"
    area = "arguments"

    def on_api(self, name: str, call: str | None, args: dict[str, Any] | None) -> ApiResult | None:
        if name == Api.postFeedback.value and (args or {}).get("rating") == 9:
            return ApiResult("ok", call)
        return None


class AcceptsRatingZero(BrokenClient):
    """Checks the rating with `0 <= rating <= 5`: rating 0 is accepted (ARG-RATING, 4.11)."""

    fault = "accepts-rating-0"
    rule = "ARG-RATING"
    area = "arguments"

    def on_api(self, name: str, call: str | None, args: dict[str, Any] | None) -> ApiResult | None:
        if name == Api.postFeedback.value and (args or {}).get("rating") == 0:
            return self.inner.api(name, call=call, args={**(args or {}), "rating": 1})
        return None


class StripsDialMessage(BrokenClient):
    """Drops the characters a dial message may not hold and dials with the rest, instead of
    refusing the dial (ARG-DIAL-MESSAGE, guide 4.3.1)."""

    fault = "strips-dial-message"
    rule = "ARG-DIAL-MESSAGE"
    area = "arguments"

    def on_api(self, name: str, call: str | None, args: dict[str, Any] | None) -> ApiResult | None:
        message = (args or {}).get("message")
        if name == Api.dial.value and isinstance(message, str):
            kept = re.sub(r"[^A-Za-z0-9,:{}()\[\]]", "", message)
            if kept != message:
                return self.inner.api(name, call=call, args={**(args or {}), "message": kept})
        return None


class DialsEmptyRemote(BrokenClient):
    """dial() with an empty remoteId calls the platform's default number instead of being
    refused (ARG-DIAL-REMOTE, guide 4.3.1)."""

    fault = "dials-empty-remote"
    rule = "ARG-DIAL-REMOTE"
    area = "arguments"

    def on_api(self, name: str, call: str | None, args: dict[str, Any] | None) -> ApiResult | None:
        if name == Api.dial.value and not str((args or {}).get("remoteId", "")).strip():
            return self.inner.api(name, call=call,
                                  args={**(args or {}), "remoteId": "sip:08040408080"})
        return None


class TruncatesSubscriber(BrokenClient):
    """Cuts a subscriber name of 16 characters or more to 15 and signs that subscriber in,
    where such a name must never initialize (ARG-SUBSCRIBER, guide 9.3)."""

    fault = "truncates-subscriber"
    rule = "ARG-SUBSCRIBER"
    area = "arguments"

    def on_api(self, name: str, call: str | None, args: dict[str, Any] | None) -> ApiResult | None:
        who = (args or {}).get("subscriberName")
        if name == Api.initialize.value and isinstance(who, str) and len(who) >= 16 \
                and who.isalnum():
            return self.inner.api(name, call=call, args={**(args or {}),
                                                         "subscriberName": who[:15]})
        return None


class RefusesDtmfHash(BrokenClient):
    """Takes only 0-9 and * as DTMF digits: sendDtmf('#') on a live call is refused with
    INVALID_PARAMETER (ARG-DTMF, FACTS: one of 0-9, *, #)."""

    fault = "refuses-dtmf-hash"
    rule = "ARG-DTMF"
    area = "arguments"

    def on_api(self, name: str, call: str | None, args: dict[str, Any] | None) -> ApiResult | None:
        if name == Api.sendDtmf.value and (args or {}).get("digit") == "#":
            return ApiResult(ErrorType.INVALID_PARAMETER.value, call)
        return None


class SendsDtmfString(BrokenClient):
    """Takes a string of digits for sendDtmf() and sends them one by one, where the guide's
    sendDtmf() sends one digit: sendDtmf('55') is accepted, not refused (ARG-DTMF, FACTS)."""

    fault = "sends-dtmf-string"
    rule = "ARG-DTMF"
    area = "arguments"

    def on_api(self, name: str, call: str | None, args: dict[str, Any] | None) -> ApiResult | None:
        digits = (args or {}).get("digit")
        if name != Api.sendDtmf.value or not isinstance(digits, str) or len(digits) < 2 \
                or not re.fullmatch(r"[0-9*#]+", digits):
            return None
        res = ApiResult("ok", call)
        for d in digits:
            res = self.inner.api(name, call=call, args={**(args or {}), "digit": d})
            if not res.ok:
                break
        return res
