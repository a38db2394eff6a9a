"""Mutants of the call state flow (guide 4.3, 4.5): callbacks a call's state does not allow."""

from __future__ import annotations

from typing import Any

from ..adapter import ApiResult, ClientAdapter
from .base import BrokenClient, Event, like


class RingingOnIncoming(BrokenClient):
    """Sends onCallRinging for an incoming call, as if it were an outgoing one: the incoming
    path reuses the outgoing call's progress reporting (CALL-RINGING, guide 4.5)."""

    fault = "ringing-on-incoming"
    rule = "CALL-RINGING"
    area = "call state"

    def on_event(self, ev: Event) -> list[Event]:
        if ev.get("name") == "onIncomingCall":
            return [ev, like(ev, "onCallRinging")]
        return [ev]


class EstablishedWithoutAnswer(BrokenClient):
    """Establishes an incoming call nobody answered: the media set up for the ringing call is
    taken for an answered one (CALL-ESTABLISHED-IN, guide 4.3.2)."""

    fault = "established-without-answer"
    rule = "CALL-ESTABLISHED-IN"
    area = "call state"

    def on_event(self, ev: Event) -> list[Event]:
        if ev.get("name") == "onIncomingCall":
            return [ev, like(ev, "onCallEstablished")]
        return [ev]


class EstablishedTwice(BrokenClient):
    """Reports onCallEstablished twice when a call is answered (once for the 200 OK, once
    for the media), though the call was established once (CALL-ESTABLISHED-OUT, guide 4.5:
    onCallEstablished moves a call to ESTABLISHED once, and fires again only when disrupted
    media comes back)."""

    fault = "established-twice"
    rule = "CALL-ESTABLISHED-OUT"
    area = "call state"

    def __init__(self, inner: ClientAdapter) -> None:
        super().__init__(inner)
        self.established: set[str] = set()

    def on_event(self, ev: Event) -> list[Event]:
        if ev.get("name") == "onCallEstablished" and ev.get("call") not in self.established:
            self.established.add(str(ev.get("call")))
            return [ev, dict(ev)]
        return [ev]


class CallbackAfterEnded(BrokenClient):
    """Its RTP watchdog outlives the call: after onCallEnded it still reports
    onMediaDisrupted for the ended call (CALL-ENDED-TERMINAL, guide 4.5)."""

    fault = "callback-after-ended"
    rule = "CALL-ENDED-TERMINAL"
    area = "call state"

    def on_event(self, ev: Event) -> list[Event]:
        if ev.get("name") == "onCallEnded":
            return [ev, like(ev, "onMediaDisrupted")]
        return [ev]


class LeakedCallListener(BrokenClient):
    """Never removes a call's listener when the call ends, so from the second call of a
    session on, the new call's onCallEstablished is delivered twice (once per listener).
    Only a session with two answered calls shows it (CALL-ESTABLISHED-OUT, guide 4.5)."""

    fault = "leaked-call-listener"
    rule = "CALL-ESTABLISHED-OUT"
    area = "call state"

    def __init__(self, inner: ClientAdapter) -> None:
        super().__init__(inner)
        self.calls: list[str] = []
        self.doubled: set[str] = set()

    def on_event(self, ev: Event) -> list[Event]:
        call = ev.get("call")
        if ev.get("name") in ("onCallInitiated", "onIncomingCall") and call not in self.calls:
            self.calls.append(str(call))
        if (ev.get("name") == "onCallEstablished" and len(self.calls) >= 2
                and call == self.calls[-1] and call not in self.doubled):
            self.doubled.add(str(call))
            return [ev, dict(ev)]
        return [ev]


class AnswerTwiceAccepted(BrokenClient):
    """answer() does not look at the call's state: a second answer() of a call already
    answered is accepted, where the guide lets answer() act only on an INCOMING call
    (CALL-OP-STATE, guide 4.3)."""

    fault = "answer-twice-accepted"
    rule = "CALL-OP-STATE"
    area = "call state"

    def __init__(self, inner: ClientAdapter) -> None:
        super().__init__(inner)
        self.answered: set[str] = set()

    def on_api(self, name: str, call: str | None, args: dict[str, Any] | None) -> ApiResult | None:
        if name == "answer":
            if call in self.answered:
                return ApiResult("ok", call)
            res = self.inner.api(name, call=call, args=args)
            if res.ok:
                self.answered.add(str(call))
            return res
        return None
