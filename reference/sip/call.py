"""Calls over pjsua2: the pump-thread-side ``PjCall`` and the thread-safe ``SipCall`` proxy.

``SipCall`` (returned by ``SipEndpoint.make_call`` or carried by an "incoming" event through
``endpoint.handles[event.call]``) is safe to use from any thread: each method is a command run
on the endpoint's pump thread with a bounded wait.

* ``answer(code)`` - 180 (``ring()``), 183 (``early_media()``, offers SDP: RTP flows before the
  answer), 200, or a final failure (486/480/503/...) that rejects the call.
* ``hangup(code=0)`` - BYE when confirmed, CANCEL when still ringing (UAC), or a final
  response (UAS, default 603).
* ``hold()/unhold()`` - re-INVITE with sendonly / sendrecv (signalled, the far side's media
  state becomes REMOTE_HOLD: this is *not* loss).
* ``pause_rtp()/resume_rtp()`` - unsignalled RTP outage toward the far end (the dialog stays
  CONFIRMED). Checked: merely ``stopTransmit`` of the source does NOT stop RTP (the bridge
  keeps feeding the stream silence, and VAD is off endpoint-wide so silence is sent). What
  works: stop the source *and* switch the stream's codec VAD on at run time
  (``audStreamModifyCodecParam`` with ``setting.vad``): silence is then suppressed and the far
  side's ``rx_packets`` stalls (measured: 0 packets in 2 s, against 50/s before); resuming
  restarts the flow at once. The RTP sequence numbers stay continuous, so the far side's
  ``rx_lost`` stays 0 - it is a stall, which ``stats.RtpWatch`` turns into net_rtp_lost /
  net_rtp_restored. (Not measured: pjmedia may send a keep-alive during long silence,
  PJMEDIA_CODEC_MAX_SILENCE_PERIOD, about every 5 s.)
* ``stats()`` - ``CallStatistics`` (exovoice.reference.sip.stats); after the call ended, the last
  snapshot taken when its stream was destroyed.
* ``history`` - every SipEvent for this call; ``wait(pred)`` / ``wait_state(name)`` block
  (bounded) until one matches.

State events carry ``net``: the spec Network happening (exovoice.reference.sip.mapping) the invite
update stands for.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Protocol

from .mapping import InviteUpdate, network_event, state_name
from .pj import SipError, SipEvent, add_headers, err, parse_headers, pj
from .stats import CallStatistics


class CallOwner(Protocol):
    """What a call needs of the endpoint that owns it (reference.sip.endpoint.SipEndpoint);
    a protocol, so the endpoint builds on its calls and not the other way round."""

    handles: dict[str, Any]
    _calls: dict[str, Any]

    def run(self, fn: Callable[[], Any], timeout: float = 5.0) -> Any: ...
    def emit(self, kind: str, call: str | None = None, **data: Any) -> None: ...
    def _call_ended(self, handle: str) -> None: ...
    def _incoming(self, call_id: int, rdata: Any) -> None: ...

_Base: Any = pj.Call if pj is not None else object
_AccBase: Any = pj.Account if pj is not None else object


class PjAccount(_AccBase):
    """The registration-less account: turns onIncomingCall into an "incoming" event."""

    def __init__(self, owner: CallOwner) -> None:
        super().__init__()
        self.owner = owner

    def onIncomingCall(self, prm: Any) -> None:  # noqa: N802 - pjsua2 callback name
        self.owner._incoming(prm.callId, prm.rdata)


class PjCall(_Base):
    """pjsua2 Call subclass; lives on the pump thread only."""

    def __init__(self, owner: CallOwner, handle: str, acc: Any, call_id: int | None = None):
        if call_id is None:
            super().__init__(acc)
        else:
            super().__init__(acc, call_id)
        self.owner = owner
        self.handle = handle
        self.local_hangup = False
        self.was_confirmed = False
        self.had_provisional = False
        self.paused = False
        self.audio_index: int | None = None
        self.last_stats: CallStatistics | None = None
        self.connected_at: float | None = None
        self.cancelled_for = ""  # the Reason of the CANCEL that ends this incoming call
        self.exotel_reason = ""  # X-Exotel-Reason of the final response refusing our INVITE

    # -- callbacks (pump thread, inside libHandleEvents) --
    def onCallState(self, prm: Any) -> None:  # noqa: N802
        ci = self.getInfo()
        state = state_name(ci.state)
        if state == "DISCONNECTED" and not self.exotel_reason:
            # the final response that ended our INVITE rides on the state change's event
            self.exotel_reason = final_response_header(prm, "X-Exotel-Reason")
        code = int(ci.lastStatusCode)
        reason = str(ci.lastReason)
        role = "uac" if ci.role == pj.PJSIP_ROLE_UAC else "uas"
        net = network_event(
            InviteUpdate(
                role=role,
                state=state,
                code=code,
                reason=reason,
                local_hangup=self.local_hangup,
                was_confirmed=self.was_confirmed,
                had_provisional=self.had_provisional,
            )
        )
        if state == "EARLY":
            self.had_provisional = True
        if state == "CONFIRMED":
            self.was_confirmed = True
            self.connected_at = time.monotonic()
        extra: dict[str, Any] = {}
        if state == "DISCONNECTED" and self.exotel_reason:
            extra["exotel_reason"] = self.exotel_reason
        if state == "DISCONNECTED" and role == "uas":
            cause = self.cancelled_for
            if cause:
                extra["cancel_reason"] = cause
                net = network_event(InviteUpdate(role=role, state=state, code=code,
                                                 reason=reason, local_hangup=self.local_hangup,
                                                 was_confirmed=self.was_confirmed,
                                                 had_provisional=self.had_provisional,
                                                 cancel_reason=cause))
        self.owner.emit("state", self.handle, state=state, code=code, reason=reason, role=role,
                        net=net, call_id=str(ci.callIdString), **extra)
        if state == "DISCONNECTED":
            self.owner._call_ended(self.handle)

    def onCallTsxState(self, prm: Any) -> None:  # noqa: N802
        cause = cancel_reason(prm)
        if cause:
            self.cancelled_for = cause  # read when the call reaches DISCONNECTED
        reason = final_response_header(prm, "X-Exotel-Reason")
        if reason:
            self.exotel_reason = reason  # read when the call reaches DISCONNECTED

    def onCallMediaState(self, prm: Any) -> None:  # noqa: N802
        ci = self.getInfo()
        statuses = []
        for mi in ci.media:
            if mi.type != pj.PJMEDIA_TYPE_AUDIO:
                continue
            statuses.append(_MEDIA_STATUS.get(mi.status, str(mi.status)))
            if mi.status in (pj.PJSUA_CALL_MEDIA_ACTIVE, pj.PJSUA_CALL_MEDIA_REMOTE_HOLD):
                self.audio_index = mi.index
                self._connect_audio()
        self.owner.emit("media", self.handle, status=statuses,
                        active="active" in statuses)

    def onStreamDestroyed(self, prm: Any) -> None:  # noqa: N802
        try:
            self.last_stats = self._read_stats(int(prm.streamIdx))
        except Exception:  # noqa: BLE001 - best effort snapshot
            return
        proxy = self.owner.handles.get(self.handle)
        if proxy is not None:  # the stream may go after DISCONNECTED released us
            proxy._final_stats = self.last_stats

    def onCallRxReinvite(self, prm: Any) -> None:  # noqa: N802
        self.owner.emit("reinvite", self.handle, net="net_rtp_renewing")

    # -- helpers (pump thread) --
    def _source(self) -> Any:
        return pj.Endpoint.instance().audDevManager().getCaptureDevMedia()

    def _connect_audio(self) -> None:
        if self.audio_index is None:
            return
        am = self.getAudioMedia(self.audio_index)
        if not self.paused:
            self._source().startTransmit(am)
        am.startTransmit(pj.Endpoint.instance().audDevManager().getPlaybackDevMedia())

    def _read_stats(self, idx: int) -> CallStatistics:
        info = self.getStreamInfo(idx)
        stat = self.getStreamStat(idx)
        since = self.connected_at
        return CallStatistics.from_stream(info, stat, time.monotonic() - since if since else 0.0)

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        if self.audio_index is None:
            return
        am = self.getAudioMedia(self.audio_index)
        if paused:
            self._source().stopTransmit(am)
        else:
            self._source().startTransmit(am)
        info = self.getStreamInfo(self.audio_index)
        param = pj.Endpoint.instance().codecGetParam(f"{info.codecName}/{info.codecClockRate}/1")
        param.setting.vad = bool(paused)
        self.audStreamModifyCodecParam(self.audio_index, param)


def _received_message(prm: Any, method: str) -> str:
    """The message a `method` transaction received, behind an onCallState / onCallTsxState
    event; empty when the event carries none."""
    try:
        ts = prm.e.body.tsxState
        if str(ts.tsx.method) != method:
            return ""
        return str(ts.src.rdata.wholeMsg)
    except Exception:  # noqa: BLE001 - no received message behind this event
        return ""


def cancel_reason(prm: Any) -> str:
    """The Reason header (RFC 3326) of a received CANCEL, from onCallTsxState's event (empty
    when the event is not a received CANCEL): the only way a caller can say why it gave up
    before an answer (the platform says `SIP;cause=408` when max_ringing_duration ran out)."""
    msg = _received_message(prm, "CANCEL")
    if not msg.startswith("CANCEL "):
        return ""
    return parse_headers(msg).get("Reason", "")


def final_response_header(prm: Any, name: str) -> str:
    """A header of a final response (3xx to 6xx) our INVITE received, from onCallTsxState's
    event (empty otherwise): how the platform names why it refused a call, whatever its
    reason phrase says (X-Exotel-Reason: AUTHENTICATION_EXPIRED_TOKEN, CONGESTION_ERROR...)."""
    msg = _received_message(prm, "INVITE")
    first = msg.split("\r\n", 1)[0] if "\r\n" in msg else msg.split("\n", 1)[0]
    parts = first.split()
    if len(parts) < 2 or parts[0] != "SIP/2.0" or not parts[1].isdigit() or int(parts[1]) < 300:
        return ""
    return parse_headers(msg).get(name, "")


_MEDIA_STATUS: dict[int, str] = {}
if pj is not None:
    _MEDIA_STATUS = {
        pj.PJSUA_CALL_MEDIA_NONE: "none",
        pj.PJSUA_CALL_MEDIA_ACTIVE: "active",
        pj.PJSUA_CALL_MEDIA_LOCAL_HOLD: "local_hold",
        pj.PJSUA_CALL_MEDIA_REMOTE_HOLD: "remote_hold",
        pj.PJSUA_CALL_MEDIA_ERROR: "error",
    }


class SipCall:
    """Thread-safe handle on one call (see module docstring)."""

    def __init__(self, owner: CallOwner, handle: str, role: str, remote_uri: str = ""):
        self.owner = owner
        self.handle = handle
        self.role = role
        self.remote_uri = remote_uri
        self.history: list[SipEvent] = []
        self._cond = threading.Condition()

    def __repr__(self) -> str:
        return f"SipCall({self.handle}, {self.role}, {self.state})"

    # -- events --
    def _record(self, ev: SipEvent) -> None:
        with self._cond:
            self.history.append(ev)
            self._cond.notify_all()

    @property
    def state(self) -> str:
        with self._cond:
            for ev in reversed(self.history):
                if ev.kind == "state":
                    return ev.data["state"]
        return "NULL"

    @property
    def ended(self) -> bool:
        return self.state == "DISCONNECTED"

    def states(self) -> list[str]:
        with self._cond:
            return [ev.data["state"] for ev in self.history if ev.kind == "state"]

    def net_events(self) -> list[str]:
        with self._cond:
            return [ev.data["net"] for ev in self.history if ev.data.get("net")]

    def wait(self, pred: Callable[[SipEvent], bool], timeout: float = 5.0) -> SipEvent:
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for ev in self.history[seen:]:
                    if pred(ev):
                        return ev
                seen = len(self.history)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SipError(
                        f"{self.handle}: no matching event within {timeout}s "
                        f"(states so far: {self.states()})"
                    )
                self._cond.wait(left)

    def wait_state(self, state: str, timeout: float = 5.0) -> SipEvent:
        return self.wait(lambda ev: ev.kind == "state" and ev.data["state"] == state, timeout)

    # -- commands --
    def _pjcall(self) -> PjCall:
        pjc = self.owner._calls.get(self.handle)
        if pjc is None:
            raise SipError(f"{self.handle}: call is over")
        return pjc

    def _do(self, fn: Callable[[PjCall], Any], what: str, timeout: float = 5.0) -> Any:
        def go():
            pjc = self._pjcall()
            try:
                return fn(pjc)
            except SipError:
                raise
            except Exception as exc:
                raise SipError(f"{self.handle}: {what} failed: {err(exc)}") from None

        return self.owner.run(go, timeout)

    def answer(self, code: int = 200, reason: str = "", headers: dict[str, str] | None = None):
        def go(pjc: PjCall):
            prm = pj.CallOpParam(True)
            prm.statusCode = code
            if reason:
                prm.reason = reason
            add_headers(prm, headers)
            if code >= 300:
                pjc.local_hangup = True
            pjc.answer(prm)

        self._do(go, f"answer({code})")

    def ring(self) -> None:
        self.answer(180)

    def early_media(self) -> None:
        self.answer(183)

    def hangup(self, code: int = 0, headers: dict[str, str] | None = None) -> None:
        def go(pjc: PjCall):
            prm = pj.CallOpParam(True)
            if code:
                prm.statusCode = code
            add_headers(prm, headers)
            pjc.local_hangup = True
            pjc.hangup(prm)

        self._do(go, "hangup")

    def hold(self) -> None:
        self._do(lambda pjc: pjc.setHold(pj.CallOpParam(True)), "hold")

    def unhold(self) -> None:
        def go(pjc: PjCall):
            prm = pj.CallOpParam(True)
            prm.opt.flag = pj.PJSUA_CALL_UNHOLD
            pjc.reinvite(prm)

        self._do(go, "unhold")

    def pause_rtp(self) -> None:
        self._do(lambda pjc: pjc.set_paused(True), "pause_rtp")

    def resume_rtp(self) -> None:
        self._do(lambda pjc: pjc.set_paused(False), "resume_rtp")

    def stats(self) -> CallStatistics | None:
        """Live statistics, or the last snapshot once the call is over (None if no media)."""

        def go():
            pjc = self.owner._calls.get(self.handle)
            if pjc is None:
                return self._final_stats
            if pjc.audio_index is None:
                return pjc.last_stats
            try:
                return pjc._read_stats(pjc.audio_index)
            except Exception:  # noqa: BLE001 - stream already gone
                return pjc.last_stats

        return self.owner.run(go)

    _final_stats: CallStatistics | None = None
