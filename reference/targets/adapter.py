"""ReferenceAdapter: the reference client behind exovoice.spec.conform.adapter.ClientAdapter.

Operations: the guide's API by its trace names (exovoice.spec.vocabulary.Api) with the trace's
argument names, plus queries that write nothing (`getCallDetails`, `getStatistics`,
`getAudioRoute`, `isInitialized`) and `getCallState` (writes a `state` line). Every request
and its arguments are described by the protocol's catalogue (exovoice.spec.conform.protocol).

It declares every capability (Capability.ALL). With `app_starts_callkit` it also declares the
convention `callkit-app-start`: its app layer then starts every outgoing CallKit call itself
after an accepted dial() (guide 4.3.3, Outgoing Calls step 2), under a UUID of its own,
instead of waiting for the driver's CXStartCallAction.

Stimuli: Network names (net_*), Env names (pstnRinging, ...), CallKit deliveries
(CXStartCallAction, CXAnswerCallAction, CXEndCallAction, CXSetMutedCallAction,
CXSetHeldCallAction, providerDidReset, voipPushReceived), and platform controls:
`token_expired` / `token_invalid` (the platform stops accepting the tokens issued so far;
while registered the client is told at once through onAuthenticationFailure),
`token_expired_silently` (the same without telling the client: its next dial or session
take finds out),
`init_fails` (the next registration fails), `upload_fails` (log uploads fail),
`session_ended` (args.sessionId, or the latest push's session: its caller gave up),
`media_manual` (answer() is no longer followed by net_answered by itself: the call stays
ANSWERING until a net_answered stimulus; args.on=false restores the default).

Platform (capability `platform`, the adapter protocol's version-1 extension): `platform(op,
args)` drives the platform simulator (exovoice.reference.platform) and the sample customer backend
(exovoice.reference.backend) over real HTTP on ephemeral 127.0.0.1 ports (exovoice.reference.targets.platform_harness):
`setup`, `dial_whom`, `push`, `provision`, `token`. The servers start on first use and stop in
close().

Events: every line the client's trace gains that the driver did not write itself:
callbacks, CallKit lines, and the API calls the client's own app layer (the CallKit
delegate) made, those marked `"origin": "app"`. The driver's own API lines and the env
lines of its stimuli are not echoed. api() and stimulus() return only once the client has
settled, so every consequence of a request is in the queue when it returns.
"""

from __future__ import annotations

import queue
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Callable

from exovoice.spec.conform.adapter import AdapterError, ApiResult, Capability
from exovoice.spec.vocabulary import Api, CallKit, Env, ErrorType, Network

from ..app.callkit import USER_ACTIONS, ProviderDelegate, new_uuid
from ..net.simplatform import Platform
from ..sdk.client import ExotelVoiceClient
from ..sdk.core import ExotelVoiceError
from .platform_harness import PlatformHarness

QUERIES = frozenset({"getCallDetails", "getStatistics", "getAudioRoute", "isInitialized",
                     "getCallState"})
CONTROLS = frozenset({"token_expired", "token_invalid", "token_expired_silently", "init_fails",
                      "upload_fails", "session_ended", "media_manual"})
DEFAULT_SUBSCRIBER = "alice"


class ReferenceAdapter:
    def __init__(self, *, trace: IO[str] | Path | str | None = None,
                 platform: Platform | None = None, settle_timeout: float = 5.0,
                 on_event: Callable[[dict[str, Any]], None] | None = None,
                 app_starts_callkit: bool = False) -> None:
        self._trace = trace
        self._app_starts_callkit = app_starts_callkit
        # the SIP-side platform simulation (tokens, pushes, network outcomes); `platform` is
        # the adapter protocol's platform operation (the HTTP-side simulator)
        self.simnet = platform or Platform()
        self._settle_timeout = settle_timeout
        self._on_event = on_event
        self.client: ExotelVoiceClient | None = None
        self.delegate: ProviderDelegate | None = None
        self._events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._driver = threading.local()
        self._last_push: dict[str, Any] | None = None
        self._harness: PlatformHarness | None = None

    # --- ClientAdapter -------------------------------------------------------------------
    def hello(self, *, callkit: bool) -> frozenset[str]:
        self._shutdown()
        self._events = queue.Queue()
        self.client = self._new_client(callkit)
        self.client.observe_trace(self._observe)
        self.delegate = ProviderDelegate(self.client) if callkit else None
        if self._app_starts_callkit:
            return Capability.ALL | {Capability.CALLKIT_APP_START}
        return Capability.ALL

    def api(self, name: str, *, call: str | None = None, args: dict[str, Any] | None = None
            ) -> ApiResult:
        client = self._need()
        args = dict(args or {})
        self._settle()
        self._driver.active = True
        try:
            result = self._api(client, name, call, args)
        except ExotelVoiceError as e:
            result = ApiResult(e.error_type.value, call)
        finally:
            self._driver.active = False
        if (self._app_starts_callkit and self.delegate is not None
                and name == Api.dial.value and result.ok):
            # guide 4.3.3 Outgoing Calls step 2: the app requests CXStartCallAction for the
            # call it just dialled; CallKit delivers it to the delegate, which writes and
            # fulfils it (the lines come to the driver as events)
            self._settle()
            self.delegate.deliver(CallKit.CXStartCallAction.value, new_uuid(),
                                  {"handle": str(args.get("remoteId", ""))})
        self._settle()
        return result

    def stimulus(self, name: str, *, call: str | None = None,
                 args: dict[str, Any] | None = None) -> None:
        client = self._need()
        args = dict(args or {})
        self._settle()
        if name in Network.names():
            client.simulate_network(name)
        elif name in Env.names():
            client.simulate_env(name, args or None)
        elif name in USER_ACTIONS:
            if self.delegate is None:
                raise AdapterError(f"stimulus {name}: the client was started without CallKit")
            if name == CallKit.voipPushReceived.value and "payload" not in args \
                    and "data" not in args:
                args["data"] = self._make_push(args)
            self.delegate.deliver(name, args.pop("uuid", None), args)
        elif name in CONTROLS:
            self._control(client, name, args)
        else:
            raise AdapterError(f"unknown stimulus {name!r}")
        self._settle()

    def events(self) -> "queue.Queue[dict[str, Any]]":
        return self._events

    def platform(self, op: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        """The platform simulator and customer backend (capability `platform`)."""
        if self._harness is None:
            self._harness = PlatformHarness()
        try:
            return self._harness.op(op, args)
        except ValueError as e:
            raise AdapterError(f"platform {op}: {e}") from e

    def close(self) -> None:
        self._shutdown()
        if self._harness is not None:
            self._harness.close()
            self._harness = None

    def _new_client(self, callkit: bool) -> ExotelVoiceClient:
        """A fresh client for hello() (over the simulated network here)."""
        return ExotelVoiceClient(callkit=callkit, platform=self.simnet, trace=self._trace,
                                 settle_timeout=self._settle_timeout)

    # --- extras for the step library ------------------------------------------------------
    @property
    def recorder(self) -> Any:
        return self._need().recorder

    def trace_text(self) -> str:
        return self._need().trace_text()

    # --- internals -----------------------------------------------------------------------
    def _need(self) -> ExotelVoiceClient:
        if self.client is None:
            raise AdapterError("hello() first: no client instance is running")
        return self.client

    def _shutdown(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
            self.delegate = None

    def _settle(self) -> None:
        client = self._need()
        if not client.settle(self._settle_timeout):
            raise AdapterError(f"the reference client did not settle within "
                               f"{self._settle_timeout} s")
        errors = client._dispatcher.take_errors()
        if errors:
            e = errors[0]
            raise AdapterError(f"the reference client failed on its own thread: "
                               f"{type(e).__name__}: {e}") from e

    def _observe(self, line: dict[str, Any], thread: str) -> None:
        kind = line["kind"]
        if kind in ("meta", "env", "state"):
            return
        if kind == "api":
            if getattr(self._driver, "active", False):
                return  # the driver's own call (on its thread): it writes that line itself
            line = {**line, "origin": "app"}
        self._events.put(line)
        if self._on_event is not None:
            self._on_event(line)

    def _find_call(self, client: ExotelVoiceClient, call: str | None) -> Any:
        if call is not None:
            return client.getCallController().getCallFromCallId(call) or _Missing(call)
        return client.latest_call

    def _make_push(self, args: dict[str, Any]) -> dict[str, Any]:
        client = self._need()
        subscriber = args.get("subscriberName") or client._subscriber or DEFAULT_SUBSCRIBER
        push = self.simnet.issue_push(subscriber, args.get("callerId", "+918047112327"),
                                        ttl=args.get("ttl"))
        self._last_push = push
        return push

    def _api(self, client: ExotelVoiceClient, name: str, call: str | None,
             args: dict[str, Any]) -> ApiResult:
        if name == Api.initialize.value:
            sub = args.get("subscriberName", DEFAULT_SUBSCRIBER)
            token = args.get("subscriberToken")
            if token is None and isinstance(sub, str):
                token = self.simnet.issue_token(sub, ttl=args.get("tokenTtl"))
            client.initialize(None, args.get("hostname", "sip.exotel.example"), sub,
                              args.get("displayName", sub if isinstance(sub, str) else ""),
                              args.get("accountSid", "exotel"), token)
            return ApiResult()
        if name == Api.dial.value:
            c = client.getCallController().dial(args.get("remoteId"), args.get("message"))
            return ApiResult("ok", c.id)
        if name == Api.relaySessionData.value:
            data = args if "payload" in args else self._make_push(args)
            value = client.relaySessionData(data)
            latest = client.latest_call
            return ApiResult("ok", latest.id if latest and latest.final_state is None
                             and latest.direction.value == "INCOMING" else None, value)
        if name in (Api.reset.value, Api.stop.value):
            getattr(client, name)()
            return ApiResult()
        if name == Api.uploadLogs.value:
            client.uploadLogs(_date(args.get("startDate"), datetime.min),
                              _date(args.get("endDate"), datetime.max),
                              args.get("description", ""))
            return ApiResult()
        if name in QUERIES:
            return self._query(client, name, call)
        if name not in Api.names():
            raise AdapterError(f"unknown operation {name!r}")
        target = self._find_call(client, call)
        if isinstance(target, _Missing):
            return ApiResult(ErrorType.INVALID_PARAMETER.value, call)
        params: dict[str, Any] = {}
        if name == Api.sendDtmf.value:
            params = {"digit": args.get("digit")}
        elif name == Api.postFeedback.value:
            params = {"rating": args.get("rating"), "issue": args.get("issue")}
        if target is None:  # no call at all: the SDK still answers (it refuses)
            client._call_api(name, None, params)
            return ApiResult("ok", None)
        getattr(target, name)(*params.values())
        return ApiResult("ok", target.id)

    def _query(self, client: ExotelVoiceClient, name: str, call: str | None) -> ApiResult:
        if name == "isInitialized":
            return ApiResult("ok", None, client.isInitialized())
        target = self._find_call(client, call)
        if target is None or isinstance(target, _Missing):
            return ApiResult(ErrorType.INVALID_PARAMETER.value, call)
        value: Any = getattr(target, name)()
        if hasattr(value, "as_json"):
            value = value.as_json()
        elif hasattr(value, "value"):
            value = value.value
        return ApiResult("ok", target.id, value)

    def _control(self, client: ExotelVoiceClient, name: str, args: dict[str, Any]) -> None:
        p = self.simnet
        if name == "init_fails":
            p.fail_next_init = True
        elif name == "media_manual":
            p.auto_answer_media = not bool(args.get("on", True))
        elif name == "upload_fails":
            p.fail_uploads = bool(args.get("on", True))
        elif name == "session_ended":
            session = args.get("sessionId")
            if session is None and self._last_push is not None:
                from ..wire.tokens import decode

                session = decode(self._last_push["payload"]).claims.get("sessionId")
            if session is not None:
                p.end_session(session)
        else:
            (p.invalidate_tokens if name == "token_invalid" else p.expire_tokens)()
            # token_expired_silently: the platform stops accepting the token without telling
            # the client; its next call attempt finds out (LC-AUTH-CALL)
            if client.isInitialized() and name != "token_expired_silently":
                rejected = p.token_still_valid(client._token, client._subscriber)
                if rejected is not None:
                    cause, err = rejected
                    client._net_later(cause, extra={"onAuthenticationFailure": err})


class _Missing:
    def __init__(self, call: str) -> None:
        self.id = call


def _date(value: Any, default: datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, timezone.utc)
    return default
