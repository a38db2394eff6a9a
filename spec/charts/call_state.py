"""The call-state chart: guide 4.3 and 4.5 and the Call State Flow diagram.

One region of the composed client model. Its states are the twelve CallState values plus
`no_call`, the configuration before the first call exists (getCallState() has nothing to
return then). Edges named after a callback are the SDK announcing a network happening (the
`cause`); EARLY and CONNECTING have no callback, so their edges are internal network events.
"""

from __future__ import annotations

from typing import Any

from statemachine import State
from statemachine.transition_list import TransitionList

from .. import rules as R
from ..base import tag
from ..vocabulary import CallDirection, CallEndReason, CallState, ErrorType, Network
from .calls import announced, restored


def edges(sources: list[State], target: State | None, **kw: Any) -> TransitionList:
    """One transition from each source; a None target means a self-loop on each source."""
    out: TransitionList | None = None
    for s in sources:
        t = s.to.itself(**kw) if target is None else s.to(target, **kw)
        out = t if out is None else out | t
    assert out is not None
    return out


# End reasons each kind of ending may carry (an absent endReason is always allowed).
_E = CallEndReason
END_REASONS_OUTGOING = frozenset(
    {_E.BUSY, _E.TIMEOUT, _E.UNREACHABLE, _E.FAILURE, _E.REMOTE_HANGUP, _E.INVALID_DIAL_INFO,
     _E.THROTTLED, _E.NONE}
)
END_REASONS_INCOMING = frozenset({_E.REMOTE_HANGUP, _E.TIMEOUT, _E.FAILURE, _E.NONE})
END_REASONS_ESTABLISHED = frozenset(
    {_E.REMOTE_HANGUP, _E.FAILURE, _E.TIMEOUT, _E.MEDIA_FAILED_HANGUP, _E.NONE}
)
END_REASONS_MEDIA = frozenset({_E.MEDIA_TIMEOUT, _E.MEDIA_FAILED_HANGUP})
END_REASONS_AFTER_FAILED = frozenset({_E.THROTTLED, _E.FAILURE})
# A call the network drops (net_call_dropping, CALL-HANGUP) reads ENDING, then ends with a
# reason of the phase it was dropped in.
DROPPED: dict[str, frozenset] = {
    "DROPPED_OUT": END_REASONS_OUTGOING,
    "DROPPED_IN": END_REASONS_INCOMING,
    "DROPPED_EST": END_REASONS_ESTABLISHED | END_REASONS_MEDIA,
}
FAILED_ERRORS = frozenset(
    {ErrorType.CONGESTION_ERROR, ErrorType.NETWORK_ERROR, ErrorType.SERVER_ERROR,
     ErrorType.INVALID_DIAL_INFO, ErrorType.INTERNAL_ERROR, ErrorType.AUTHENTICATION_EXPIRED_TOKEN,
     ErrorType.AUTHENTICATION_INVALID_TOKEN}
)


def _names(values: frozenset) -> str:
    return ", ".join(sorted(v.value for v in values))


class CallRegion(State.Compound, name="call state"):
    no_call = State("no call", initial=True)
    none = State(CallState.NONE.value, value=CallState.NONE.value)
    outgoing_initiated = State(CallState.OUTGOING_INITIATED.value, value=CallState.OUTGOING_INITIATED.value)
    early = State(CallState.EARLY.value, value=CallState.EARLY.value)
    ringing = State(CallState.RINGING.value, value=CallState.RINGING.value)
    connecting = State(CallState.CONNECTING.value, value=CallState.CONNECTING.value)
    incoming = State(CallState.INCOMING.value, value=CallState.INCOMING.value)
    answering = State(CallState.ANSWERING.value, value=CallState.ANSWERING.value)
    established = State(CallState.ESTABLISHED.value, value=CallState.ESTABLISHED.value)
    media_disrupted = State(CallState.MEDIA_DISRUPTED.value, value=CallState.MEDIA_DISRUPTED.value)
    renewing_media = State(CallState.RENEWING_MEDIA.value, value=CallState.RENEWING_MEDIA.value)
    ending = State(CallState.ENDING.value, value=CallState.ENDING.value)
    ended = State(CallState.ENDED.value, value=CallState.ENDED.value)

    # --- outgoing (4.3.1) ---
    dial = tag(
        edges([no_call, ended], outgoing_initiated, cond="accepted", on="start_outgoing"),
        R.CALL_DIAL, emits="onCallInitiated", guard="accepted",
    )
    onCallInitiated = tag(
        outgoing_initiated.to.itself(cond=["outgoing", "unannounced"], on="announce"),
        R.CALL_INITIATED, causes={Network.net_call_sent: {}}, guard="not yet announced",
    )
    onCallInitiated |= tag(
        edges([answering, established], None, cond=["answered_incoming", "not_initiated"],
              on="note_initiated"),
        R.CALL_INITIATED, guard="answered incoming call, once", note="permissive",
    )
    net_early_media = tag(
        outgoing_initiated.to(early, cond="announced"), R.CALL_EARLY, causes={Network.net_early_media: {}},
    )
    onCallRinging = tag(
        edges([outgoing_initiated, early], ringing, cond=["outgoing", "announced"]),
        R.CALL_RINGING, causes={Network.net_ringing: {}}, guard="outgoing call",
    )
    net_connecting = tag(
        edges([outgoing_initiated, early, ringing], connecting, cond="announced"),
        R.CALL_CONNECTING, causes={Network.net_connecting: {}},
    )
    onCallEstablished = tag(
        edges([outgoing_initiated, early, ringing, connecting], established, cond="announced"),
        R.CALL_ESTABLISHED_OUT, causes={Network.net_answered: {}},
    )

    # --- incoming (4.3.2) ---
    relaySessionData = tag(
        edges([no_call, ended], none, cond=["accepted", "relay_yields_call"], on="start_incoming"),
        R.CALL_RELAY, emits="onIncomingCall", guard="valid push, system idle",
    )
    onIncomingCall = tag(
        none.to(incoming, on="announce"),
        R.CALL_INCOMING, causes={Network.net_push_valid: {}},
    )
    onMissedCall = tag(
        none.to(no_call, cond=["no_missed_due", "no_previous_call"], on="missed_no_call"),
        R.CALL_MISSED, causes={Network.net_push_stale: {}},
    )
    onMissedCall |= tag(
        none.to(ended, cond=["no_missed_due", "previous_call_ended"], on="restore_previous"),
        R.CALL_MISSED, causes={Network.net_push_stale: {}}, note="the ended call is the latest again",
    )

    answer = tag(incoming.to(answering, cond="accepted"), R.CALL_ANSWER, guard="accepted")
    onCallEstablished |= tag(
        answering.to(established), R.CALL_ESTABLISHED_IN, causes={Network.net_answered: {}},
    )

    # --- media (4.5) ---
    onMediaDisrupted = tag(
        edges([established, renewing_media], media_disrupted), R.CALL_MEDIA_DISRUPTED,
        causes={Network.net_rtp_lost: {}},
    )
    onCallDisrupted = tag(  # the iOS name of onMediaDisrupted
        edges([established, renewing_media], media_disrupted), R.VOCAB_SHIPPING,
        note="iOS onMediaDisrupted",
    )
    onRenewingMedia = tag(
        media_disrupted.to(renewing_media), R.CALL_MEDIA_RENEWING, causes={Network.net_rtp_renewing: {}},
    )
    onCallEstablished |= tag(
        edges([media_disrupted, renewing_media], established),
        R.CALL_MEDIA_RESTORED, causes={Network.net_rtp_restored: {}},
    )
    onCallRenewed = tag(  # the iOS name of the onCallEstablished that restores media
        edges([media_disrupted, renewing_media], established), R.VOCAB_SHIPPING,
        note="iOS: media restored",
    )

    # --- ending ---
    hangup = tag(
        edges([outgoing_initiated, early, ringing, connecting, incoming, answering, established,
               media_disrupted, renewing_media], ending, cond="accepted", on="end_locally"),
        R.CALL_HANGUP, emits="onCallEnded", guard="accepted",
    )
    hangup |= tag(
        edges([ending, ended], None, cond="accepted"), R.CALL_OP_STATE,
        guard="already ending or over: no-op",
    )
    net_call_dropping = tag(
        edges([outgoing_initiated, early, ringing, connecting, incoming, answering, established,
               media_disrupted, renewing_media], ending, on="end_dropped"),
        R.CALL_HANGUP, causes={Network.net_call_dropping: {}}, note="the network drops the call",
    )
    pstnAnswered = tag(
        edges([outgoing_initiated, early, ringing, connecting, incoming, answering, established,
               media_disrupted, renewing_media], ending, cond=["pstn_rings", "sdk_resolves_pstn"],
              on="end_for_pstn"),
        R.PSTN_VOIP_TERMINATED, emits="onCallEnded", guard="PSTN ringing, without CallKit",
    )
    reset = tag(
        edges([none, outgoing_initiated, early, ringing, connecting, incoming, answering,
               established, media_disrupted, renewing_media], ending, cond="accepted",
              on="end_locally"),
        R.LC_RESET, emits="onCallEnded", guard="accepted",
    )
    onCallEnded = tag(
        ending.to(ended, cond=["ended_locally", "end_reason_matches_cause"]), R.CALL_ENDED_LOCAL,
        causes={Network.net_bye_done: {}}, note="LOCAL_HANGUP, PSTN_HANGUP or NONE",
    )
    onCallEnded |= tag(
        ending.to(ended, cond=["ended_by_network", "end_reason_matches_cause"]), R.CALL_HANGUP,
        causes={Network.net_remote_hangup: {"endReason": "REMOTE_HANGUP"},
                Network.net_failure: {"endReason": "FAILURE"}},
        note="a dropped call's reason",
    )
    onCallEnded |= tag(
        ended.to.itself(cond=["after_failed", "end_reason_after_failed"], on="failure_ended"),
        R.CALL_FAILED, note="THROTTLED or FAILURE, once, after onCallFailed",
    )

    onCallEnded |= tag(
        edges([media_disrupted, renewing_media], ended, cond="end_reason_media"),
        R.CALL_MEDIA_TIMEOUT, causes={Network.net_media_timeout: {"endReason": "MEDIA_TIMEOUT"}},
        note=_names(END_REASONS_MEDIA),
    )
    onCallEnded |= tag(
        edges([outgoing_initiated, early, ringing, connecting], ended, cond="end_reason_outgoing"),
        R.CALL_REMOTE_END_OUT,
        causes={Network.net_busy: {"endReason": "BUSY"}, Network.net_no_answer: {"endReason": "TIMEOUT"},
                Network.net_unreachable: {"endReason": "UNREACHABLE"},
                Network.net_remote_hangup: {"endReason": "REMOTE_HANGUP"},
                Network.net_failure: {"endReason": "FAILURE"}},
        note=_names(END_REASONS_OUTGOING),
    )
    onCallEnded |= tag(
        edges([incoming, answering], ended, cond="end_reason_incoming"),
        R.CALL_REMOTE_END_IN,
        causes={Network.net_remote_hangup: {"endReason": "REMOTE_HANGUP"},
                Network.net_no_answer: {"endReason": "TIMEOUT"}, Network.net_failure: {"endReason": "FAILURE"}},
        note=_names(END_REASONS_INCOMING),
    )
    onCallEnded |= tag(
        edges([established, media_disrupted, renewing_media], ended, cond="end_reason_established"),
        R.CALL_REMOTE_END_EST,
        causes={Network.net_remote_hangup: {"endReason": "REMOTE_HANGUP"},
                Network.net_failure: {"endReason": "FAILURE"}},
        note=_names(END_REASONS_ESTABLISHED),
    )
    onCallFailed = tag(
        edges([outgoing_initiated, early, ringing, connecting], ended, cond="failed_error_ok",
              on="note_failed"),
        R.CALL_FAILED, causes={Network.net_congestion: {"error": "CONGESTION_ERROR"}},
        note="CONGESTION_ERROR, NETWORK_ERROR, SERVER_ERROR, ...",
    )


LIVE = frozenset(
    {CallState.OUTGOING_INITIATED, CallState.EARLY, CallState.RINGING, CallState.CONNECTING,
     CallState.INCOMING, CallState.ANSWERING, CallState.ESTABLISHED, CallState.MEDIA_DISRUPTED,
     CallState.RENEWING_MEDIA}
)
"""States in which the app holds a call it can act on (hangup, mute, speaker...)."""

OUTGOING_PHASE = frozenset(
    {CallState.OUTGOING_INITIATED, CallState.EARLY, CallState.RINGING, CallState.CONNECTING}
)

SYSTEM_STATE: dict[CallState | None, str] = {
    None: "IDLE",
    CallState.NONE: "INCOMING_CALL",
    CallState.OUTGOING_INITIATED: "OUTGOING_CALL",
    CallState.EARLY: "OUTGOING_CALL",
    CallState.RINGING: "OUTGOING_CALL",
    CallState.CONNECTING: "OUTGOING_CALL",
    CallState.INCOMING: "INCOMING_CALL",
    CallState.ANSWERING: "INCOMING_CALL",
    CallState.ESTABLISHED: "IN_CALL",
    CallState.MEDIA_DISRUPTED: "IN_CALL",
    CallState.RENEWING_MEDIA: "IN_CALL",
    CallState.ENDING: "IN_CALL",
    CallState.ENDED: "IDLE",
}
"""FACTS.md: dial sets OUTGOING_CALL, relay INCOMING_CALL, ESTABLISHED IN_CALL, ENDED IDLE.
ENDING keeps whatever the call had; IN_CALL stands for it here since a hangup that was not
yet confirmed still blocks a new call."""


class CallGuards:
    """Guards and actions of the call region; mixed into the composed model."""

    v: Any
    call_effect: str | None

    # guards
    def outgoing(self, event: Any = None, **_: Any) -> bool:
        rule = R.CALL_RINGING if event is not None and event.id == "onCallRinging" else R.CALL_INITIATED
        return self.deny_unless(self.v.direction == CallDirection.OUTGOING, rule,
                                f"{event.id if event is not None else 'it'} is for outgoing calls only")

    def unannounced(self) -> bool:
        return self.deny_unless(not self.v.announced, R.CALL_INITIATED,
                                "onCallInitiated was already given for this call")

    def announced(self) -> bool:
        return self.deny_unless(self.v.announced, R.CALL_INITIATED,
                                "onCallInitiated has not been seen for this call")

    def no_missed_due(self) -> bool:
        return not self.in_state("missed_due")  # type: ignore[attr-defined]

    def answered_incoming(self) -> bool:
        return self.deny_unless(self.v.direction == CallDirection.INCOMING, R.CALL_INITIATED,
                                "onCallInitiated after answer() is for an incoming call")

    def not_initiated(self) -> bool:
        return self.deny_unless(not self.v.initiated, R.CALL_INITIATED,
                                "onCallInitiated was already given for this call")

    def no_previous_call(self) -> bool:
        return not self.v.prev_ended

    def previous_call_ended(self) -> bool:
        return self.v.prev_ended

    def ended_locally(self) -> bool:
        return self.v.end_cause in (CallEndReason.LOCAL_HANGUP, CallEndReason.PSTN_HANGUP)

    def ended_by_network(self) -> bool:
        return self.v.end_cause in DROPPED

    def after_failed(self) -> bool:
        return self.deny_unless(self.v.failed_end, R.CALL_ENDED_TERMINAL,
                                f"call {self.v.call_id or ''} has ENDED")

    def end_reason_after_failed(self, params: dict | None = None, **_: Any) -> bool:
        return self._end_reason(params, END_REASONS_AFTER_FAILED, R.CALL_FAILED)

    def _end_reason(self, params: dict | None, allowed: frozenset, r: R.Rule) -> bool:
        reason = (params or {}).get("endReason")
        if reason is None:
            return True
        ok = isinstance(reason, str) and reason in {a.value for a in allowed}
        if not ok and reason == CallEndReason.PSTN_HANGUP:
            self.deny(R.PSTN_CALLKIT if self.v.callkit else R.PSTN_VOIP_TERMINATED,
                      "with CallKit the SDK never ends a call for a PSTN call" if self.v.callkit
                      else "only an accepted PSTN call ends a VoIP call with PSTN_HANGUP")
        return self.deny_unless(ok, r, f"endReason {reason} is not one of {_names(allowed)}")

    def end_reason_matches_cause(self, params: dict | None = None, **_: Any) -> bool:
        if self.v.end_cause in DROPPED:
            return self._end_reason(params, DROPPED[self.v.end_cause], R.CALL_HANGUP)
        allowed = frozenset({self.v.end_cause, CallEndReason.NONE})
        return self._end_reason(params, allowed, R.CALL_ENDED_LOCAL)

    def end_reason_media(self, params: dict | None = None, **_: Any) -> bool:
        return self._end_reason_strict(params, END_REASONS_MEDIA, R.CALL_MEDIA_TIMEOUT)

    def _end_reason_strict(self, params: dict | None, allowed: frozenset, r: R.Rule) -> bool:
        reason = (params or {}).get("endReason")
        return self.deny_unless(isinstance(reason, str) and reason in {a.value for a in allowed}, r,
                                f"endReason {reason} is not one of {_names(allowed)}")

    def end_reason_outgoing(self, params: dict | None = None, **_: Any) -> bool:
        return self._end_reason(params, END_REASONS_OUTGOING, R.CALL_REMOTE_END_OUT)

    def end_reason_incoming(self, params: dict | None = None, **_: Any) -> bool:
        return self._end_reason(params, END_REASONS_INCOMING, R.CALL_REMOTE_END_IN)

    def end_reason_established(self, params: dict | None = None, **_: Any) -> bool:
        return self._end_reason(params, END_REASONS_ESTABLISHED, R.CALL_REMOTE_END_EST)

    def failed_error_ok(self, params: dict | None = None, **_: Any) -> bool:
        err = (params or {}).get("error")
        return self.deny_unless(err is None or (isinstance(err, str) and err in {e.value for e in FAILED_ERRORS}),
                                R.CALL_FAILED,
                                f"onCallFailed error {err} is not a call failure")

    # actions
    # `call_effect` tells the compiled validator, which keeps call ids outside its tables,
    # what this step did to the call context (see exovoice.spec.charts.calls).
    def start_outgoing(self, call: str | None = None, **_: Any) -> None:
        self.v.new_call(call, CallDirection.OUTGOING)
        self.call_effect = "start"

    def start_incoming(self, source: Any = None, **_: Any) -> None:
        previous = self.v.call_id
        self.v.new_call(None, CallDirection.INCOMING)
        self.v.prev_ended = getattr(source, "value", None) == CallState.ENDED.value
        self.v.prev_call = previous if self.v.prev_ended else None
        self.call_effect = "start"

    def announce(self, call: str | None = None, **_: Any) -> None:
        self.v.announced = True
        self.v.prev_ended = False  # announced: no missed call will hand the old call back
        self.v.prev_call = None
        self.v.call_id = announced(self.v.call_id, call)
        self.call_effect = "announce"

    def end_locally(self, **_: Any) -> None:
        self.v.end_cause = CallEndReason.LOCAL_HANGUP

    def end_dropped(self, source: Any = None, **_: Any) -> None:
        value = getattr(source, "value", None)
        phase = ("DROPPED_OUT" if value in {s.value for s in OUTGOING_PHASE} else
                 "DROPPED_IN" if value in (CallState.INCOMING.value, CallState.ANSWERING.value)
                 else "DROPPED_EST")
        self.v.end_cause = phase

    def note_initiated(self, **_: Any) -> None:
        self.v.initiated = True

    def note_failed(self, **_: Any) -> None:
        self.v.failed_end = True

    def failure_ended(self, **_: Any) -> None:
        self.v.failed_end = False

    def missed_no_call(self, **_: Any) -> None:
        self.v.prev_ended = False
        self.v.prev_call = None

    def restore_previous(self, **_: Any) -> None:
        """CALL-MISSED / ARG-FEEDBACK-ENDED: a missed call makes no new call object, so the
        ended call before it is the latest call again."""
        self.v.call_id, self.v.past_calls = restored(self.v.call_id, self.v.past_calls,
                                                     self.v.prev_call)
        self.v.prev_ended = False
        self.v.prev_call = None
        self.call_effect = "restore"

    def end_for_pstn(self, **_: Any) -> None:
        self.v.end_cause = CallEndReason.PSTN_HANGUP

    def deny(self, rule: R.Rule, detail: str) -> None:  # provided by the model
        raise NotImplementedError

    def deny_unless(self, ok: bool, rule: R.Rule, detail: str) -> bool:  # provided by the model
        raise NotImplementedError
