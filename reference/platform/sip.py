"""The simulated Exotel platform, SIP side (first end-to-end slice): the account's SIP exophone.

`PlatformSip(platform, callee_uris, ...)` owns this process's one pjsua2 endpoint
(`exovoice.reference.sip.SipEndpoint`, 127.0.0.1, ephemeral port, user = the exophone number) and a
controller thread. Per INVITE from a client (the caller leg):

0. admission: with `capacity` calls already on this worker (not yet ended), or too few of
   pjsua's call slots left for this call's callee leg and `spare_slots` more (legs being torn
   down still hold theirs) -> 503 "Service Unavailable" with ``X-Exotel-Reason:
   CONGESTION_ERROR`` (CDR "failed", reason "over capacity"), before any other step, so the
   callee leg never finds pjsua's call slots full and the next INVITE still finds one;
   likewise when pjlib's socket slots (reference.sip.sockets) could not hold the callee leg's.
   (pjsua2's wheel holds 4 calls, a bridged call two; pjsua itself answers a 5th INVITE 486
   statelessly, which a caller reads as BUSY: a worker alone cannot refuse what reaches it
   with every slot taken. exovoice.reference.platform.front's Kamailio admits no more calls to
   a worker than its capacity, at most its rate, so that never happens behind it.)
1. rate limit: more than `rate_calls` INVITEs admitted within `rate_window` seconds -> 503
   "Rate Limited" (the caller's SDK: onCallFailed CONGESTION_ERROR, exovoice.reference.sip.mapping).
2. the access token (header ``X-Exotel-Access-Token``) is checked with the HTTP side's
   `ExotelPlatform.verify_access_token`. Refused -> **403 Forbidden** for both causes, the
   header ``X-Exotel-Reason`` naming AUTHENTICATION_INVALID_TOKEN or
   AUTHENTICATION_EXPIRED_TOKEN (the SDK reads the header, not the phrase). (401 is not used: on an INVITE it means a digest challenge
   and needs WWW-Authenticate, which a bearer token does not fit.) The device id is the
   ``X-Exotel-Device-Id`` header when the client sends one, else the token's own
   ``device_id`` claim (the SDK's INVITE carries no device id; the signature still binds it).
3. nothing yet to the caller but pjsua's automatic 100 Trying: its 180 (onCallRinging) comes
   when the callee's device rings (step 7), so a caller is never told "ringing" for a callee
   that is busy, unreachable or never took its push.
4. Dial Whom GET (CallFrom = ``sip:<caller subscriber>``, CallTo = the account's
   sip_exophone, CustomField = the percent-decoded ``X-Exotel-Message``). Failure -> 404 to
   the caller when the endpoint answered 404 (no route), else 500.
5. the push POST for the callee (subscriberName = remote id, payload =
   `issue_push_payload(remote_id, caller, session, call_sid, ttl=max_ringing_duration)`).
   Failure -> 480 to the caller (the callee cannot be reached).
6. the callee leg. Normally the platform waits for the callee's SDK: after
   relaySessionData(push) it takes the push's session over HTTP (``POST .../sessions/<id>/
   take`` with its access token and SIP contact, see exovoice.reference.platform.server), and the
   platform INVITEs that contact (headers ``X-Exotel-Session``, ``X-Exotel-Caller``). The
   take must come from the callee subscriber's valid access token (else 401), for a session
   still waiting (else 404), once (else 409), within max_ringing_duration (else 408 to the
   caller, as for no answer). A remote id with a URI in ``callee_uris`` (configuration, e.g.
   a sipp or ``exovoice.reference.sip.peer`` responder standing in for a device) is INVITEd at once
   instead, without waiting for a take.
7. the callee's outcome goes to the caller: its 180 and 183 (each once; another 18x as 180);
   2xx -> 200 to the caller; a failure -> the code for the same happening (486/600 -> 486,
   603 -> 603, 404/480/... -> 480, 408 after ringing -> 408, 503/429 -> 503, else 500); no answer
   within max_ringing_duration -> CANCEL the callee, 408 to the caller (after a 180 the
   caller's SDK sees net_no_answer, onCallEnded TIMEOUT; when the callee never rang, e.g.
   never took its push, net_unreachable).
8. both answered: the legs' audio is bridged in pjsua2's conference bridge (each call's
   AudioMedia transmits to the other's; the null capture device is disconnected from both, so
   what the caller receives comes through the bridge); a BYE on either leg hangs up the other;
   max_conversation_duration -> BYE to both.

Every call gets a `CallDetailRecord` in `platform.cdrs` (refused ones too, status "failed").
Events go to `on_event(dict)` (the server prints them as JSON lines).

Threads: the SipEndpoint's pump thread (all pjsua2), the controller thread (the call logic,
owns every Bridge), one short-lived worker per call for the blocking HTTP steps (it posts the
result back to the controller).
"""

from __future__ import annotations

import collections
import queue
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable

from ..sip.endpoint import CALL_SLOTS, SipEndpoint, SipError, SipEvent, pj
from ..sip.sockets import SOCKETS_PER_CALL
from ..sip.mapping import ANSWER_CODE_FOR, failure_event
from ..wire.tokens import TokenError, decode
from .cdr import CallDetailRecord, new_call_sid
from .outbound import DialWhomResult
from .server import PAYLOAD_VERSION, ExotelPlatform
from .subscribers import ApiError

TOKEN_HEADER = "X-Exotel-Access-Token"
MESSAGE_HEADER = "X-Exotel-Message"
SESSION_HEADER = "X-Exotel-Session"
DEVICE_HEADER = "X-Exotel-Device-Id"
REASON_HEADER = "X-Exotel-Reason"
CALLER_HEADER = "X-Exotel-Caller"  # on the callee leg: who is calling

ANSWER_CODE_FOR_NET = {**ANSWER_CODE_FOR, "net_no_answer": 408}
# The CANCEL to a callee nobody answered says why (RFC 3326): its SDK reads net_no_answer.
NO_ANSWER_REASON = {"Reason": 'SIP;cause=408;text="max_ringing_duration"'}


@dataclass
class Bridge:
    """One platform call: the caller leg and (once placed) the callee leg."""

    call_sid: str
    caller: str  # SipCall handle of the caller leg
    subscriber: str = ""
    callee: str | None = None  # SipCall handle of the callee leg
    remote_id: str | None = None
    route: DialWhomResult | None = None
    caller_answered: bool = False
    callee_answered: bool = False
    bridged: bool = False
    over: bool = False  # the caller leg got its final answer or ended
    ring_deadline: float | None = None
    talk_deadline: float | None = None
    end_reason: str | None = None
    legs_down: set[str] = field(default_factory=set)
    session: str | None = None  # the push's sessionId, while the callee may take it
    taken_by: str | None = None  # the contact of a take that came before _pushed ran
    relayed: set[int] = field(default_factory=set)  # provisional codes sent to the caller


class PlatformSip:
    def __init__(self, platform: ExotelPlatform, callee_uris: dict[str, str] | None = None, *,
                 account_sid: str | None = None, rate_calls: int = 10,
                 rate_window: float = 60.0, capacity: int = 2, spare_slots: int = 1,
                 on_event: Callable[[dict[str, Any]], None] | None = None,
                 host: str = "127.0.0.1", port: int = 0, log_level: int = 0) -> None:
        self.platform = platform
        self.account = platform.account(account_sid)
        self.callee_uris = dict(callee_uris or {})
        self.rate_calls, self.rate_window = rate_calls, rate_window
        self.capacity, self.spare_slots = capacity, spare_slots
        self.on_event = on_event or (lambda ev: None)
        number = self.account.sip_exophone.removeprefix("sip:")
        self.endpoint = SipEndpoint(host=host, port=port, user=number, log_level=log_level)
        self._actions: "queue.Queue[Callable[[], None]]" = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._workers: list[threading.Thread] = []
        self._admitted: collections.deque[float] = collections.deque()
        self._timers: list[tuple[float, Callable[[], None]]] = []  # controller: (due, action)
        # controller-thread state:
        self._bridges: dict[str, Bridge] = {}  # call sid -> Bridge
        self._by_leg: dict[str, Bridge] = {}  # SipCall handle -> Bridge
        # sessions a callee may take: session id -> Bridge (HTTP threads read it: lock)
        self._open: dict[str, Bridge] = {}
        self._open_lock = threading.Lock()
        platform.session_taker = self.take

    # --- life cycle ----------------------------------------------------------------------
    @property
    def uri(self) -> str:
        return self.endpoint.uri

    @property
    def port(self) -> int:
        return self.endpoint.port

    def start(self) -> "PlatformSip":
        self.endpoint.start()
        self._thread = threading.Thread(target=self._control, name="platform-sip", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self.platform.session_taker == self.take:
            self.platform.session_taker = None
        self._stop.set()
        for t in self._workers:
            t.join(10)
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self.endpoint.stop()

    def __enter__(self) -> "PlatformSip":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- the controller thread -----------------------------------------------------------
    def _emit(self, event: str, **data: Any) -> None:
        try:
            # t: when it happened (time.monotonic(), one clock for every process on the
            # machine): bench/sip.py --timeline lines the hops of a call up with it
            self.on_event({"event": event, **data, "t": round(time.monotonic(), 6)})
        except Exception:  # noqa: BLE001 - a broken observer must not stop calls
            pass

    def _control(self) -> None:
        while not self._stop.is_set():
            while True:
                try:
                    action = self._actions.get_nowait()
                except queue.Empty:
                    break
                self._guard(action)
            try:
                ev = self.endpoint.events.get(timeout=self._until_due())
            except queue.Empty:
                ev = None
            if ev is not None:
                self._guard(lambda: self._on_sip(ev))
            self._guard(self._check_deadlines)

    def _until_due(self, longest: float = 0.5) -> float:
        """How long the controller may wait for an event: until the next ring, talk or
        timer deadline (posted work and SIP events wake it earlier), at most `longest`."""
        dues = [t for t, _ in self._timers]
        for b in self._bridges.values():
            dues += [d for d in (b.ring_deadline, b.talk_deadline) if d is not None]
        if not dues:
            return longest
        return min(longest, max(0.0, min(dues) - time.monotonic()))

    def _guard(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except SipError as exc:  # a leg went away under us: its DISCONNECTED follows
            self._emit("warning", error=str(exc))
        except Exception as exc:  # noqa: BLE001 - keep serving other calls
            self._emit("error", error=f"{type(exc).__name__}: {exc}")

    def _leg(self, handle: str | None):
        return self.endpoint.handles.get(handle) if handle else None

    def _now(self) -> float:
        return self.platform.clock()

    def _on_sip(self, ev: SipEvent) -> None:
        if ev.kind == "incoming":
            self._on_invite(ev)
            return
        bridge = self._by_leg.get(ev.call or "")
        if bridge is None:
            return
        if ev.kind == "media" and ev.get("active"):
            self._try_bridge(bridge)
        elif ev.kind == "state":
            if ev.call == bridge.caller:
                self._on_caller_state(bridge, ev)
            else:
                self._on_callee_state(bridge, ev)

    # --- the caller leg ------------------------------------------------------------------
    def _on_invite(self, ev: SipEvent) -> None:
        headers: dict[str, str] = ev.get("headers") or {}
        call_sid = new_call_sid()
        bridge = Bridge(call_sid, ev.call or "")
        self._bridges[call_sid] = bridge
        self._by_leg[bridge.caller] = bridge
        token = headers.get(TOKEN_HEADER, "")
        message = headers.get(MESSAGE_HEADER)
        custom = urllib.parse.unquote(message) if message is not None else None
        try:
            unverified = decode(token).claims
        except TokenError:
            unverified = {}
        device = headers.get(DEVICE_HEADER) or unverified.get("device_id")
        subscriber = str(unverified.get("sub") or "unknown")
        record = CallDetailRecord(call_sid, self.account.sid, f"sip:{subscriber}",
                                  self.account.sip_exophone, custom,
                                  session_id=headers.get(SESSION_HEADER) or None,
                                  created=self._now(),
                                  sip_call_id=headers.get("Call-ID") or headers.get("i"))
        self.platform.cdrs.add(record)
        self._emit("invite", call_sid=call_sid, leg=bridge.caller, subscriber=subscriber,
                   custom_field=custom, rx=round(ev.t, 6))
        if len(self._bridges) > self.capacity or self._slots_short():
            self._refuse(bridge, 503, "Service Unavailable", "over capacity", headers={
                REASON_HEADER: "CONGESTION_ERROR"})
            return
        now = time.monotonic()
        while self._admitted and self._admitted[0] <= now - self.rate_window:
            self._admitted.popleft()
        if len(self._admitted) >= self.rate_calls:
            self._refuse(bridge, 503, "Rate Limited", "rate limit", headers={
                REASON_HEADER: "CONGESTION_ERROR"})
            return
        self._admitted.append(now)
        ok, error = self.platform.verify_access_token(token, device)
        if not ok:
            name = error.value if error is not None else "AUTHENTICATION_INVALID_TOKEN"
            self._refuse(bridge, 403, "Forbidden", f"token refused: {name}",
                         headers={REASON_HEADER: name})
            return
        bridge.subscriber = subscriber
        worker = threading.Thread(target=self._route, args=(bridge, custom), daemon=True,
                                  name=f"platform-route-{call_sid[:6]}")
        self._workers = [t for t in self._workers if t.is_alive()] + [worker]
        worker.start()

    def _slots_short(self) -> bool:
        """Admitting this caller (its leg already holds a slot) would leave too few of
        pjsua's call slots: the callee legs owed to admitted calls, this one's included, plus
        `spare_slots` kept free, so the next INVITE still reaches this controller to be
        refused 503 instead of pjsua answering it 486 by itself. Legs on their way down still
        count. pjlib's socket slots are the other budget: a caller's own sockets are open
        already, its callee leg's are owed. (With 4 slots and one spare, a worker carries one
        bridged call at a time; a world that needs two at once, a call placed during a call,
        runs with spare 0 and can see pjsua's 486 under a burst.)"""
        owed = sum(1 for b in self._bridges.values() if b.callee is None and not b.over)
        return (self.endpoint.slots_in_use + owed + self.spare_slots > CALL_SLOTS
                # the callee legs' sockets: pjlib's slots must hold them too, or their dial
                # would wait for slots to come back (reference.sip.sockets)
                or self.endpoint.sockets.short(owed * SOCKETS_PER_CALL))

    def _refuse(self, bridge: Bridge, code: int, reason: str, why: str, *,
                headers: dict[str, str] | None = None, status: str = "failed") -> None:
        """Final failure answer to the caller leg (it is not answered yet)."""
        if bridge.over:
            return
        bridge.over = True
        self._close_session(bridge)
        self._cdr(bridge, status=status, failure_reason=why)
        self._emit("refused", call_sid=bridge.call_sid, code=code, reason=why)
        leg = self._leg(bridge.caller)
        if leg is not None and not leg.ended:
            leg.answer(code, reason, headers)

    def _on_caller_state(self, bridge: Bridge, ev: SipEvent) -> None:
        state = ev.get("state")
        if state == "CONFIRMED":
            bridge.caller_answered = True
            self._try_bridge(bridge)
        elif state == "DISCONNECTED":
            bridge.legs_down.add("caller")
            if bridge.end_reason is None and (bridge.caller_answered or not bridge.over):
                bridge.end_reason = "caller-hangup" if bridge.caller_answered else "canceled"
            bridge.over = True
            self._close_session(bridge)
            self._hangup_leg(bridge.callee)
            self._maybe_done(bridge)

    # --- HTTP steps (worker thread) -------------------------------------------------------
    def _route(self, bridge: Bridge, custom: str | None) -> None:
        p = self.platform
        route = p.dial_whom(bridge.call_sid, f"sip:{bridge.subscriber}",
                            self.account.sip_exophone, custom, account_sid=self.account.sid)
        if not route.ok:
            code = 404 if route.http_status == 404 else 500
            self._post(lambda: self._refuse(bridge, code, "Not Found" if code == 404 else
                                            "Dial Whom Failed", route.reason))
            return
        self._post(lambda: self._cdr(bridge, callee=route.remote_id))
        session = p.new_session_id()  # ours: callers' own session ids may collide
        bridge.remote_id = route.remote_id
        if route.remote_id not in self.callee_uris:  # open before the push: a fast callee
            with self._open_lock:                    # takes it before _pushed runs
                bridge.session = session
                self._open[session] = bridge
        payload = p.issue_push_payload(route.remote_id, bridge.subscriber, session,
                                       call_sid=bridge.call_sid,
                                       ttl=route.max_ringing_duration)
        outcome = p.push(route.remote_id, payload, PAYLOAD_VERSION,
                         account_sid=self.account.sid)
        self._post(lambda: self._pushed(bridge, route, outcome, session))

    def _post(self, fn: Callable[[], None]) -> None:
        self._actions.put(fn)
        # wake the controller, which waits on the SIP events: posted work runs now, not at
        # the end of its 20 ms wait (a "wake" event names no call, so nothing else reads it)
        self.endpoint.events.put(SipEvent("wake"))

    # --- the callee leg ------------------------------------------------------------------
    def _pushed(self, bridge: Bridge, route: DialWhomResult, outcome: Any,
                session: str) -> None:
        self._cdr(bridge, push_delivered=outcome.ok)
        self._emit("routed", call_sid=bridge.call_sid, remote_id=route.remote_id,
                   push_ok=outcome.ok, push_reason=outcome.reason, session=session)
        if bridge.over:  # the caller gave up meanwhile
            self._close_session(bridge)
            return
        if not outcome.ok:
            self._refuse(bridge, 480, "Temporarily Unavailable",
                         f"push failed: {outcome.reason}")
            return
        bridge.route, bridge.remote_id = route, route.remote_id
        bridge.ring_deadline = time.monotonic() + route.max_ringing_duration
        uri = self.callee_uris.get(route.remote_id)
        if uri is not None:
            self._invite_callee(bridge, uri, session)
            return
        if bridge.taken_by is not None:
            self._invite_callee(bridge, bridge.taken_by, session)
        else:
            self._emit("awaiting-take", call_sid=bridge.call_sid, session=session)

    def take(self, session: str, token: str, contact: str) -> None:
        """The callee's SDK takes `session` (on an HTTP thread; raises ApiError). Answered
        only once the controller has acted on it, so a 202 means the INVITE is on its way
        and a caller who gave up meanwhile is a 404 (the SDK's push was stale)."""
        claims: dict[str, Any] = {}
        try:
            claims = decode(token).claims
        except TokenError:
            pass
        with self._open_lock:
            bridge = self._open.get(session)
            if bridge is None:
                raise ApiError(404, f"session {session} is not waiting for its callee")
            ok, error = self.platform.verify_access_token(token, claims.get("device_id"),
                                                          subscriber_name=bridge.remote_id)
            if not ok:
                name = error.value if error is not None else "AUTHENTICATION_INVALID_TOKEN"
                raise ApiError(401, f"{name}: the access token does not take this session")
            if bridge.session != session:
                raise ApiError(409, f"session {session} was already taken")
            bridge.session = None  # taken: once
            del self._open[session]
        try:
            refusal = self._on_controller("take", lambda: self._taken(bridge, session, contact),
                                          timeout=5)
        except ValueError as exc:
            raise ApiError(503, f"the platform's SIP side did not take it: {exc}") from None
        if refusal is not None:
            raise refusal

    def _taken(self, bridge: Bridge, session: str, contact: str) -> ApiError | None:
        self._emit("taken", call_sid=bridge.call_sid, session=session, contact=contact)
        if bridge.over:
            return ApiError(404, f"session {session}: the caller is gone")
        if bridge.callee is not None:
            return ApiError(409, f"session {session} was already taken")
        if bridge.route is None:  # taken before _pushed ran: it will INVITE
            bridge.taken_by = contact
            return None
        return None if self._invite_callee(bridge, contact, session) else ApiError(
            503, "the platform cannot place the callee's leg now")

    def _close_session(self, bridge: Bridge) -> None:
        with self._open_lock:
            if bridge.session is not None:
                self._open.pop(bridge.session, None)
                bridge.session = None

    def _invite_callee(self, bridge: Bridge, uri: str, session: str) -> bool:
        """INVITE the callee; False (and the caller refused 503) when the leg cannot be
        placed, e.g. every call slot of this process is taken."""
        try:
            leg = self.endpoint.make_call(uri, {CALLER_HEADER: bridge.subscriber,
                                                SESSION_HEADER: session})
        except SipError as exc:
            self._refuse(bridge, 503, "Service Unavailable", f"callee leg not placed: {exc}",
                         headers={REASON_HEADER: "CONGESTION_ERROR"})
            return False
        bridge.callee = leg.handle
        self._by_leg[leg.handle] = bridge
        self._emit("callee-invite", call_sid=bridge.call_sid, leg=leg.handle, uri=uri)
        return True

    def _ring_caller(self, bridge: Bridge, code: int) -> None:
        """The callee's device rings (180) or plays early media (183): so does the caller's
        (onCallRinging, or the SDK's EARLY state). Each provisional code is relayed once."""
        code = code if code in (180, 183) else 180
        if code in bridge.relayed or bridge.over:
            return
        first = not bridge.relayed
        bridge.relayed.add(code)
        self._leg(bridge.caller).answer(code)
        if first:
            self._cdr(bridge, status="ringing", ringing_time=self._now())
        self._emit("ringing", call_sid=bridge.call_sid, leg=bridge.caller, code=code)

    def _on_callee_state(self, bridge: Bridge, ev: SipEvent) -> None:
        state, code = ev.get("state"), int(ev.get("code") or 0)
        self._emit("callee-state", call_sid=bridge.call_sid, state=state, code=code,
                   rx=round(ev.t, 6))
        if state == "EARLY":
            self._ring_caller(bridge, code)
        elif state == "CONFIRMED":
            bridge.callee_answered = True
            bridge.ring_deadline = None
            if bridge.over:
                self._hangup_leg(bridge.callee)
                return
            self._leg(bridge.caller).answer(200)
            bridge.talk_deadline = time.monotonic() + bridge.route.max_conversation_duration
            self._cdr(bridge, status="in-progress", answered_time=self._now())
            self._emit("answered", call_sid=bridge.call_sid)
            self._try_bridge(bridge)
        elif state == "DISCONNECTED":
            bridge.legs_down.add("callee")
            bridge.ring_deadline = None
            if bridge.callee_answered:
                if bridge.end_reason is None:
                    bridge.end_reason = "callee-hangup"
                self._hangup_leg(bridge.caller)
            elif not bridge.over:
                net = failure_event(code, ev.get("reason") or "",
                                    had_provisional="EARLY" in self._leg(bridge.callee).states())
                answer = ANSWER_CODE_FOR_NET.get(net, 500)
                status = {486: "busy", 603: "busy", 408: "no-answer"}.get(answer, "failed")
                self._refuse(bridge, answer, "", f"callee answered {code} ({net})",
                             status=status)
            self._maybe_done(bridge)

    def _try_bridge(self, bridge: Bridge) -> None:
        if not (bridge.caller_answered and bridge.callee_answered) or bridge.callee is None:
            return
        a, b = bridge.caller, bridge.callee

        def connect() -> bool:
            ca, cb = self.endpoint._calls.get(a), self.endpoint._calls.get(b)
            if ca is None or cb is None or ca.audio_index is None or cb.audio_index is None:
                return False
            am, bm = ca.getAudioMedia(ca.audio_index), cb.getAudioMedia(cb.audio_index)
            cap = pj.Endpoint.instance().audDevManager().getCaptureDevMedia()
            play = pj.Endpoint.instance().audDevManager().getPlaybackDevMedia()
            for m in (am, bm):
                cap.stopTransmit(m)
                m.stopTransmit(play)
            am.startTransmit(bm)
            bm.startTransmit(am)
            return True

        if self.endpoint.run(connect) and not bridge.bridged:
            bridge.bridged = True
            self._emit("bridged", call_sid=bridge.call_sid, caller=a, callee=b)

    # --- fault controls (any thread) -----------------------------------------------------
    def media_fault(self, action: str, toward: str = "caller", call_sid: str | None = None,
                    seconds: float | None = None) -> dict[str, Any]:
        """Fault control on a bridged call's media, toward one leg ("caller" or "callee"):
        "pause" stops the RTP the platform sends that leg (the bridge stops feeding it and
        its stream suppresses silence: the far end hears a real outage, no SIP signalled),
        "resume" starts it again, "renew" sends that leg a re-INVITE (the media being
        renegotiated). `call_sid`: default the latest bridged call. A pause with `seconds`
        resumes by itself after that long (an outage of N s). Raises ValueError."""
        if seconds is not None and (action != "pause" or not 0 < float(seconds) <= 3600):
            raise ValueError("media fault: seconds (0-3600] go with pause only")
        if action not in ("pause", "resume", "renew") or toward not in ("caller", "callee"):
            raise ValueError(f"media fault: action pause|resume|renew toward caller|callee, "
                             f"not {action!r} toward {toward!r}")

        def act() -> dict[str, Any]:
            bridges = [b for b in self._bridges.values() if b.bridged and
                       (call_sid is None or b.call_sid == call_sid)]
            if not bridges:
                raise ValueError(f"no bridged call {call_sid or ''}".strip())
            bridge = bridges[-1]
            self._apply_media(bridge, action, toward)
            self._emit("media-fault", call_sid=bridge.call_sid, action=action, toward=toward,
                       seconds=seconds)
            if seconds is not None:
                self._timers.append((time.monotonic() + float(seconds),
                                     lambda: self._timed_resume(bridge, toward)))
            return {"call_sid": bridge.call_sid}

        return self._on_controller("media fault", act)

    def _apply_media(self, bridge: Bridge, action: str, toward: str) -> None:
        """On the controller: the media fault itself, done on the pump thread."""
        target = bridge.caller if toward == "caller" else bridge.callee
        other = bridge.callee if toward == "caller" else bridge.caller

        def on_pump() -> None:
            tc, oc = self.endpoint._calls.get(target or ""), self.endpoint._calls.get(other or "")
            if tc is None or oc is None or tc.audio_index is None or oc.audio_index is None:
                raise SipError("a leg of the call has no audio")
            tm, om = tc.getAudioMedia(tc.audio_index), oc.getAudioMedia(oc.audio_index)
            if action == "renew":
                prm = pj.CallOpParam(True)
                prm.opt.flag = pj.PJSUA_CALL_UNHOLD
                tc.reinvite(prm)
                return
            tc.set_paused(action == "pause")  # VAD on: silence is not sent
            cap = pj.Endpoint.instance().audDevManager().getCaptureDevMedia()
            cap.stopTransmit(tm)  # set_paused(False) reconnects the null capture
            if action == "pause":
                om.stopTransmit(tm)
            else:
                om.startTransmit(tm)

        self.endpoint.run(on_pump)

    def _timed_resume(self, bridge: Bridge, toward: str) -> None:
        """The end of a timed outage (controller thread): unless the call is over by now."""
        if bridge.call_sid not in self._bridges:  # ended (and forgotten) meanwhile
            return
        self._apply_media(bridge, "resume", toward)
        self._emit("media-fault", call_sid=bridge.call_sid, action="resume", toward=toward,
                   seconds=None)

    def expire_ringing(self, call_sid: str | None = None) -> dict[str, Any]:
        """Fault control: max_ringing_duration runs out now for a call still ringing (the
        latest, or `call_sid`): the caller gets 408 and the callee a CANCEL saying
        cause=408. Raises ValueError when no call is ringing."""

        def act() -> dict[str, Any]:
            ringing = [b for b in self._bridges.values() if b.ring_deadline is not None and
                       (call_sid is None or b.call_sid == call_sid)]
            if not ringing:
                raise ValueError("no call is ringing")
            ringing[-1].ring_deadline = time.monotonic()
            self._check_deadlines()
            return {"call_sid": ringing[-1].call_sid}

        return self._on_controller("ring timeout", act)

    def _on_controller(self, what: str, act: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Run `act` on the controller thread (which owns every Bridge) from any other
        thread; its result, or ValueError("<what>: <why>") for what it raised or a
        controller that does not answer within `timeout`."""
        done: "queue.Queue[tuple[bool, Any]]" = queue.Queue()

        def run() -> None:
            try:
                done.put((True, act()))
            except Exception as exc:  # noqa: BLE001 - answered, not raised on the controller
                done.put((False, exc))

        self._post(run)
        try:
            ok, got = done.get(timeout=timeout)
        except queue.Empty:
            raise ValueError(f"{what}: the controller did not answer") from None
        if ok:
            return got
        if isinstance(got, ValueError):
            raise ValueError(f"{what}: {got}") from None
        raise ValueError(f"{what}: {type(got).__name__}: {got}") from None

    def _hangup_leg(self, handle: str | None, headers: dict[str, str] | None = None) -> None:
        leg = self._leg(handle)
        if leg is not None and not leg.ended:
            try:
                leg.hangup(headers=headers)
            except SipError:
                pass

    def _check_deadlines(self) -> None:
        now = time.monotonic()
        due = [t for t in self._timers if t[0] <= now]
        if due:
            self._timers = [t for t in self._timers if t[0] > now]
            for _, fn in due:
                self._guard(fn)
        for bridge in list(self._bridges.values()):
            if bridge.ring_deadline is not None and now >= bridge.ring_deadline:
                bridge.ring_deadline = None
                self._refuse(bridge, 408, "Request Timeout", "no answer within "
                             "max_ringing_duration", status="no-answer")
                self._hangup_leg(bridge.callee, NO_ANSWER_REASON)  # CANCEL, saying why
            if bridge.talk_deadline is not None and now >= bridge.talk_deadline:
                bridge.talk_deadline = None
                bridge.end_reason = "max-conversation-duration"
                self._hangup_leg(bridge.caller)
                self._hangup_leg(bridge.callee)

    def _maybe_done(self, bridge: Bridge) -> None:
        need = {"caller"} | ({"callee"} if bridge.callee else set())
        if not need <= bridge.legs_down:
            return
        bridge.talk_deadline = bridge.ring_deadline = None
        self._close_session(bridge)
        record = self._cdr_get(bridge)
        changes: dict[str, Any] = {"ended_time": self._now(), "end_reason": bridge.end_reason}
        if record.status == "in-progress":
            changes["status"] = "completed"
        elif record.status in ("initiated", "ringing"):
            changes["status"] = "canceled"
        self._cdr(bridge, **changes)
        self._bridges.pop(bridge.call_sid, None)
        for h in (bridge.caller, bridge.callee):
            self._by_leg.pop(h or "", None)
        self._emit("call-ended", cdr=self._cdr_get(bridge).to_dict())

    # --- CDRs ----------------------------------------------------------------------------
    def _cdr(self, bridge: Bridge, **changes: Any) -> None:
        self.platform.cdrs.update(bridge.call_sid, **changes)

    def _cdr_get(self, bridge: Bridge) -> CallDetailRecord:
        record = self.platform.cdrs.get(bridge.call_sid)
        assert record is not None
        return record
