"""Mutants of log upload (guide 4.10) and call feedback (guide 4.11)."""

from __future__ import annotations

from typing import Any

from ...vocabulary import Api, ErrorType
from ..adapter import ApiResult, ClientAdapter
from .base import BrokenClient, Event, like

UPLOAD_ANSWERS = ("onUploadLogSuccess", "onUploadLogFailure")


class UploadNeverAnswered(BrokenClient):
    """Accepts uploadLogs() and never tells the app how it went: neither
    onUploadLogSuccess nor onUploadLogFailure (LOG-UPLOAD, guide 4.10)."""

    fault = "upload-never-answered"
    rule = "LOG-UPLOAD"
    area = "logs"

    def on_event(self, ev: Event) -> list[Event]:
        if ev.get("name") in UPLOAD_ANSWERS:
            return []
        return [ev]


class UploadSuccessAfterFailure(BrokenClient):
    """Retries a failed upload behind the app's back and reports onUploadLogSuccess after
    it already reported onUploadLogFailure: one upload answered twice (LOG-UPLOAD, 4.10)."""

    fault = "upload-success-after-failure"
    rule = "LOG-UPLOAD"
    area = "logs"

    def on_event(self, ev: Event) -> list[Event]:
        if ev.get("name") == "onUploadLogFailure":
            return [ev, like(ev, "onUploadLogSuccess")]
        return [ev]


class SwapsLogDates(BrokenClient):
    """Given a range whose start is after its end, swaps the two dates and uploads that
    range, instead of refusing the upload (ARG-LOG-DATES, guide 4.10)."""

    fault = "swaps-log-dates"
    rule = "ARG-LOG-DATES"
    area = "logs"

    def on_api(self, name: str, call: str | None, args: dict[str, Any] | None) -> ApiResult | None:
        a = args or {}
        start, end = a.get("startDate"), a.get("endDate")
        if name == Api.uploadLogs.value and isinstance(start, (int, float)) \
                and isinstance(end, (int, float)) and start > end:
            return self.inner.api(name, call=call, args={**a, "startDate": end, "endDate": start})
        return None


class FeedbackDuringCall(BrokenClient):
    """Takes postFeedback() on a live call (it queues the feedback for the call's end)
    where feedback is posted only once the call has ENDED (ARG-FEEDBACK-ENDED, 4.11)."""

    fault = "feedback-during-call"
    rule = "ARG-FEEDBACK-ENDED"
    area = "feedback"

    def on_api(self, name: str, call: str | None, args: dict[str, Any] | None) -> ApiResult | None:
        if name != Api.postFeedback.value:
            return None
        res = self.inner.api(name, call=call, args=args)
        rating, issue = (args or {}).get("rating"), (args or {}).get("issue")
        valid = isinstance(rating, int) and 1 <= rating <= 5 and issue is not None
        if not res.ok and valid and res.result != ErrorType.SDK_UNINITIALIZED.value:
            return ApiResult("ok", res.call or call)
        return res


class FeedbackOncePerSession(BrokenClient):
    """Keeps a 'feedback posted' flag for the whole session, never reset for a new call: once
    one postFeedback() was accepted, every later one is refused with INVALID_PARAMETER,
    also for the next ended call (ARG-FEEDBACK-ENDED, guide 4.11)."""

    fault = "feedback-once-per-session"
    rule = "ARG-FEEDBACK-ENDED"
    area = "feedback"

    def __init__(self, inner: ClientAdapter) -> None:
        super().__init__(inner)
        self.posted = False

    def on_api(self, name: str, call: str | None, args: dict[str, Any] | None) -> ApiResult | None:
        if name != Api.postFeedback.value:
            return None
        res = self.inner.api(name, call=call, args=args)
        if res.ok and self.posted:
            return ApiResult(ErrorType.INVALID_PARAMETER.value, res.call or call)
        self.posted = self.posted or res.ok
        return res
