"""ReferenceSipAdapter: the reference client over real SIP/RTP as a conformance target
(`exovoice conform --client reference-sip`).

Every scenario's client is a `SipVoiceClient` on its own pjsua2 endpoint. The world around it
is real and shared by the scenarios of a run (`SipWorld`, started on first use, stopped at
exit or by `close_world()`): the platform simulator as a process (HTTP + the exophone), the
sample customer backend with its push channel (this process), and a far SIP party (a
`exovoice.reference.sip.peer` process in "silent" mode: it does only what it is told). Routing: every
call a client dials goes through the exophone to the far party; a call for the client is the
far party dialling the exophone with a token of the caller's subscriber, the platform pushing
to the client's device, and this adapter, as the app, relaying that push.

A network stimulus is made to happen, not injected:

* the far party answers 180/183/200/486/480/500/503/408, rejects (603), hangs up, or places
  the call;
* the platform's media fault control pauses, renews (re-INVITE) or resumes the RTP toward
  the client's leg, and the client's RTP watch notices (MEDIA_DISRUPTED, RENEWING_MEDIA,
  back to ESTABLISHED, or MEDIA_TIMEOUT after `MEDIA_TIMEOUT` s);
* what the real stack does by itself (net_call_sent, a push's outcome, net_answered after an
  answer(), net_bye_done) is left to it: the stimulus is a no-op and the scenario waits for
  the callback as usual.

What the real stack cannot give on demand raises `Unsupported` and the scenario is not-run:
net_connecting (pjsip's CONNECTING lasts from the 200 to the ACK), a far end's answer to a
call the far party placed itself, "no answer" of an outgoing call that never rang, and the
media_manual and session_ended controls. "Nobody answers" a call for the client is the
platform's ring timeout control (its CANCEL says cause=408). A push for another subscriber is a real push to a
device still registered for them; a push for a call already over is a real push relayed
after the far party gave up. Registration, token refresh and log upload are still the simulated
platform's (exovoice.reference.net.simplatform.Platform, sharing the account's signing key), so their
stimuli and controls act as in the `reference` target.

Workers: ``EXOVOICE_SIP_WORKERS=N exovoice conform --client reference-sip`` runs the platform
as N bridge workers behind the Kamailio front (exovoice.reference.platform.cluster): every
call enters through the front, a pushed call's take is forwarded to the worker holding it.
Unset or 1: one platform process, no front. N > 1 where Kamailio is not installed, or a
value that is not a whole number >= 1, makes the target unusable (conform exits 2 saying so).
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import queue
import secrets
import threading
import time
from typing import Any, ClassVar

from exovoice.spec.conform.adapter import (
    AdapterError,
    ApiResult,
    Capability,
    Unavailable,
    Unsupported,
)
from exovoice.spec.vocabulary import Api, Network

from ..backend import CustomerBackend, PushChannel
from ..backend.pushchannel import relay_data
from ..backend.server import RoutingTable
from ..net.simplatform import Platform
from ..net.sipnet import MESSAGE_HEADER, TOKEN_HEADER, SipNet
from ..platform.client import SubscriberApi
from ..platform.cluster import Cluster, unavailable
from ..platform.server import account_key
from ..procs.child import Child, ChildError
from ..sdk.client import ExotelVoiceClient
from ..sdk.sip_client import SipVoiceClient
from ..sip.pj import missing
from ..wire.tokens import decode, sign
from .adapter import ReferenceAdapter

SID, KEY, TOKEN = "exovoice1", "conform-key", "conform-token"
EXOPHONE = "sip:08040408080"
FAR = "far"  # the far party's subscriber name at the backend
ROUTE_PREFIX = "exovoice-route:"  # a CustomField that routes a call to a subscriber
RTP_LOST_AFTER = 0.4  # s without RTP before onMediaDisrupted
MEDIA_TIMEOUT = 2.5  # s without RTP before onCallEnded(MEDIA_TIMEOUT)
WAIT = 10.0  # bound for the far party to see a call (generous: CI machines are slow)
PUSH_WAIT = 10.0  # bound for a push to reach the device
WORKERS_ENV = "EXOVOICE_SIP_WORKERS"  # the platform's bridge workers (behind the front if > 1)


def workers_wanted() -> int:
    """The number of bridge workers asked for in the environment (default 1); raises
    Unavailable, one line, for a value that cannot be run here."""
    text = os.environ.get(WORKERS_ENV, "").strip() or "1"
    try:
        n = int(text)
    except ValueError:
        raise Unavailable(f"{WORKERS_ENV}={text!r} is not a whole number of workers") from None
    why = unavailable(n)
    if why is not None:
        raise Unavailable(f"{WORKERS_ENV}={n}: {why}")
    return n

# What SIP's far end answers for each happening of an outgoing call.
FAR_ANSWER: dict[str, int] = {
    Network.net_ringing.value: 180,
    Network.net_early_media.value: 183,
    Network.net_answered.value: 200,
    Network.net_busy.value: 486,
    Network.net_unreachable.value: 480,
    Network.net_failure.value: 500,
    Network.net_congestion.value: 503,
    Network.net_no_answer.value: 408,
    Network.net_remote_hangup.value: 603,  # before an answer: the callee rejects the call
}
# The real stack does these by itself: the stimulus only lets the scenario wait for them.
AUTOMATIC = frozenset({Network.net_call_sent.value, Network.net_push_valid.value,
                       Network.net_push_stale.value, Network.net_bye_done.value,
                       Network.net_initialized.value})
MEDIA = {Network.net_rtp_lost.value: "pause", Network.net_rtp_renewing.value: "renew",
         Network.net_rtp_restored.value: "resume"}
MEDIA_CALLBACK = {Network.net_rtp_lost.value: ("onMediaDisrupted",),
                  Network.net_rtp_renewing.value: ("onRenewingMedia",),
                  Network.net_rtp_restored.value: ("onCallEstablished",)}
# The callback a far end's answer leads to (the rest end the call).
FAR_CALLBACK = {180: ("onCallRinging",), 200: ("onCallEstablished",)}


class _Routing(RoutingTable):
    """Dial Whom for the conformance world: a CustomField `exovoice-route:<name>` goes to that
    subscriber, every other call to the far party."""

    def resolve(self, call_from: str, custom_field: str | None) -> list[str] | None:
        if custom_field is not None and custom_field.startswith(ROUTE_PREFIX):
            return [f"sip:{custom_field[len(ROUTE_PREFIX):]}"]
        return [f"sip:{FAR}"]


class SipWorld:
    """The platform process, the customer backend and the far party, for a whole run."""

    def __init__(self, workers: int = 1) -> None:
        self.secret = secrets.token_bytes(32)
        self.key = account_key(self.secret, SID)  # what the account's tokens are signed with
        self.channel = PushChannel()
        self._far_device = self.channel.register(FAR, "far-device")
        self.backend = CustomerBackend(_Routing(), self.channel).start()
        self.platform: Child | Cluster | None = None
        self.cluster: Cluster | None = None
        self.peer: Child | None = None
        self._calls_cond = threading.Condition()
        self._far_calls: list[str] = []  # the far party's calls, in order of arrival
        config = {
            "account": {"sid": SID, "api_key": KEY, "api_token": TOKEN,
                        "sip_exophone": EXOPHONE, "dial_whom_url": self.backend.dial_whom_url,
                        "push_url": self.backend.push_url},
            "secret_hex": self.secret.hex(), "subscribers": [FAR],
            "rate_limit": {"calls": 1_000_000, "window": 1}, "max_lifetime": 86400,
            # a push during a call needs two bridged calls on one process (all 4 slots);
            # scenarios come one at a time, never a burst
            "spare_slots": 0}
        try:
            if workers > 1:
                self.platform = self.cluster = Cluster(config, workers)
            else:
                self.platform = Child("exovoice.reference.platform.sipserver", "--config", "-",
                                      name="platform", stdin_first=config)
            self.peer = Child("exovoice.reference.sip.peer", "--mode", "silent", "--user", FAR,
                              "--max-lifetime", "86400", name="far party",
                              on_event=self._peer_event)
            self.platform.send("route", remote_id=FAR, uri=self.peer.ready["uri"])
        except BaseException:
            self.close()
            raise
        ready = self.platform.ready
        self.api_url: str = ready["api_url"]
        self.exophone_uri = f"{EXOPHONE}@127.0.0.1:{ready['sip_port']}"
        self.api = SubscriberApi(self.api_url, KEY, TOKEN)
        self._provisioned: set[str] = {FAR}
        self._lock = threading.Lock()

    def _peer_event(self, ev: dict[str, Any]) -> None:
        if ev.get("event") == "incoming" and ev.get("call"):
            with self._calls_cond:
                self._far_calls.append(ev["call"])
                self._calls_cond.notify_all()

    def far_calls(self) -> int:
        with self._calls_cond:
            return len(self._far_calls)

    def far_call_after(self, mark: int, timeout: float = WAIT) -> str:
        """The far party's first call that arrived after `mark` calls."""
        with self._calls_cond:
            if not self._calls_cond.wait_for(lambda: len(self._far_calls) > mark, timeout):
                raise AdapterError(f"the call did not reach the far party within "
                                   f"{timeout:g} s (platform or SIP trouble)")
            return self._far_calls[mark]

    def token(self, subscriber: str, device_id: str) -> str | None:
        """An access token the platform issues over HTTP (the subscriber provisioned first);
        None when the platform will not (a name it refuses)."""
        with self._lock:
            self._far_device.pending()  # pushes to the far party go nowhere
            if subscriber not in self._provisioned and self.cluster is not None:
                try:  # every worker holds the record (one database, in a real platform)
                    self.cluster.provision(subscriber)
                except ChildError:
                    return None
                self._provisioned.add(subscriber)
            if subscriber not in self._provisioned:
                resp = self.api.create([{"subscriber_name": subscriber}])
                items = (resp.json() or {}).get("response") or [] if resp.status == 207 else []
                if not items or items[0].get("code") not in (201, 409):
                    return None
                self._provisioned.add(subscriber)
        got = self.api.token(subscriber, device_id)
        if got.status != 200:
            return None
        return str(got.json()["subscriber_token"]["access_token"])

    def close(self) -> None:
        for child in (self.peer, self.platform):
            if child is not None:
                child.close()
        self.backend.close()


_world: SipWorld | None = None
_world_lock = threading.Lock()


def world() -> SipWorld:
    global _world
    with _world_lock:
        if _world is None:
            _world = SipWorld(workers_wanted())
            atexit.register(close_world)
        return _world


def close_world() -> None:
    """Stop the shared platform, backend and far party (tests call it; atexit does too)."""
    global _world
    with _world_lock:
        w, _world = _world, None
    if w is not None:
        w.close()


_devices = itertools.count(1)


class ReferenceSipAdapter(ReferenceAdapter):
    """The `reference-sip` conformance target (see the module docstring)."""

    capabilities: ClassVar[frozenset[str]] = Capability.ALL

    def __init__(self, **kw: Any) -> None:
        problem = missing("the reference-sip client")
        if problem:
            raise Unavailable(problem)
        super().__init__(**kw)
        self.world = world()
        self.simnet = Platform(secret=self.world.key)
        self._device_id = ""
        self._subscribed: set[str] = set()  # the names this device gets pushes for
        self._far_mark = 0
        self._far_call: str | None = None  # the far party's leg of the current call
        self._outgoing = False
        self._paused = False

    # --- hello and the client ------------------------------------------------------------
    def _new_client(self, callkit: bool) -> ExotelVoiceClient:
        self._unsubscribe()
        self._device_id = f"conform-{next(_devices)}"
        self._far_call, self._paused = None, False
        net = SipNet(self.world.exophone_uri, sessions_url=self.world.api_url,
                     rtp_lost_after=RTP_LOST_AFTER, media_timeout=MEDIA_TIMEOUT, poll=0.05)
        return SipVoiceClient(net, callkit=callkit, platform=self.simnet, trace=self._trace,
                              settle_timeout=self._settle_timeout)

    def _unsubscribe(self) -> None:
        for sub in self._subscribed:
            self.world.channel.unregister(sub, self._device_id)
        self._subscribed = set()

    def close(self) -> None:
        super().close()
        self._unsubscribe()
        if self._far_call is not None and not self._outgoing:
            self._far_hangup_quietly()  # a call the client never took still rings

    def _far_hangup_quietly(self) -> None:
        peer = self.world.peer
        if peer is not None and self._far_call is not None:
            try:
                peer.send("hangup", call=self._far_call)
            except ChildError:
                pass  # already over
        self._far_call = None

    # --- operations ----------------------------------------------------------------------
    def _api(self, client: ExotelVoiceClient, name: str, call: str | None,
             args: dict[str, Any]) -> ApiResult:
        if name == Api.initialize.value and args.get("subscriberToken") is None:
            sub = args.get("subscriberName", "alice")
            token = self.world.token(sub, self._device_id) if isinstance(sub, str) else None
            if token is not None:
                ttl = args.get("tokenTtl")
                if ttl is not None:  # the platform's own token, with a shorter life
                    claims = dict(decode(token, self.world.key).claims,
                                  exp=time.time() + float(ttl))
                    token = sign(claims, self.world.key)
                self.world.channel.register(sub, self._device_id)
                self._subscribed.add(sub)
                args = {**args, "subscriberToken": token}
        if name == Api.dial.value:
            self._far_mark, self._far_call, self._outgoing = self.world.far_calls(), None, True
        if name == Api.relaySessionData.value and "payload" not in args:
            return self._real_push(client, args)
        return super()._api(client, name, call, args)

    def _real_push(self, client: ExotelVoiceClient, args: dict[str, Any]) -> ApiResult:
        """A push from a real call: the far party dials the exophone as `callerId`, the
        platform pushes to the subscriber's devices (this one among them: a device may stay
        registered for a subscriber who is not, or no longer, signed in on it), and the app
        relays what arrives (whoever it is for: the scenario judges the SDK, not the app).
        ttl 0: the far party gives up first, so the push relayed is for a call already over."""
        sub = args.get("subscriberName")
        if not isinstance(sub, str) or not sub:
            raise Unsupported("a push needs a subscriber to route the call to")
        caller = str(args.get("callerId") or "bob")
        token = self.world.token(caller, f"{caller}-far")
        if token is None:
            raise Unsupported(f"the platform has no subscriber {caller!r} to call from")
        if self.world.token(sub, f"{sub}-provisioned") is None:
            raise Unsupported(f"the platform cannot provision the subscriber {sub!r}")
        device = self.world.channel.register(sub, self._device_id)
        self._subscribed.add(sub)
        device.pending()
        peer, platform = self.world.peer, self.world.platform
        assert peer is not None and platform is not None
        try:
            far = peer.send("call", uri=self.world.exophone_uri,
                            headers={TOKEN_HEADER: token,
                                     MESSAGE_HEADER: f"{ROUTE_PREFIX}{sub}"})["call"]
        except ChildError as e:
            raise AdapterError(f"the far party could not call: {e}") from e
        self._far_call, self._outgoing, self._paused = far, False, False
        try:
            push = device.receive(timeout=PUSH_WAIT)
        except queue.Empty:
            self._far_hangup_quietly()
            seen = platform.recent(lambda e: e.get("event") in ("invite", "routed", "refused",
                                                                "error", "warning"), 4)
            raise AdapterError(f"no push for {sub} reached the device within {PUSH_WAIT:g} s "
                               f"of the far party's call; the platform's last events: "
                               f"{json.dumps(seen)[:600]}") from None
        if args.get("ttl") == 0:
            session = decode(push["payload"]).claims.get("sessionId")
            self._far_hangup_quietly()
            try:  # the platform has closed the session: the push is now stale
                platform.expect(lambda e: e.get("event") == "call-ended" and
                                (e.get("cdr") or {}).get("callee") == sub, PUSH_WAIT)
            except ChildError as e:
                raise AdapterError(f"the platform never ended session {session}: {e}") from e
        self._last_push = push
        try:
            value = client.relaySessionData(relay_data(push))
        except Exception:
            self._far_hangup_quietly()  # refused: the far party stops ringing
            raise
        latest = client.latest_call
        return ApiResult("ok", latest.id if latest and latest.final_state is None
                         and latest.direction.value == "INCOMING" else None, value)

    # --- stimuli -------------------------------------------------------------------------
    def stimulus(self, name: str, *, call: str | None = None,
                 args: dict[str, Any] | None = None) -> None:
        if name == "token_expired_silently":
            # the real platform checks the token the SDK presents: give the SDK one that has
            # expired (signed with the platform's key), and let its next INVITE or session
            # take find out (a 403 / 401 naming AUTHENTICATION_EXPIRED_TOKEN; LC-AUTH-CALL)
            client = self._need()
            claims = dict(decode(client._token, self.world.key).claims,
                          exp=time.time() - 60.0)  # the platform's own token, expired
            client._token = sign(claims, self.world.key)
            return
        if name not in Network.names() or not self._is_call_happening(name):
            if name in ("media_manual", "session_ended"):
                raise Unsupported(f"{name}: the real platform and network have no such control")
            super().stimulus(name, call=call, args=args)
            return
        self._settle()
        if name in AUTOMATIC:
            return
        mark = len(self._need().trace_lines)
        if name in MEDIA:
            self._media(MEDIA[name])
            self._wait_for(mark, MEDIA_CALLBACK[name])
        elif name == Network.net_media_timeout.value:
            if not self._paused:
                self._media("pause")  # and never resume: the client's watch gives up
            self._wait_for(mark, ("onCallEnded",), RTP_LOST_AFTER + MEDIA_TIMEOUT + 2)
        elif name == Network.net_remote_hangup.value:
            if self._outgoing and not self._far_answered():
                self._far_answer(name)  # the callee rejects the ringing call: 603 Decline
            else:
                self._far_hangup()
                self._wait_for(mark, ("onCallEnded",))
        elif name == Network.net_connecting.value:
            raise Unsupported("pjsip's CONNECTING lasts from the 200 to the ACK: it cannot be "
                              "held open for a scenario")
        elif name == Network.net_answered.value and not self._outgoing:
            return  # answer() brings the media up by itself
        elif name in FAR_ANSWER:
            self._far_answer(name)
        else:
            raise Unsupported(f"{name} has no realisation over SIP")
        self._settle()

    @staticmethod
    def _is_call_happening(name: str) -> bool:
        return name not in (Network.net_init_failed.value, Network.net_token_rejected.value,
                            Network.net_upload_done.value, Network.net_upload_failed.value)

    def _far_leg(self) -> str:
        if self._far_call is None:
            if not self._outgoing:
                raise Unsupported("there is no call with the far party")
            self._far_call = self.world.far_call_after(self._far_mark)
        return self._far_call

    def _far_answer(self, name: str) -> None:
        if not self._outgoing and name == Network.net_no_answer.value:
            self._ring_timeout()
            return
        if not self._outgoing:
            raise Unsupported(f"{name}: the far party is the caller of this call, not its callee")
        if self._far_answered():
            raise Unsupported(f"{name}: a final response cannot end an answered call; over SIP "
                              "the far end of an established call can only hang up")
        state = self._need()._core.call_state()
        if name == Network.net_no_answer.value and (state is None or state.value != "RINGING"):
            raise Unsupported("a platform ring timeout before the callee rang is an "
                              "unreachable callee, not an unanswered one")
        peer = self.world.peer
        assert peer is not None
        mark = len(self._need().trace_lines)
        try:
            peer.send("answer", call=self._far_leg(), code=FAR_ANSWER[name])
        except ChildError:
            return  # its call is over: like a happening the spec ignores, nothing follows
        if name == Network.net_early_media.value:
            self._wait_until(lambda: self._need()._core.call_state() is not None and
                             self._need()._core.call_state().value == "EARLY")
        else:
            self._wait_for(mark, FAR_CALLBACK.get(FAR_ANSWER[name], ("onCallEnded",
                                                                       "onCallFailed")))

    def _far_answered(self) -> bool:
        call = self._need().latest_call
        return call is not None and call.getCallState().value in (
            "ESTABLISHED", "MEDIA_DISRUPTED", "RENEWING_MEDIA")

    def _far_hangup(self) -> None:
        peer = self.world.peer
        assert peer is not None
        try:
            peer.send("hangup", call=self._far_leg())
        except ChildError:
            return  # its call is over already: nothing follows

    def _ring_timeout(self) -> None:
        """Nobody answers a call for the client: the platform's max_ringing_duration runs
        out now (its fault control), and its CANCEL to the client says cause=408."""
        platform = self.world.platform
        assert platform is not None
        mark = len(self._need().trace_lines)
        try:
            platform.send("ring_timeout")
        except ChildError:
            return  # no call is ringing: nothing follows
        self._wait_for(mark, ("onCallEnded", "onMissedCall"))

    def _media(self, action: str) -> None:
        platform = self.world.platform
        assert platform is not None
        try:
            platform.send("media", action=action,
                          toward="caller" if self._outgoing else "callee")
        except ChildError:
            return  # no bridged call (it is not up, or over): no media to disturb
        self._paused = action == "pause"

    def _wait_for(self, mark: int, names: tuple[str, ...], limit: float = 3.0) -> None:
        """Let the SIP consequence of a far-end or platform act reach the client: until its
        trace gains one of the callbacks `names` after line `mark` (bounded by `limit`; when
        the spec says nothing follows, the step after says so), then let it settle."""
        client = self._need()

        def arrived() -> bool:
            return any(line.get("kind") == "callback" and line.get("name") in names
                       for line in client.trace_lines[mark:])
        self._wait_until(arrived, limit)

    def _wait_until(self, cond: Any, limit: float = 3.0) -> None:
        deadline = time.monotonic() + limit
        while not cond() and time.monotonic() < deadline:
            time.sleep(0.01)
        self._settle()


__all__ = ["ReferenceSipAdapter", "SipWorld", "close_world", "world"]
