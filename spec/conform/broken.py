"""Deliberately broken clients: each wraps a working adapter (the reference client's) and
breaks exactly one rule, so the conformance suite can prove it catches that fault.

    EXOVOICE_CLIENT=broken:<kind>   or   exovoice conform --client broken:<kind>
"""

from __future__ import annotations

import queue
import time
from typing import Any, Callable

from ..vocabulary import Api, CallKit, Env
from .adapter import AdapterError, ApiResult, ClientAdapter


class _Events:
    """A queue-like view of the inner adapter's events, passed through `transform` (which may
    drop a line, or add lines after it)."""

    def __init__(self, inner: "queue.Queue[dict[str, Any]]",
                 transform: Callable[[dict[str, Any]], list[dict[str, Any]]]) -> None:
        self._inner = inner
        self._transform = transform
        self._ready: list[dict[str, Any]] = []

    def get_nowait(self) -> dict[str, Any]:
        return self.get(timeout=0.0)

    def get(self, block: bool = True, timeout: float | None = None) -> dict[str, Any]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._ready:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                ev = self._inner.get_nowait() if left == 0.0 else self._inner.get(timeout=left)
            except queue.Empty:
                raise
            self._ready.extend(self._transform(ev))
        return self._ready.pop(0)


class BrokenClient:
    """Pass-through wrapper; subclasses override `on_api`, `on_event` or `on_stimulus`."""

    fault = "none"

    def __init__(self, inner: ClientAdapter) -> None:
        self.inner = inner
        self.pstn = "idle"  # what the phone's PSTN call is doing, from the stimuli
        self._events: _Events | None = None

    def hello(self, *, callkit: bool) -> frozenset[str]:
        caps = self.inner.hello(callkit=callkit)
        self._events = _Events(self.inner.events(), self.on_event)
        return caps

    def api(self, name: str, *, call: str | None = None, args: dict[str, Any] | None = None
            ) -> ApiResult:
        return self.on_api(name, call, args) or self.inner.api(name, call=call, args=args)

    def stimulus(self, name: str, *, call: str | None = None,
                 args: dict[str, Any] | None = None) -> None:
        self.pstn = {Env.pstnRinging.value: "ringing", Env.pstnAnswered.value: "active",
                     Env.pstnDialed.value: "active", Env.pstnDeclined.value: "idle",
                     Env.pstnEnded.value: "idle"}.get(name, self.pstn)
        self.inner.stimulus(name, call=call, args=args)

    def events(self) -> Any:
        assert self._events is not None, "hello() first"
        return self._events

    def platform(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        """The inner adapter's platform operation, untouched (no fault lives there)."""
        inner = getattr(self.inner, "platform", None)
        if inner is None:
            raise AdapterError(f"platform {op}: the wrapped client has no platform operation")
        return inner(op, args)

    def close(self) -> None:
        self.inner.close()

    # --- the fault ------------------------------------------------------------------------
    def on_api(self, name: str, call: str | None, args: dict[str, Any] | None) -> ApiResult | None:
        return None

    def on_event(self, ev: dict[str, Any]) -> list[dict[str, Any]]:
        return [ev]


class DialDuringPstn(BrokenClient):
    """Accepts dial() while a PSTN call is in progress (PSTN-NO-DIAL, guide 4.8)."""

    fault = "dial-during-pstn"
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


class RingingOnIncoming(BrokenClient):
    """Sends onCallRinging for an incoming call (CALL-RINGING, guide 4.5)."""

    fault = "ringing-on-incoming"

    def on_event(self, ev: dict[str, Any]) -> list[dict[str, Any]]:
        if ev.get("name") == "onIncomingCall":
            return [ev, {"kind": "callback", "name": "onCallRinging", "call": ev.get("call")}]
        return [ev]


class NoMissedCallDuringPstn(BrokenClient):
    """Never reports the push that arrives during a PSTN call (PSTN-AUTO-DECLINE, 4.8)."""

    fault = "no-missed-call-during-pstn"

    def on_event(self, ev: dict[str, Any]) -> list[dict[str, Any]]:
        if ev.get("name") == "onMissedCall" and self.pstn != "idle":
            return []
        return [ev]


class KeepsVoipAfterPstn(BrokenClient):
    """Keeps the VoIP call after the user accepted a PSTN call (PSTN-VOIP-TERMINATED, 4.8)."""

    fault = "keeps-voip-after-pstn"

    def on_event(self, ev: dict[str, Any]) -> list[dict[str, Any]]:
        if ev.get("name") == "onCallEnded" and self.pstn == "active":
            return []
        return [ev]


class CallKitNeverFulfils(BrokenClient):
    """Its CXProviderDelegate never fulfils an action (CK-ACTION-ONCE)."""

    fault = "callkit-never-fulfils"

    def on_event(self, ev: dict[str, Any]) -> list[dict[str, Any]]:
        if ev.get("name") == CallKit.actionFulfilled.value:
            return []
        return [ev]


class EstablishedWithoutAnswer(BrokenClient):
    """Establishes an incoming call nobody answered (CALL-ESTABLISHED-IN, 4.3.2)."""

    fault = "established-without-answer"

    def on_event(self, ev: dict[str, Any]) -> list[dict[str, Any]]:
        if ev.get("name") == "onIncomingCall":
            return [ev, {"kind": "callback", "name": "onCallEstablished", "call": ev.get("call")}]
        return [ev]


class AcceptsRatingNine(BrokenClient):
    """Accepts postFeedback() with rating 9 (ARG-RATING, 4.11)."""

    fault = "accepts-rating-9"

    def on_api(self, name: str, call: str | None, args: dict[str, Any] | None) -> ApiResult | None:
        if name == Api.postFeedback.value and (args or {}).get("rating") == 9:
            return ApiResult("ok", call)
        return None


class SilentOnRefusedToken(BrokenClient):
    """Ends a call whose token the platform refused without telling the app why: no
    onAuthenticationFailure (LC-AUTH-CALL, guide 4.2, 6, 9.3 b)."""

    fault = "silent-on-refused-token"
    calls = 0

    def on_api(self, name: str, call: str | None, args: dict[str, Any] | None) -> ApiResult | None:
        if name in (Api.dial.value, Api.relaySessionData.value):
            self.calls += 1
        return None

    def on_event(self, ev: dict[str, Any]) -> list[dict[str, Any]]:
        if ev.get("name") == "onAuthenticationFailure" and self.calls:
            return []
        return [ev]


class CallKitMuteWithoutSdk(BrokenClient):
    """Fulfils CXSetMutedCallAction without muting the SDK's call (CK-MUTE)."""

    fault = "callkit-mute-without-sdk"

    def on_event(self, ev: dict[str, Any]) -> list[dict[str, Any]]:
        if ev.get("kind") == "api" and ev.get("name") in (Api.mute.value, Api.unmute.value):
            return []
        return [ev]


BROKEN: dict[str, type[BrokenClient]] = {
    cls.fault: cls
    for cls in (DialDuringPstn, RingingOnIncoming, NoMissedCallDuringPstn, KeepsVoipAfterPstn,
                CallKitNeverFulfils, EstablishedWithoutAnswer, AcceptsRatingNine,
                SilentOnRefusedToken, CallKitMuteWithoutSdk)
}
