"""Mutants of when a callback comes: the right callback, too late."""

from __future__ import annotations

from typing import Any

from ...vocabulary import Api
from ..adapter import ApiResult, ClientAdapter
from .base import BrokenClient, Event

LATE = 6.0  # seconds: beyond the 5 s `exovoice conform` waits for an owed callback


class LateEndAfterHangup(BrokenClient):
    """Waits for the remote side's answer to its BYE before it reports the end of a call
    the app hung up: onCallEnded comes 6 s after hangup(), and meanwhile the client already
    acts as if the call were over (a new dial() is accepted, feedback taken) while the app
    still sees the call ENDING, where a dial() is refused while a call exists (SYS-BUSY,
    FACTS; CALL-ENDED-LOCAL, guide 4.5: the ENDING call ends with onCallEnded)."""

    fault = "late-end-after-hangup"
    rule = "SYS-BUSY"
    area = "timing"

    def __init__(self, inner: ClientAdapter) -> None:
        super().__init__(inner)
        self.hanging_up: set[str] = set()

    def on_api(self, name: str, call: str | None, args: dict[str, Any] | None) -> ApiResult | None:
        if name == Api.hangup.value and call:
            self.hanging_up.add(call)
        return None

    def on_event(self, ev: Event) -> list[Event]:
        if ev.get("name") == "onCallEnded" and ev.get("call") in self.hanging_up:
            self.hanging_up.discard(str(ev.get("call")))
            self.queue.hold(ev, LATE)
            return []
        return [ev]
