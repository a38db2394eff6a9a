"""A client made of the specification itself: every API call and stimulus is put to the
composed model (exovoice.spec.charts.model.ClientModel), and the callbacks the model says the app gets
are delivered as events.

It is not a client anyone ships. It exists to unit-test the step library and the features
without a SIP stack (it passes every scenario by construction, so a failure with it is a bug in
a feature or a step), and as `exovoice conform --client model` to show what the features expect.
It has no platform simulator, so by default it does not declare the `platform` capability,
nor `controls`: it takes only the token and failure controls it can play on the model, and is
offered them the version-1 way (a control it refuses falls back to its network happening, or
the scenario is not-run).
"""

from __future__ import annotations

import itertools
import queue
import time
from typing import Any

from ..base import SpecViolation
from ..charts.model import ClientModel
from ..vocabulary import (
    CALLKIT_ACTIONS,
    Api,
    CallAudioRoute,
    CallKit,
    CallState,
    Env,
    ErrorType,
    Kind,
    Network,
)
from .adapter import AdapterError, ApiResult, Capability
from .payload import parse_payload

_NET = frozenset(Network.names())
_ENV = frozenset(Env.names())
_CK = frozenset(CallKit.names())


class ModelAdapter:
    """In-process adapter over the spec's own model (see module docstring)."""

    name = "model"

    def __init__(self, capabilities: frozenset[str] = Capability.ALL - {Capability.PLATFORM,
                                                                       Capability.CONTROLS}
                 ) -> None:
        self._caps = frozenset(capabilities)
        self._q: "queue.Queue[dict[str, Any]]" = queue.Queue()
        self.m: ClientModel | None = None
        self._ids = itertools.count(1)
        self._muted = False
        self._remote: str | None = None
        self._pending_caller: str | None = None
        self._details: dict[str, Any] = {}
        self._flags: set[str] = set()

    # --- protocol -----------------------------------------------------------------------
    def hello(self, *, callkit: bool) -> frozenset[str]:
        self.m = ClientModel(callkit=callkit)
        self._q = queue.Queue()
        return self._caps

    def events(self) -> "queue.Queue[dict[str, Any]]":
        return self._q

    def close(self) -> None:
        self.m = None

    def api(self, name: str, *, call: str | None = None, args: dict[str, Any] | None = None
            ) -> ApiResult:
        m = self._model()
        args = dict(args or {})
        if name == "getCallDetails":
            return ApiResult("ok", m.v.call_id, self._call_details())
        if name == "getStatistics":
            if m.call_state not in (CallState.ESTABLISHED, CallState.MEDIA_DISRUPTED,
                                    CallState.RENEWING_MEDIA, CallState.ENDED):
                return ApiResult(ErrorType.INVALID_PARAMETER.value, call)
            return ApiResult("ok", call, {"codec": "opus", "jitterMs": 3, "rttMs": 40,
                                          "fractionLost": 0.0, "packetsSent": 100,
                                          "packetsReceived": 100, "mos": 4.4})
        if name == "getAudioRoute":
            return ApiResult("ok", call, self._route_now())
        if name not in Api.names():
            raise AdapterError(f"unknown operation {name}")
        new = f"c{next(self._ids)}" if name == Api.dial.value else None
        cid = new or call
        if name == Api.relaySessionData.value:
            if "payload" in args:
                info = parse_payload(args.get("payload"))
                if info is None:
                    return self._refuse(name, ErrorType.PAYLOAD_ERROR.value, args)
                self._pending_caller = info.get("from", "unknown")
            else:  # the step library's "a valid push from the platform"
                self._pending_caller = str(args.get("callerId", "unknown"))
        if name == Api.postFeedback.value and not isinstance(args.get("rating"), int):
            return self._refuse(name, ErrorType.INVALID_PARAMETER.value, args, cid)
        here = m.snapshot()
        try:
            m.fire(name, params=args, call=cid)
        except SpecViolation:
            m.restore(here)
            errors = [e for r, _ in m.applicable_refusals(name, args) if r.must
                      for e in sorted(r.errors or {ErrorType.INVALID_PARAMETER.value})]
            return self._refuse(name, errors[0] if errors else ErrorType.INTERNAL_ERROR.value,
                                args, call)
        self._after_api(name, cid, args)
        return ApiResult("ok", cid if name == Api.dial.value else call)

    def _route_now(self) -> str:
        """The route getAudioRoute() reports: one the spec allows here (AUDIO-ROUTE), the
        app's explicit choice first, then a wired headset, a Bluetooth device, the earpiece."""
        m = self._model()
        allowed = m.routes()
        a = CallAudioRoute
        order = (([a.SPEAKER.value] if m.v.speaker is True else [])
                 + ([a.BLUETOOTH.value] if m.v.bt_selected is True else [])
                 + [a.HEADPHONES.value, a.BLUETOOTH.value, a.EARPIECE.value, a.SPEAKER.value])
        return next(r for r in order if r in allowed)

    def stimulus(self, name: str, *, call: str | None = None,
                 args: dict[str, Any] | None = None) -> None:
        m = self._model()
        args = dict(args or {})
        if name in _NET:
            self._network(name, args)
        elif name in _ENV:
            m.fire(name, params=args)
            if name == Env.pstnAnswered.value and m.call_state == CallState.ENDING:
                self._network(Network.net_bye_done.value, {})
        elif name in CALLKIT_ACTIONS:
            self._callkit_action(name, args)
        elif name in ("token_expired", "token_invalid"):
            if m.in_state("initialized") or m.in_state("initializing"):
                err = (ErrorType.AUTHENTICATION_EXPIRED_TOKEN if name == "token_expired"
                       else ErrorType.AUTHENTICATION_INVALID_TOKEN).value
                self._network(Network.net_token_rejected.value, {"error": err})
        elif name in ("init_fails", "upload_fails"):
            self._flags.add(name)
        elif name == CallKit.voipPushReceived.value:
            self._voip_push(args)
        else:
            raise AdapterError(f"unknown stimulus {name}")

    def _voip_push(self, args: dict[str, Any]) -> None:
        """Apple's rule (CK-PUSH): every push is reported before its handler completes. During
        an active CallKit call it is a second CallKit call (CK-SECOND-CALL): relayed, declined
        by the SDK, and ended at once; a push whose payload cannot be read is ended too."""
        m = self._model()
        uuid = args.get("uuid") or self._uuid()
        if uuid == m.v.ck_uuid:
            uuid = self._uuid()
        self._emit_try(Kind.CALLKIT, CallKit.voipPushReceived.value, None, {"uuid": uuid})
        second = m.v.ck_uuid is not None
        readable = "payload" not in args or parse_payload(args.get("payload")) is not None
        if second:
            relay = {k: args[k] for k in ("payload", "payloadVersion", "subscriberName")
                     if k in args}
            if self._emit_try(Kind.API, Api.relaySessionData.value, None, relay) and \
                    m.in_state("missed_due"):
                self._network(Network.net_push_valid.value,
                              {"remoteId": str(args.get("callerId", "unknown")),
                               "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        self._emit_try(Kind.CALLKIT, CallKit.reportNewIncomingCall.value, None, {"uuid": uuid})
        self._emit_try(Kind.CALLKIT, CallKit.voipPushCompleted.value, None, {"uuid": uuid})
        if second or not readable:
            self._emit_try(Kind.CALLKIT, CallKit.reportCallEnded.value, None, {"uuid": uuid})

    # --- internals ----------------------------------------------------------------------
    def _model(self) -> ClientModel:
        if self.m is None:
            raise AdapterError("hello() first")
        return self.m

    def _uuid(self) -> str:
        return f"uuid-{next(self._ids)}"

    def _refuse(self, name: str, error: str, args: dict, call: str | None = None) -> ApiResult:
        m = self._model()
        here = m.snapshot()
        try:
            m.fire(name, result=error, params=args, call=call)
        except SpecViolation:
            m.restore(here)
        return ApiResult(error, call)

    def _emit(self, kind: Kind, name: str, call: str | None, args: dict | None) -> None:
        line: dict[str, Any] = {"kind": kind.value, "name": name, "ts": time.time()}
        if call is not None:
            line["call"] = call
        if args:
            line["args"] = args
        self._q.put(line)

    def _emit_try(self, kind: Kind, name: str, call: str | None, args: dict | None) -> bool:
        """Emit a line the app layer writes, when the model allows it here."""
        m = self._model()
        here = m.snapshot()
        try:
            m.fire(name, params=args or {}, call=call)
        except SpecViolation:
            m.restore(here)
            return False
        self._emit(kind, name, call, args)
        return True

    def _network(self, cause: str, args: dict) -> None:
        m = self._model()
        before = m.call_state
        cid = m.v.call_id
        if cause in (Network.net_push_valid.value,) and m.call_state == CallState.NONE:
            cid = f"c{next(self._ids)}"
        if cause == Network.net_token_rejected.value and args.get("error"):
            got = self._apply(cause, cid, {"error": args["error"]})
        else:
            got = self._apply(cause, cid, None)
        if got is None:
            return
        event, params = got
        if event in (Network.net_early_media.value, Network.net_connecting.value):
            return
        if event == "onMissedCall":
            params = {"remoteId": self._pending_caller or "unknown", "time": time.time()}
        if event == "onIncomingCall":
            self._remote = self._pending_caller
        self._emit(Kind.CALLBACK, event, cid if event in _CALL_EVENTS else None, params or None)
        self._after_callback(event, before)

    def _apply(self, cause: str, cid: str | None, override: dict | None) -> tuple[str, dict] | None:
        m = self._model()
        if override is None:
            return m.on_network(cause, call=cid)
        here = m.snapshot()
        got = m.on_network(cause, call=cid)
        if got is None:
            return None
        m.restore(here)
        try:
            m.fire(got[0], params=override, call=cid)
        except SpecViolation:
            m.restore(here)
            return m.on_network(cause, call=cid)
        return got[0], override

    def _after_api(self, name: str, cid: str | None, args: dict) -> None:
        m = self._model()
        if name == Api.initialize.value and "init_fails" in self._flags:
            self._flags.discard("init_fails")
            self._network(Network.net_init_failed.value, {})
        elif name == Api.uploadLogs.value and "upload_fails" in self._flags:
            self._network(Network.net_upload_failed.value, {})
        elif name == Api.dial.value:
            self._remote = args.get("remoteId")
            self._muted = False
            self._details = {"started": time.time()}
        elif name in (Api.hangup.value, Api.reset.value) and m.call_state == CallState.ENDING:
            self._network(Network.net_bye_done.value, {})
        elif name in (Api.stop.value, Api.reset.value):
            self._emit_try(Kind.CALLBACK, "onDeinitialized", None, None)

    def _after_callback(self, event: str, before: CallState | None) -> None:
        m = self._model()
        if not m.v.callkit:
            return
        uuid = m.v.ck_uuid
        if event == "onIncomingCall":
            self._emit_try(Kind.CALLKIT, CallKit.reportNewIncomingCall.value, None,
                           {"uuid": self._uuid()})
        elif event == "onCallRinging" and uuid:
            self._emit_try(Kind.CALLKIT, CallKit.reportOutgoingCallStartedConnecting.value, None,
                           {"uuid": uuid})
        elif event == "onCallEstablished" and uuid and m.v.direction == "OUTGOING":
            self._emit_try(Kind.CALLKIT, CallKit.reportOutgoingCallConnected.value, None,
                           {"uuid": uuid})
        elif event in ("onCallEnded", "onCallFailed") and uuid:
            self._emit_try(Kind.CALLKIT, CallKit.reportCallEnded.value, None, {"uuid": uuid})
        if event == "onCallEstablished":
            self._details.setdefault("established", time.time())
        if event in ("onCallEnded", "onCallFailed"):
            self._details["ended"] = time.time()

    def _callkit_action(self, name: str, args: dict) -> None:
        m = self._model()
        uuid = args.get("uuid") or m.v.ck_uuid or self._uuid()
        extra = {k: args[k] for k in ("muted", "onHold") if isinstance(args.get(k), bool)}
        if not self._emit_try(Kind.CALLKIT, name, None, {"uuid": uuid, **extra}):
            return
        cid = m.v.call_id
        muted = args.get("muted")
        mute_op = (Api.mute.value if muted else Api.unmute.value) if isinstance(muted, bool) \
            else (Api.unmute.value if self._muted else Api.mute.value)
        sdk = {CallKit.CXAnswerCallAction.value: Api.answer.value,
               CallKit.CXEndCallAction.value: Api.hangup.value,
               CallKit.CXSetMutedCallAction.value: mute_op}.get(name)
        if name == CallKit.CXEndCallAction.value and not m.call_live:
            sdk = None  # CK-END: no call to hang up
        if sdk is not None:
            self._emit_try(Kind.API, sdk, cid, None)
            if sdk == Api.mute.value:
                self._muted = True
            elif sdk == Api.unmute.value:
                self._muted = False
        self._emit_try(Kind.CALLKIT, CallKit.actionFulfilled.value, None,
                       {"uuid": uuid, "action": name})
        if sdk == Api.hangup.value and m.call_state == CallState.ENDING:
            self._network(Network.net_bye_done.value, {})

    def _call_details(self) -> dict[str, Any] | None:
        m = self._model()
        if m.v.call_id is None and m.call_state is None:
            return None
        d = self._details
        established = d.get("established")
        ended = d.get("ended")
        return {
            "callId": m.v.call_id,
            "sessionId": f"s-{m.v.call_id}" if m.v.call_id else None,  # guide 9.1 a
            "callState": m.call_state.value if m.call_state else None,
            "callDirection": m.v.direction,
            "callEndReason": m.v.end_cause,
            "remoteId": self._remote,
            "callDuration": int((ended or time.time()) - established) if established else 0,
            "callStartedTime": d.get("started"),
            "callEstablishedTime": established,
            "callEndedTime": ended,
        }


_CALL_EVENTS = frozenset({"onIncomingCall", "onCallInitiated", "onCallRinging",
                          "onCallEstablished", "onMediaDisrupted", "onRenewingMedia",
                          "onCallEnded", "onCallFailed"})
