"""Mutants of the order of what a client reports: each line is one the guide allows, in an
order it does not."""

from __future__ import annotations

from ...vocabulary import CallEndReason, CallKit
from .base import BrokenClient, Event, like


class _Swap(BrokenClient):
    """Reports `second` before `first` when the client gives them one after the other."""

    first = ""
    second = ""

    def on_event(self, ev: Event) -> list[Event]:
        if ev.get("name") != self.first:
            return [ev]
        nxt = self.queue.peek()
        if nxt is None:
            return [ev]
        if nxt.get("name") == self.second:
            return [nxt, ev]
        return [ev, *self.on_event(nxt)]


class InitiatedAfterRinging(BrokenClient):
    """Posts onCallInitiated to the app's main queue, which lags (0.3 s here), but reports
    onCallRinging straight from the SIP thread: when the callee's phone rings within that
    lag, onCallRinging overtakes onCallInitiated (CALL-INITIATED, guide 4.3: onCallInitiated
    comes before any other progress callback). Only an app that does not wait for
    onCallInitiated before the call moves on shows it."""

    fault = "initiated-after-ringing"
    rule = "CALL-INITIATED"
    area = "ordering"
    lag = 0.3

    def on_event(self, ev: Event) -> list[Event]:
        name = ev.get("name")
        if name == "onCallInitiated":
            self.queue.hold(ev, self.lag)
            return []
        if name == "onCallRinging":
            return [ev, *self.queue.unhold("onCallInitiated", ev.get("call"))]
        return [ev]


class PushReportedAfterCompletion(_Swap):
    """Completes the VoIP push handler before it has reported the call to CallKit
    (reportNewIncomingCall after voipPushCompleted), which iOS 13 punishes by ending the app
    (CK-PUSH, FACTS)."""

    fault = "push-reported-after-completion"
    rule = "CK-PUSH"
    area = "ordering"
    callkit = True
    first = CallKit.reportNewIncomingCall.value
    second = CallKit.voipPushCompleted.value


class EndedBeforeFailed(BrokenClient):
    """Tears the call down (onCallEnded, THROTTLED) before it reports the rate limit with
    onCallFailed, so the failure names a call already ENDED (CALL-FAILED, guide 9.1:
    onCallFailed ends the call, at most one onCallEnded after it)."""

    fault = "ended-before-failed"
    rule = "CALL-FAILED"
    area = "ordering"

    def on_event(self, ev: Event) -> list[Event]:
        if ev.get("name") == "onCallFailed":
            return [like(ev, "onCallEnded", endReason=CallEndReason.THROTTLED.value), ev]
        return [ev]
