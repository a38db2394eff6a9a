"""The reference client over real SIP/RTP: its calls are pjsua2 calls (exovoice.reference.sip).

    net = SipNet("sip:peer@127.0.0.1:5070")          # or a callable remoteId -> SIP URI
    client = SipVoiceClient(net, trace="trace.jsonl")  # an ExotelVoiceClient
    client.initialize(..., subscriberToken=client.platform.issue_token("alice"))
    call = client.getCallController().dial("+9180...", "hello")
    ...
    client.close()                                     # also stops the SIP endpoint

What is real and what is still simulated:

* dial() sends an INVITE to ``net.target`` (or ``target(remoteId)``) with the headers
  ``X-Exotel-Access-Token`` (the subscriberToken given to initialize), ``X-Exotel-Remote-Id``,
  ``X-Exotel-Session`` and, when given, ``X-Exotel-Message`` (the dial message,
  percent-encoded: a header value cannot carry every string). Every invite-state change of
  that call is mapped by ``exovoice.reference.sip.mapping.network_event`` and given to the SpecCore as
  that Network happening, on the client's dispatcher thread, so the app gets exactly the
  callbacks the spec says (CALLING -> net_call_sent -> onCallInitiated, 180 -> onCallRinging,
  200/CONFIRMED -> onCallEstablished, 486 -> onCallEnded BUSY, 503 -> onCallFailed
  CONGESTION_ERROR, BYE from the far end -> onCallEnded REMOTE_HANGUP...).
* hangup() sends BYE (CANCEL before an answer); its DISCONNECTED gives net_bye_done
  (onCallEnded LOCAL_HANGUP). reset() and close() hang the SIP call up too.
* getStatistics() reads the live RTP stream statistics (after the call: the last snapshot).
* While the call is CONFIRMED a watcher thread samples the received-packet counter through
  ``RtpWatch``: a stall gives net_rtp_lost (onMediaDisrupted), packets again net_rtp_restored
  (onCallEstablished), a long stall net_media_timeout (onCallEnded MEDIA_TIMEOUT, and the SDK
  then sends BYE itself).
* Incoming calls (with ``sessions_url``, the platform account's API URL): after
  relaySessionData(push) SipNet takes the push's session from the platform (``POST
  <sessions_url>/sessions/<sessionId>/take``, bearer access token, this endpoint's contact).
  202: the call is announced (net_push_valid, onIncomingCall) and the platform INVITEs us
  with ``X-Exotel-Session``; any refusal: the push was stale (net_push_stale, onMissedCall),
  and a refused token is also onAuthenticationFailure. The INVITE is bound to the call and
  rung (180); answer() answers it 200 (CONFIRMED: net_answered, onCallEstablished),
  hangup() declines it (603) or BYEs it; the caller's CANCEL or BYE is net_remote_hangup.
  An answer or hangup before the INVITE arrived is applied when it does. An INVITE for no
  session we took is refused with 480. Without ``sessions_url`` incoming calls are
  simulated.
* A 403 to our INVITE whose X-Exotel-Reason header (or, failing that, reason phrase) names
  AUTHENTICATION_INVALID_TOKEN or AUTHENTICATION_EXPIRED_TOKEN (exovoice.reference.platform.sip) ends the call (onCallEnded FAILURE) and
  gives net_token_rejected with that error (onAuthenticationFailure).
* Still simulated by ``exovoice.reference.net.simplatform.Platform``: registration (initialize, checked with the
  platform's token-signing secret), log upload.

The seam (exovoice.reference.net.seam): SipNet is the client's CallNetwork. The client asks the spec,
then tells SipNet to place/end/release a call or measure it, and SipNet posts what SIP
reports through the NetworkLink. Calls that are not SIP calls (incoming ones without a
``sessions_url``) go to a simulated SimNet. ``exovoice.reference.sdk.sip_client.SipVoiceClient(target)`` is
``ExotelVoiceClient(network=SipNet(target))`` keeping the SipNet as ``.sipnet``.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any, Callable
from urllib.parse import quote

from exovoice.spec.vocabulary import Callback, ErrorType, Network

from ..sip.endpoint import SipEndpoint, SipError, SipEvent
from ..sip.stats import CallStatistics as SipStats
from ..sip.stats import RtpWatch
from ..wire.http import request
from .seam import CallNetwork, CallStatistics, NetCall, NetworkLink
from .simnet import SimNet

TOKEN_HEADER = "X-Exotel-Access-Token"
MESSAGE_HEADER = "X-Exotel-Message"
REMOTE_HEADER = "X-Exotel-Remote-Id"
SESSION_HEADER = "X-Exotel-Session"
AUTH_ERRORS = (ErrorType.AUTHENTICATION_INVALID_TOKEN.value,
               ErrorType.AUTHENTICATION_EXPIRED_TOKEN.value)
# What SIP may tell the app about a call it received: the rest (ringing, connecting) is the
# caller's side of the INVITE, not a happening of the callee's call.
INCOMING_NET = frozenset({Network.net_answered.value, Network.net_remote_hangup.value,
                          Network.net_bye_done.value, Network.net_failure.value,
                          Network.net_no_answer.value})


class _Endpoint(SipEndpoint):
    """A SipEndpoint that hands every event to `listener` (on the pump thread) instead of
    queueing it: nobody drains the queue here."""

    listener: Callable[[SipEvent], None] | None = None

    def emit(self, kind: str, call: str | None = None, **data: Any) -> None:
        ev = SipEvent(kind, call, data)
        handle = self.handles.get(call) if call else None
        if handle is not None:
            handle._record(ev)
        if kind == "stopped":
            self.events.put(ev)
        listener = self.listener
        if listener is not None:
            listener(ev)


class _Leg:
    """The SIP side of one call (outgoing, or incoming from a relayed push)."""

    def __init__(self, call: NetCall, *, incoming: bool = False) -> None:
        self.call = call
        self.incoming = incoming
        self.answer_pending = False  # answer() before the platform's INVITE arrived
        self.invited = threading.Event()  # the platform's INVITE for this incoming call came
        self.sip: Any = None  # exovoice.reference.sip.call.SipCall once the INVITE was placed
        self.confirmed = False
        self.over = False  # DISCONNECTED
        self.detached = False  # SIP happenings no longer reach the app
        self.hangup_pending = False
        self.lock = threading.Lock()

    def attach(self, sip: Any) -> None:
        with self.lock:
            self.sip = sip
            pending = self.hangup_pending
        if pending:
            self.hangup()

    def hangup(self) -> bool:
        """BYE/CANCEL; False when the SIP call was already over (nothing will follow)."""
        with self.lock:
            sip = self.sip
            if sip is None:
                self.hangup_pending = True
                return True
        try:
            sip.hangup()
            return True
        except SipError:
            return False


class SipNet:
    """The client's network over SIP (exovoice.reference.net.seam.CallNetwork): a pjsua2 endpoint on
    `host`:`port` (0: ephemeral) placing calls to `target`, plus the RTP watcher. Calls it did
    not place (incoming ones) go to `fallback` (default: a SimNet of the client's platform)."""

    def __init__(self, target: str | Callable[[str], str], *, host: str = "127.0.0.1",
                 port: int = 0, user: str = "exovoice", rtp_lost_after: float = 0.5,
                 media_timeout: float = 10.0, poll: float = 0.1, log_level: int = 0,
                 fallback: CallNetwork | None = None, sessions_url: str | None = None,
                 http_timeout: float = 5.0, invite_timeout: float = 10.0) -> None:
        self.target = target
        self.sessions_url = sessions_url.rstrip("/") if sessions_url else None
        self.http_timeout = http_timeout
        self.invite_timeout = invite_timeout  # after a take, for the platform's INVITE
        self.rtp_lost_after = rtp_lost_after
        self.media_timeout = media_timeout
        self.poll = poll
        self.endpoint = _Endpoint(host=host, port=port, user=user, log_level=log_level)
        self.fallback = fallback
        self._link: NetworkLink | None = None
        self._lock = threading.RLock()
        self._legs: dict[NetCall, _Leg] = {}
        self._by_handle: dict[str, _Leg] = {}
        self._placing: _Leg | None = None
        self._orphans: dict[str, list[SipEvent]] = {}  # events seen before place() bound them
        self._awaiting: dict[str, _Leg] = {}  # session id -> incoming leg taken, no INVITE yet
        self._takers: list[threading.Thread] = []
        self._closing = False
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    # --- life cycle ----------------------------------------------------------------------
    def attach(self, link: NetworkLink) -> None:
        if self._link is not None:
            raise RuntimeError("a SipNet serves one client")
        self._link = link
        if self.fallback is None:
            self.fallback = SimNet(link.platform)
        self.fallback.attach(link)
        self.endpoint.listener = self._on_event
        if not self.endpoint.running:
            self.endpoint.start()
        self._watcher = threading.Thread(target=self._watch, name="sipnet-rtp-watch",
                                         daemon=True)
        self._watcher.start()

    @property
    def uri(self) -> str:
        return self.endpoint.uri

    def close(self) -> None:
        """Let the client settle, stop watching, hang up (the happenings of that go nowhere),
        stop the endpoint."""
        if self._link is not None:
            self._link.settle()
        self._closing = True
        self._stop.set()
        for t in self._takers:
            t.join(self.http_timeout + 1)
        self._takers = []
        if self._watcher is not None:
            self._watcher.join(5)
            self._watcher = None
        try:
            self.endpoint.stop()
            self.endpoint.listener = None
        finally:
            if self.fallback is not None:
                self.fallback.close()

    def uri_for(self, remote_id: str) -> str:
        return self.target(remote_id) if callable(self.target) else self.target

    # --- the client's calls --------------------------------------------------------------
    def place(self, call: NetCall, remote_id: str, message: str | None, token: Any) -> None:
        leg = _Leg(call)
        with self._lock:
            self._legs[call] = leg
        headers = {TOKEN_HEADER: "" if token is None else str(token),
                   REMOTE_HEADER: quote(remote_id, safe="+@._-"),
                   SESSION_HEADER: call.session_id or ""}
        if message is not None:
            headers[MESSAGE_HEADER] = quote(message, safe=" +@._-,;:/?=")
        with self._lock:
            self._placing = leg  # CALLING is emitted inside makeCall, before it returns
        try:
            sip = self.endpoint.make_call(self.uri_for(remote_id), headers)
        except SipError:
            self._post(leg, Network.net_failure.value)
            sip = None
        finally:
            with self._lock:
                self._placing = None
        if sip is not None:
            with self._lock:
                self._by_handle[sip.handle] = leg
                for ev in self._orphans.pop(sip.handle, []):  # in order, before newer ones
                    self._on_event(ev)
            leg.attach(sip)

    def receive(self, call: NetCall, token: Any, extra: dict[str, dict[str, Any]]) -> None:
        if self.sessions_url is None or not call.session_id:
            self._sim().receive(call, token, extra)
            return
        leg = _Leg(call, incoming=True)
        with self._lock:
            self._legs[call] = leg
            self._awaiting[call.session_id] = leg
        taker = threading.Thread(target=self._take, args=(leg, call.session_id, token, extra),
                                 name="sipnet-take", daemon=True)
        self._takers = [t for t in self._takers if t.is_alive()] + [taker]
        taker.start()

    def _take(self, leg: _Leg, session: str, token: Any,
              extra: dict[str, dict[str, Any]]) -> None:
        """Off the client's threads: take the session. 202: the call is there
        (net_push_valid; the platform's INVITE follows). Anything else: the caller is gone,
        or we may not take it: the push was stale (net_push_stale, a missed call), and a
        refused token is also onAuthenticationFailure."""
        url = f"{self.sessions_url}/sessions/{quote(session, safe='')}/take"
        got = request("POST", url, body={"contact": self.uri}, timeout=self.http_timeout,
                      headers={"Authorization": f"Bearer {'' if token is None else token}"})
        link = self._link
        if link is None or self._closing:
            return
        if got.status == 202:
            self._post(leg, Network.net_push_valid.value, extra=extra)
            deadline = time.monotonic() + self.invite_timeout
            while not leg.invited.wait(0.1):
                if self._stop.is_set() or leg.detached:
                    return
                if time.monotonic() > deadline:  # the platform lost the call: it is over
                    with self._lock:
                        self._awaiting.pop(session, None)
                    self._post(leg, Network.net_remote_hangup.value, detaching=True)
                    leg.over = leg.detached = True
                    return
            return
        with self._lock:
            self._awaiting.pop(session, None)
        message = ""
        try:
            message = str((got.json() or {}).get("message", ""))
        except (ValueError, AttributeError):
            pass
        leg.over = leg.detached = True
        try:
            link.post(Network.net_push_stale.value, extra=extra)
        except RuntimeError:
            return
        error = next((e for e in AUTH_ERRORS if e in message), None)
        if got.status == 401 and error is not None:
            self._post_auth_failure(error)

    def _post_auth_failure(self, error: str) -> None:
        link = self._link
        if link is None or self._closing:
            return
        try:
            link.post(Network.net_token_rejected.value,
                      extra={Callback.onAuthenticationFailure.value: {"error": error}})
        except RuntimeError:
            pass

    def answer(self, call: NetCall) -> None:
        leg = self._leg(call)
        if leg is None:
            self._sim().answer(call)
            return
        with leg.lock:
            sip = leg.sip
            if sip is None:
                leg.answer_pending = True
                return
        try:
            sip.answer(200)
        except SipError:
            pass  # the caller went away meanwhile: its DISCONNECTED follows

    def end(self, call: NetCall) -> None:
        leg = self._leg(call)
        if leg is None:
            self._sim().end(call)
        elif leg.incoming and leg.sip is None:
            # Declined before the platform's INVITE came: it will be refused on arrival.
            leg.detached = True
            if self._link is not None:
                self._link.post(Network.net_bye_done.value)
        elif not leg.hangup() and self._link is not None:
            # The far end's BYE won the race: its happening found us ENDING and went nowhere.
            self._link.post(Network.net_bye_done.value)

    def release(self, call: NetCall) -> None:
        leg = self._leg(call)
        if leg is None:
            self._sim().release(call)
        elif not leg.detached:
            leg.detached = True  # reset() already ends the call for the app
            leg.hangup()

    def statistics(self, call: NetCall) -> CallStatistics:
        leg = self._leg(call)
        if leg is None:
            return self._sim().statistics(call)
        st = None
        if leg.sip is not None:
            try:
                st = leg.sip.stats()
            except SipError:
                st = None
        return guide_statistics(st)

    def _leg(self, call: NetCall) -> _Leg | None:
        with self._lock:
            return self._legs.get(call)

    def _sim(self) -> CallNetwork:
        if self.fallback is None:
            raise RuntimeError("the SipNet serves no client")
        return self.fallback

    # --- SIP happenings ------------------------------------------------------------------
    def _on_event(self, ev: SipEvent) -> None:
        """On the pump thread: a SIP happening of one of our calls becomes a Network one."""
        if ev.kind == "incoming":
            self._on_invite(ev)
            return
        if ev.call is None:
            return
        with self._lock:
            leg = self._by_handle.get(ev.call)
            if leg is None and self._placing is not None:
                leg = self._by_handle[ev.call] = self._placing
            if leg is None:
                self._orphans.setdefault(ev.call, []).append(ev)
                return
        if ev.kind == "state" and ev.get("state") == "CONFIRMED":
            leg.confirmed = True
        if ev.kind == "state" and ev.get("state") == "DISCONNECTED":
            leg.over = True
        net = ev.get("net")
        if net and (not leg.incoming or net in INCOMING_NET):
            self._post(leg, net)
        # the platform names a refused token in X-Exotel-Reason (the reason phrase is free text)
        named = ev.get("exotel_reason") or ev.get("reason")
        if (net == Network.net_failure.value and not leg.incoming and ev.get("code") == 403
                and named in AUTH_ERRORS):
            self._post_auth_failure(named)

    def _on_invite(self, ev: SipEvent) -> None:
        """The platform's INVITE for a session we took (else 480)."""
        headers: dict[str, str] = ev.get("headers") or {}
        sip = self.endpoint.handles.get(ev.call or "")
        if sip is None:
            return
        with self._lock:
            leg = self._awaiting.pop(headers.get(SESSION_HEADER, ""), None)
            if leg is not None and not leg.detached and self._link is not None:
                self._by_handle[sip.handle] = leg
            else:
                leg = None
        try:
            if leg is None:
                sip.answer(480)
                return
            with leg.lock:
                leg.sip = sip
                answer = leg.answer_pending
            leg.invited.set()
            sip.ring()
            if answer:
                sip.answer(200)
        except SipError:
            pass  # the platform cancelled meanwhile: DISCONNECTED follows

    def _post(self, leg: _Leg, cause: str, *, detaching: bool = False,
              extra: dict[str, dict[str, Any]] | None = None) -> None:
        """`cause` reaches the client if `leg`'s call still matters when it is handled; a
        `detaching` cause (the last the app hears of the leg, which is detached right after
        posting it) only needs the call to be the current one."""
        link = self._link
        if link is None or self._closing:
            return
        try:
            link.post(cause, leg.call, still=None if detaching else (lambda: not leg.detached),
                      extra=extra)
        except RuntimeError:  # the client is closed
            pass

    # --- RTP watch -----------------------------------------------------------------------
    def _watch(self) -> None:
        current: _Leg | None = None
        watch = RtpWatch()
        started = False
        while not self._stop.wait(self.poll):
            link = self._link
            call = link.current_call() if link is not None else None
            leg = self._leg(call) if call is not None else None
            if leg is None or leg.sip is None or leg.detached or not leg.confirmed or leg.over:
                continue
            if leg is not current:
                current, started = leg, False
                watch = RtpWatch(lost_after=self.rtp_lost_after, timeout_after=self.media_timeout)
            try:
                st = leg.sip.stats()
            except SipError:
                continue
            if st is None:
                continue
            if not started and st.rx_packets == 0:
                continue  # the far end has not started sending yet: that is no loss
            started = True
            for cause in watch.sample(time.monotonic(), st.rx_packets):
                timeout = cause == Network.net_media_timeout.value
                self._post(leg, cause, detaching=timeout)
                if timeout:
                    leg.detached = True  # the call ended for the app: the BYE is ours
                    try:
                        leg.sip.hangup()
                    except SipError:
                        pass


def guide_statistics(st: SipStats | None) -> CallStatistics:
    """Guide 4.5's CallStatistics from a pjsua2 stream snapshot (zeros without media).
    maxJitterMs is the mean too (the snapshot keeps no maximum); remoteFractionLost and
    jitterBufferMs are not measured (0); mos is the ITU-T G.107 E-model's estimate from RTT
    and loss for G.711."""
    if st is None:
        return CallStatistics("", 0, 0.0, 0.0, 0.0, 0.0, 0, 0.0, 0.0, 0, 0, 0, 0, 0.0)
    expected = st.rx_packets + st.rx_lost
    fraction = st.rx_lost / expected if expected else 0.0
    bitrate = int(st.tx_bytes * 8 / st.duration_s) if st.duration_s > 0 else 0
    mos = e_model_mos(st.rtt_ms / 2 + st.rx_jitter_ms, fraction) if st.rx_packets else 0.0
    return CallStatistics(st.codec, bitrate, st.rx_jitter_ms, st.rx_jitter_ms, 0.0, st.rtt_ms,
                          st.rx_lost, round(fraction, 4), 0.0, st.tx_packets, st.rx_packets,
                          st.tx_bytes, st.rx_bytes, mos)


def e_model_mos(one_way_ms: float, loss: float) -> float:
    d = one_way_ms
    i_d = 0.024 * d + (0.11 * (d - 177.3) if d > 177.3 else 0.0)
    i_e = 95.0 * loss * 100 / (loss * 100 + 4.3)  # G.711, Bpl 4.3 (random loss)
    r = max(0.0, min(100.0, 93.2 - i_d - i_e))
    mos = 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r)
    return round(max(1.0, min(4.5, mos)) if not math.isnan(mos) else 1.0, 2)


__all__ = ["SipNet", "e_model_mos", "guide_statistics"]
