"""Where the reference client asks the specification what to do.

Every API call is decided by the composed statechart (`exovoice.spec.charts.model.ClientModel`): a
`must` refusal that applies is taken, otherwise the call is accepted and fired; every
callback is the one `ClientModel.on_network` says a network happening leads to. The client
keeps no state machine of its own. Each step and the trace line it writes happen under one
lock, so the trace's order is the order the model took the steps in.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from exovoice.spec import rules as R
from exovoice.spec.base import SpecViolation
from exovoice.spec.charts.calls import CALL_OPS
from exovoice.spec.charts.model import ClientModel
from exovoice.spec.trace.recorder import TraceRecorder
from exovoice.spec.vocabulary import CALL_CALLBACKS, INTERNAL_EVENTS, CallState, ErrorType, Kind

# Which error to give when a must refusal lists several (the guide's own word first).
_PREFERRED = {
    R.ARG_DIAL_MESSAGE.id: ErrorType.INVALID_PARAMETER.value,
    R.ARG_DIAL_REMOTE.id: ErrorType.INVALID_DIAL_INFO.value,
    R.SYS_PAYLOAD.id: ErrorType.PAYLOAD_ERROR.value,
}


class ExotelVoiceError(Exception):
    """What the SDK throws (and what errors in callbacks carry)."""

    def __init__(self, error_type: ErrorType | str, message: str = "") -> None:
        self.error_type = ErrorType(error_type)
        self.message = message or self.error_type.value
        super().__init__(f"{self.error_type.value}: {self.message}")

    # the iOS SDK's names
    @property
    def errorType(self) -> ErrorType:  # noqa: N802
        return self.error_type

    @property
    def errorMessage(self) -> str:  # noqa: N802
        return self.message


def refusal_error(refusal: Any) -> str:
    if refusal.errors is None:
        return ErrorType.INVALID_PARAMETER.value
    pref = _PREFERRED.get(refusal.rule.id)
    if pref in refusal.errors:
        return pref  # type: ignore[return-value]
    return sorted(refusal.errors)[0]


Observer = Callable[[dict[str, Any], str], None]  # (trace line, origin thread name)


class SpecCore:
    def __init__(self, recorder: TraceRecorder, *, callkit: bool) -> None:
        self.model = ClientModel(callkit=callkit)
        self.recorder = recorder
        self.lock = threading.RLock()
        self.observers: list[Observer] = []
        self.ignored: list[str] = []  # network happenings nothing in the state answered

    # --- the trace ---------------------------------------------------------------------
    def _record(self, kind: Kind, name: str, **kw: Any) -> None:
        if kind is Kind.API:
            self.recorder.api(name, **kw)
        elif kind is Kind.CALLBACK:
            self.recorder.callback(name, **kw)
        elif kind is Kind.ENV:
            self.recorder.env(name, kw.get("args"))
        elif kind is Kind.CALLKIT:
            self.recorder.callkit(name, uuid=kw["uuid"], args=kw.get("args"))
        elif kind is Kind.STATE:
            self.recorder.state(name, call=kw.get("call"))
        line = self.recorder.lines[-1]
        for obs in list(self.observers):
            obs(line, threading.current_thread().name)

    # --- decisions ---------------------------------------------------------------------
    def api(self, op: str, params: dict[str, Any], *, call: str | None = None,
            own_error: str | None = None, own_why: str = "", trace_args: dict | None = None
            ) -> None:
        """Accept `op` or raise ExotelVoiceError, as the spec says; `own_error` is a refusal the
        client has its own reason for (a malformed push), which the spec must allow."""
        args = params if trace_args is None else trace_args
        ref_call = call if op in CALL_OPS else None
        with self.lock:
            must = [(r, why) for r, why in self.model.applicable_refusals(op, params) if r.must]
            err, why = (refusal_error(must[0][0]), must[0][1]) if must else (own_error, own_why)
            if err is not None:
                self.model.fire(op, result=err, params=params, call=ref_call)
                self._record(Kind.API, op, call=ref_call, args=args, result=err)
                raise ExotelVoiceError(err, why)
            self.model.fire(op, params=params, call=call)
            self._record(Kind.API, op, call=call, args=args)

    def network(self, cause: str, *, call: str | None,
                extra: dict[str, dict[str, Any]] | None = None
                ) -> tuple[str, dict[str, Any]] | None:
        """Apply a network happening; return the callback (name, args) it led to, which is
        already in the trace, or None (nothing answers it here, or an internal step).
        `extra` adds arguments by callback name (the caller of a missed call, the error of a
        rejected token): what the client knows beyond the spec's defaults."""
        with self.lock:
            m = self.model
            before = m.snapshot()
            got = m.on_network(cause, call=call)
            if got is None:
                self.ignored.append(cause)
                return None
            event, params = got
            if event in INTERNAL_EVENTS:
                return None
            args = dict(params)
            for k, v in (extra or {}).get(event, {}).items():
                args[k] = v
            if event == "onCallEnded" and "endReason" not in args and m.v.end_cause:
                args["endReason"] = str(m.v.end_cause)
            if args != params:  # the model must take exactly what the trace will say
                m.restore(before)
                m.fire(event, params=args, call=call)
            self._record(Kind.CALLBACK, event, call=call if event in CALL_CALLBACKS else None,
                         args=args or None)
            return event, args

    def observe(self, op: str, args: dict[str, Any], *, call: str | None) -> None:
        """An api line that observes (getAudioRoute): the spec judges what it reports."""
        with self.lock:
            self.model.fire(op, params=args, call=call)
            self._record(Kind.API, op, call=call, args=args)

    def emit(self, event: str, args: dict[str, Any] | None = None) -> None:
        """An SDK-internal happening with no network cause (onDeinitialized)."""
        with self.lock:
            self.model.fire(event, params=args)
            self._record(Kind.CALLBACK, event, args=args)

    def env(self, name: str, args: dict[str, Any] | None = None) -> None:
        with self.lock:
            self.model.fire(name, params=args)
            self._record(Kind.ENV, name, args=args)

    def callkit(self, name: str, uuid: str, args: dict[str, Any] | None = None) -> None:
        params = {"uuid": uuid, **(args or {})}
        with self.lock:
            self.model.fire(name, params=params)
            self._record(Kind.CALLKIT, name, uuid=uuid, args=args)

    def state_line(self, call: str | None) -> CallState | None:
        with self.lock:
            cs = self.model.call_state
            if cs is not None:
                self._record(Kind.STATE, cs.value, call=call)
            return cs

    # --- queries -----------------------------------------------------------------------
    def call_state(self) -> CallState | None:
        with self.lock:
            return self.model.call_state

    def in_state(self, state: str) -> bool:
        with self.lock:
            return self.model.in_state(state)


__all__ = ["ExotelVoiceError", "SpecCore", "SpecViolation", "refusal_error"]
