"""The guide's ExotelVoiceClient and CallController (guide 4.2, 4.3, 4.10), whose behaviour is
the spec's statechart (see exovoice.reference.sdk.core) over the simulated platform (exovoice.reference.net.simnet).
Calls go over the `network` given to the client (exovoice.reference.net.seam.CallNetwork): by default
the simulated one (exovoice.reference.net.simnet.SimNet), or real SIP/RTP (exovoice.reference.net.sipnet.SipNet).

Threads: API calls run on the caller's thread; network happenings, the phone's events and
CallKit deliveries run on the client's dispatcher thread, which also calls the listeners, in
order. `settle()` waits until the dispatcher has nothing left to do (tests and adapters);
`close()` stops it.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Callable

from exovoice.spec.arguments import subscriber_name_problem
from exovoice.spec.trace.recorder import TraceRecorder
from exovoice.spec.vocabulary import (
    Api,
    Callback,
    CallDirection,
    CallState,
    Env,
    ErrorType,
    LogLevel,
    Network,
)

from ..net.seam import CallNetwork, NetCall, NetworkLink
from ..net.simnet import SimNet
from ..net.simplatform import Platform
from ..wire.tokens import TokenError
from .call import Call, CallDetails
from .core import ExotelVoiceError, Observer, SpecCore
from .dispatcher import Dispatcher
from .listeners import CallListener, ExotelVoiceClientEventListener
from .logstore import LogStore

TAG = "ExotelVoiceClient"
SDK_VERSION = "exovoice-reference-0.1"


class CallController:
    def __init__(self, client: "ExotelVoiceClient") -> None:
        self._client = client

    def dial(self, remoteId: str, message: str | None = None) -> Call:  # noqa: N803
        return self._client._dial(remoteId, message)

    def getCallFromCallId(self, callId: str) -> Call | None:  # noqa: N802,N803
        return self._client._calls.get(callId)

    def getLatestCallDetails(self) -> CallDetails | None:  # noqa: N802
        latest = self._client._latest or self._client._last_call
        return latest.getCallDetails() if latest is not None else None

    def setCallListener(self, callListener: CallListener | None) -> None:  # noqa: N802,N803
        self._client._call_listener = callListener


class ClientLink(NetworkLink):
    """The client's side of the network seam (exovoice.reference.net.seam.NetworkLink)."""

    def __init__(self, client: "ExotelVoiceClient") -> None:
        self._client = client

    @property
    def platform(self) -> Platform:
        return self._client.platform

    def current_call(self) -> "Call | None":
        return self._client.latest_call

    def post(self, cause: str, call: NetCall | None = None, *,
             still: Callable[[], bool] | None = None,
             extra: dict[str, dict[str, Any]] | None = None) -> None:
        self._client._net_of(cause, call, still, extra)

    def settle(self, timeout: float | None = None) -> bool:
        return self._client.settle(timeout)


class ExotelVoiceClient:
    def __init__(self, *, callkit: bool = False, platform: Platform | None = None,
                 trace: IO[str] | Path | str | None = None, settle_timeout: float = 5.0,
                 network: CallNetwork | None = None) -> None:
        self.callkit = callkit
        self.platform = platform or Platform()
        self.network: CallNetwork = network if network is not None else SimNet(self.platform)
        self.recorder = TraceRecorder(trace, callkit=callkit, client="exovoice-reference",
                                      sdk_version=SDK_VERSION, clock=time.time)
        self._core = SpecCore(self.recorder, callkit=callkit)
        self._dispatcher = Dispatcher()
        self._settle_timeout = settle_timeout
        self.logs = LogStore()
        self._controller = CallController(self)
        self._event_listener: ExotelVoiceClientEventListener | None = None
        self._call_listener: CallListener | None = None
        self._calls: dict[str, Call] = {}
        self._latest: Call | None = None  # the call the SDK's single call context holds
        self._last_call: Call | None = None
        self._next_id = 1
        self._subscriber: str | None = None
        self._token: Any = None
        self.listener_errors: list[BaseException] = []
        try:
            self.network.attach(ClientLink(self))
        except BaseException:
            self._dispatcher.close()
            self.recorder.close()
            raise

    # --- the guide's API -----------------------------------------------------------------
    def initialize(self, context: Any = None, hostname: str = "", subscriberName: str = "",  # noqa: N803
                   displayName: str = "", accountSid: str = "", subscriberToken: Any = None
                   ) -> None:
        problem = subscriber_name_problem(subscriberName)
        trace_args = {"subscriberName": subscriberName, "hostname": hostname,
                      "displayName": displayName, "accountSid": accountSid}
        self._core.api(Api.initialize.value, {"subscriberName": subscriberName},
                       trace_args=trace_args,
                       own_error=ErrorType.INVALID_PARAMETER.value if problem else None,
                       own_why=problem or "")
        self._subscriber, self._token = subscriberName, subscriberToken
        cause, err = self.platform.check_token(subscriberToken, subscriberName)
        self._log(LogLevel.INFO, f"initialize {subscriberName}@{hostname}: {cause}")
        self._net_later(cause, extra={Callback.onAuthenticationFailure.value: err,
                                      Callback.onInitializationFailure.value: err})

    def isInitialized(self) -> bool:  # noqa: N802
        return self._core.in_state("initialized")

    def getCallController(self) -> CallController:  # noqa: N802
        return self._controller

    def setEventListener(self, eventListener: ExotelVoiceClientEventListener | None) -> None:  # noqa: N802,N803
        self._event_listener = eventListener

    def relaySessionData(self, payload: dict[str, Any]) -> bool:  # noqa: N802
        data = payload if isinstance(payload, dict) else {}
        params = {k: data[k] for k in ("payload", "payloadVersion", "subscriberName") if k in data}
        own, why = self._own_refusal()
        push = None
        try:
            push = self.platform.read_push(payload)
        except TokenError as e:
            own, why = own or ErrorType.PAYLOAD_ERROR.value, why or str(e)
        self._core.api(Api.relaySessionData.value, params, own_error=own, own_why=why or "")
        assert push is not None
        missed = {Callback.onMissedCall.value: {"remoteId": push.caller_id,
                                                "time": _now_iso()}}
        if self._core.in_state("missed_due"):  # busy, or a PSTN call without CallKit
            self._log(LogLevel.INFO, f"push from {push.caller_id} while busy: missed")
            self._net_later(Network.net_push_valid.value, extra=missed)
            return True
        call = Call(self, self._new_id(), CallDirection.INCOMING, push.caller_id,
                    session_id=push.session_id)
        self._adopt(call)
        outcome = self.platform.relay_outcome(push)
        if outcome == Network.net_push_valid.value:
            self.network.receive(call, self._token, missed)  # the platform has the last word
        else:
            self._net_later(outcome, extra=missed)
        return True

    def reset(self) -> None:
        call = self._latest
        live = self._core.call_state() not in (None, CallState.ENDED, CallState.ENDING)
        self._core.api(Api.reset.value, {})
        if live:
            self._net_later(Network.net_bye_done.value)
        self._later(lambda: self._emit(Callback.onDeinitialized.value))
        if call is not None:
            self.network.release(call)

    def stop(self) -> None:
        self._core.api(Api.stop.value, {})
        self._later(lambda: self._emit(Callback.onDeinitialized.value))

    def uploadLogs(self, startDate: datetime, endDate: datetime, description: str = "") -> None:  # noqa: N802,N803
        args = {"startDate": _iso(startDate), "endDate": _iso(endDate),
                "description": description}
        not_init = not self._core.in_state("initialized")
        self._core.api(Api.uploadLogs.value, args,
                       own_error=ErrorType.SDK_UNINITIALIZED.value if not_init else None,
                       own_why="the client is not initialized")
        cause, err = self.platform.upload_outcome(len(self.logs.between(startDate, endDate)))
        self._net_later(cause, extra={Callback.onUploadLogFailure.value: err})

    # --- beyond the guide: lifecycle of this Python object, and the simulated world --------
    def settle(self, timeout: float | None = None) -> bool:
        return self._dispatcher.settle(self._settle_timeout if timeout is None else timeout)

    def close(self) -> None:
        try:
            self.network.close()
        finally:
            self._dispatcher.close()
            self.recorder.close()

    def __enter__(self) -> "ExotelVoiceClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def observe_trace(self, observer: Observer) -> None:
        """`observer(line, thread_name)` for every line the client's trace gains, as it is
        written: how an app layer, an adapter or a phone process watches the SDK without
        reading its trace file."""
        self._core.observers.append(observer)

    def simulate_network(self, cause: str) -> None:
        """A network happening arrives (exovoice.spec.vocabulary.Network), on the dispatcher thread."""
        Network(cause)
        self._net_later(cause)

    def simulate_env(self, name: str, args: dict[str, Any] | None = None) -> None:
        """Something happens on the phone (exovoice.spec.vocabulary.Env), on the dispatcher thread."""
        Env(name)
        self._later(lambda: self._env_now(name, args))

    def later(self, task: Callable[[], None]) -> None:
        """Run `task` on the dispatcher thread (CallKit deliveries use this)."""
        self._later(task)

    @property
    def trace_lines(self) -> list[dict[str, Any]]:
        return self.recorder.lines

    def trace_text(self) -> str:
        return self.recorder.text()

    @property
    def latest_call(self) -> Call | None:
        return self._latest

    # --- internals -----------------------------------------------------------------------
    def _new_id(self) -> str:
        self._next_id += 1
        return f"c{self._next_id - 1}"

    def _adopt(self, call: Call) -> None:
        self._calls[call.id] = call
        self._latest = call

    def _dial(self, remote_id: str, message: str | None) -> Call:
        params: dict[str, Any] = {"remoteId": remote_id}
        if message is not None:
            params["message"] = message
        down = not self.platform.network_up
        call_id = f"c{self._next_id}"  # taken only if the dial is accepted
        own, why = self._own_refusal()
        if own is None and down:
            own, why = ErrorType.NETWORK_ERROR.value, "the network is lost"
        self._core.api(Api.dial.value, params, call=call_id, own_error=own, own_why=why)
        self._new_id()
        call = Call(self, call_id, CallDirection.OUTGOING, remote_id,
                    session_id=self.platform.new_session())
        self._adopt(call)
        self.network.place(call, remote_id, message, self._token)
        return call

    def _own_refusal(self) -> tuple[str | None, str]:
        """LC-REINIT leaves it to the SDK whether calls work after onAuthenticationFailure;
        this one refuses them until the app initializes again with a new token."""
        if self._core.in_state("init_failed") and self._core.model.v.auth_failed:
            return (ErrorType.SDK_UNINITIALIZED.value,
                    "the token was refused: initialize again with a new token")
        return None, ""

    def _call_api(self, op: str, call: Call | None, params: dict[str, Any] | None = None) -> None:
        if call is not None and call is not self._latest:
            # A detached Call: the trace could not name it without breaking SYS-ONE-CALL.
            raise ExotelVoiceError(ErrorType.INVALID_PARAMETER,
                                   f"call {call.id} is no longer the active call")
        self._core.api(op, dict(params or {}), call=call.id if call is not None else None)

    def _later(self, task: Callable[[], None]) -> None:
        self._dispatcher.submit(task)

    def _net_later(self, cause: str, extra: dict[str, dict[str, Any]] | None = None) -> None:
        self._later(lambda: self._net_now(cause, extra))

    def _net_of(self, cause: str, call: NetCall | None,
                still: Callable[[], bool] | None = None,
                extra: dict[str, dict[str, Any]] | None = None) -> None:
        """NetworkLink.post: `cause` on the dispatcher thread; a happening of `call` only
        while `call` is the latest call and `still()` holds."""
        if call is None:
            self._net_later(cause, extra)
            return

        def task() -> None:
            if call is self._latest and (still is None or still()):
                self._net_now(cause, extra)
        self._later(task)

    def _net_now(self, cause: str, extra: dict[str, dict[str, Any]] | None = None) -> None:
        call = self._latest
        got = self._core.network(cause, call=call.id if call is not None else None, extra=extra)
        if got is None:
            self._log(LogLevel.DEBUG, f"{cause}: nothing to do in this state")
            return
        self._deliver(*got)

    def _emit(self, event: str, args: dict[str, Any] | None = None) -> None:
        self._core.emit(event, args)
        self._deliver(event, args or {})

    def _env_now(self, name: str, args: dict[str, Any] | None) -> None:
        before = self._core.call_state()
        self._core.env(name, args)
        if name == Env.networkLost.value:
            self.platform.network_up = False
        elif name == Env.networkRestored.value:
            self.platform.network_up = True
        elif name in (Env.bluetoothConnected.value, Env.bluetoothDisconnected.value,
                      Env.wiredHeadsetConnected.value, Env.wiredHeadsetDisconnected.value):
            if self._latest is not None:  # guide 4.4: audio is routed automatically again
                self._latest.bluetooth = None
        elif name == Env.pstnAnswered.value and before != CallState.ENDING and \
                self._core.call_state() == CallState.ENDING:
            self._log(LogLevel.INFO, "PSTN call accepted: terminating the VoIP call")
            if self._latest is not None:
                self.network.end(self._latest)  # BYE (CANCEL), then net_bye_done

    def _deliver(self, event: str, args: dict[str, Any]) -> None:
        """Update the Call object, then call the app's listener (on the dispatcher thread)."""
        call = self._latest
        if event == Callback.onCallEstablished.value and call is not None:
            call._mark_established()
        elif event in (Callback.onCallEnded.value, Callback.onCallFailed.value) and call is not None:
            call._mark_ended(args.get("endReason"))
            self._last_call = call
        elif event == Callback.onMissedCall.value and call is not None and \
                self._core.call_state() is None:
            # a relayed call that was over before it was announced: never the app's
            self._calls.pop(call.id, None)
            self._latest = None
        elif event == Callback.onMissedCall.value and call is not None and \
                self._core.model.v.call_id != call.id and \
                self._core.call_state() == CallState.ENDED:
            # ARG-FEEDBACK-ENDED: a missed call makes no call object; the ended call before it
            # is the latest again (the one postFeedback is for)
            self._calls.pop(call.id, None)
            self._latest = self._calls.get(self._core.model.v.call_id or "") or self._last_call
        ev, cl = self._event_listener, self._call_listener
        err = ExotelVoiceError(args["error"]) if "error" in args else None
        if event == Callback.onMissedCall.value:
            when = args.get("time")
            self._invoke(cl, event, args.get("remoteId"),
                         datetime.fromisoformat(when) if isinstance(when, str) else when)
        elif event == Callback.onCallFailed.value:
            self._invoke(cl, event, call, err or ExotelVoiceError(ErrorType.INTERNAL_ERROR))
        elif event in {c.value for c in (Callback.onIncomingCall, Callback.onCallInitiated,
                                          Callback.onCallRinging, Callback.onCallEstablished,
                                          Callback.onMediaDisrupted, Callback.onRenewingMedia,
                                          Callback.onCallEnded)}:
            self._invoke(cl, event, call)
        elif err is not None:
            self._invoke(ev, event, err)
        else:
            self._invoke(ev, event)

    def _invoke(self, listener: Any, method: str, *args: Any) -> None:
        fn = getattr(listener, method, None) if listener is not None else None
        if fn is None:
            return
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001 - the app's bug must not stop the SDK
            self.listener_errors.append(e)
            self.logs.add(LogLevel.ERROR, TAG, f"listener {method} raised {e!r}")

    def _log(self, level: LogLevel, message: str) -> None:
        self.logs.add(level, TAG, message)
        listener = self._event_listener
        if listener is not None and hasattr(listener, "onLog"):
            self._invoke(listener, "onLog", level, TAG, message)


def _iso(t: Any) -> str:
    return t.isoformat() if isinstance(t, datetime) else str(t)


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
