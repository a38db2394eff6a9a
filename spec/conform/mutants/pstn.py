"""Mutants of the PSTN rules (guide 4.8): a VoIP call and a PSTN call on the same phone."""

from __future__ import annotations

from typing import Any

from ...vocabulary import Api, CallKit
from ..adapter import ApiResult, ClientAdapter
from .base import BrokenClient, Event, like


class DialDuringPstn(BrokenClient):
    """Accepts dial() while a PSTN call is in progress (PSTN-NO-DIAL, guide 4.8)."""

    fault = "dial-during-pstn"
    rule = "PSTN-NO-DIAL"
    area = "PSTN"
    faked = False

    def on_api(self, name: str, call: str | None, args: dict[str, Any] | None) -> ApiResult | None:
        if name == Api.dial.value and self.pstn != "idle":
            self.faked = True
            return ApiResult("ok", "c-pstn-ignored")
        return None

    def stimulus(self, name: str, *, call: str | None = None,
                 args: dict[str, Any] | None = None) -> None:
        if self.faked and name == CallKit.CXStartCallAction.value:
            return  # the faked call exists only in the app's imagination
        super().stimulus(name, call=call, args=args)


class NoMissedCallDuringPstn(BrokenClient):
    """Never reports the push that arrives during a PSTN call (PSTN-AUTO-DECLINE, 4.8)."""

    fault = "no-missed-call-during-pstn"
    rule = "PSTN-AUTO-DECLINE"
    area = "PSTN"

    def on_event(self, ev: Event) -> list[Event]:
        if ev.get("name") == "onMissedCall" and self.pstn != "idle":
            return []
        return [ev]


class KeepsVoipAfterPstn(BrokenClient):
    """Keeps the VoIP call after the user accepted a PSTN call (PSTN-VOIP-TERMINATED, 4.8)."""

    fault = "keeps-voip-after-pstn"
    rule = "PSTN-VOIP-TERMINATED"
    area = "PSTN"

    def on_event(self, ev: Event) -> list[Event]:
        if ev.get("name") == "onCallEnded" and self.pstn == "active":
            return []
        return [ev]


class PlacedPstnUnseen(BrokenClient):
    """Watches only PSTN calls that ring on the phone: while the user is on a PSTN call they
    placed themselves, a VoIP push is announced with onIncomingCall instead of being
    declined and reported missed (PSTN-AUTO-DECLINE, guide 4.8: 'in progress' is any PSTN
    call, placed or received)."""

    fault = "placed-pstn-unseen"
    rule = "PSTN-AUTO-DECLINE"
    area = "PSTN"

    def __init__(self, inner: ClientAdapter) -> None:
        super().__init__(inner)
        self.announced = 0

    def on_event(self, ev: Event) -> list[Event]:
        if ev.get("name") == "onMissedCall" and self.pstn_placed:
            self.announced += 1
            out = like(ev, "onIncomingCall")
            out["call"] = f"c-unseen-{self.announced}"
            return [out]
        return [ev]
