"""The composed model of one client instance: every chart as a parallel region of one
StateChart, driven by the trace vocabulary.

An event is a trace name (api, callback, env, callkit) or an internal network event. Each
region that has an enabled transition for it takes it (SCXML parallel semantics); if none
does, the event is not allowed and `ClientModel.send` raises SpecViolation naming the states,
the event and the rules whose guards refused it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Iterable

from statemachine import State
from statemachine.exceptions import TransitionNotAllowed
from statemachine.orderedset import OrderedSet

from .. import rules as R
from ..arguments import subscriber_name_problem
from ..base import SpecChart, SpecViolation, TransitionSpec, transition_id
from ..vocabulary import (
    CALL_CALLBACKS,
    INTERNAL_EVENTS,
    OBSERVABLE_EVENTS,
    CallDirection,
    CallState,
    Kind,
    Network,
    guide_states,
)
from .call_state import LIVE, SYSTEM_STATE, CallGuards, CallRegion
from .callkit import CallKitGuards, CallKitRegion, PushKitRegion
from .calls import call_ref_problem, detached_refusal, started
from .environment import AudioGuards, AudioRegion, BluetoothRegion, NetworkRegion, PstnRegion
from .lifecycle import LifecycleGuards, LifecycleRegion, ListenerRegion, LogsRegion
from .system import ApiRegion, MissedRegion, SystemGuards


@dataclass
class Vars:
    """The model's data beside its configuration. Finite except for the ids, which the
    validator abstracts (same as the active one, or another)."""

    callkit: bool = False
    subscriber: str | None = None
    deinit_due: bool = False
    call_id: str | None = None
    past_calls: frozenset[str] = frozenset()
    direction: str | None = None
    announced: bool = False
    rang: bool = False
    end_cause: str | None = None
    ck_uuid: str | None = None
    ck_pending: str | None = None
    ck_sdk_done: bool = False
    hangup_owed: bool = False
    initiated: bool = False  # onCallInitiated given after answer() (CALL-INITIATED)
    prev_ended: bool = False  # a relayed push began while the latest call was ENDED
    prev_call: str | None = None  # that call, the latest again if the push is missed
    failed_end: bool = False  # onCallFailed given; one onCallEnded may follow (CALL-FAILED)
    auth_failed: bool = False  # onAuthenticationFailure since the last initialize()
    uploads: int = 0  # accepted uploadLogs() still unanswered (LOG-UPLOAD)
    missed_owed: int = 0  # declined pushes still owed onMissedCall
    ck_second: str | None = None  # the UUID of a push-only second CallKit call
    ck_pending_second: bool = False  # the pending action is that second call's
    ck_want: bool | None = None  # the pending action's muted / onHold (None: not said)
    ck_held: bool = False  # the CallKit VoIP call is held (CXSetHeldCallAction fulfilled)
    speaker: bool | None = False  # None: a choice of an earlier call, kept or reset
    bt_selected: bool | None = None  # enableBluetooth() (True), disableBluetooth() (False)
    ck_has_call: bool = False  # the CallKit call has an SDK call: live when it was reported
    # or started, or one began while it was shown (CK-REPORT-ENDED)

    def new_call(self, call_id: str | None, direction: CallDirection) -> None:
        self.call_id, self.past_calls = started(self.call_id, self.past_calls, call_id)
        if self.ck_uuid is not None:
            self.ck_has_call = True
        self.direction = direction.value
        self.announced = False
        self.rang = False
        self.end_cause = None
        self.initiated = False
        self.failed_end = False
        self.prev_ended = False
        self.prev_call = None
        # AUDIO-ROUTE: a new call may keep or reset the last call's speaker / Bluetooth choice
        self.speaker = False if self.speaker is False else None
        self.bt_selected = None

    def key(self) -> tuple:
        return tuple(getattr(self, f.name) for f in fields(self))




_INTERNAL = frozenset(INTERNAL_EVENTS)
# network steps only an observation infers (a `state` line ENDING: the call is being dropped)
_INFERRED = frozenset({Network.net_call_dropping.value})
PROBE: list[Any] = [None]
"""Another way to answer probe_allowed for a ClientModel configuration (snapshot, probes ->
the events allowed), taking each probe's step on the validator's step memo (spec.charts.step)
instead of firing it; None: fired here."""
READS: list[Any] = [None]
"""The recorder of the step being fired (spec.charts.step), told of every configuration read
the guards and actions make through in_state and call_state; None the rest of the time."""
_ALLOWED: dict[tuple, tuple[str, ...]] = {}  # key -> allowed events (a pure function of it)


@dataclass(frozen=True)
class Snapshot:
    configuration: tuple[str, ...]
    vars: Vars


class ClientModel(SystemGuards, CallGuards, LifecycleGuards, CallKitGuards, AudioGuards,
                  SpecChart):
    """One Exotel Voice client instance as the guide specifies it."""

    class client(State.Parallel, name="client"):
        lifecycle = LifecycleRegion
        call = CallRegion
        pstn = PstnRegion
        callkit = CallKitRegion
        pushkit = PushKitRegion
        missed = MissedRegion
        logs = LogsRegion
        bluetooth = BluetoothRegion
        network = NetworkRegion
        audio = AudioRegion
        listener = ListenerRegion
        api = ApiRegion

    def __init__(self, callkit: bool = False, **kwargs: Any) -> None:
        self.v = Vars(callkit=callkit)
        self._denials: list[tuple[R.Rule, str]] = []
        self.call_effect: str | None = None
        self.fired: list[str] = []
        super().__init__(**kwargs)

    def on_transition(self, transition: Any, **_: Any) -> None:
        """python-statemachine's hook: keep the ids of the tagged transitions a step took, for
        coverage reports."""
        if getattr(transition, "spec", None) is not None:
            self.fired.append(transition_id(transition))

    # --- queries used by guards, reports and the reference client -------------------------
    def in_state(self, state_id: str) -> bool:
        rec = READS[0]
        if rec is not None:
            rec.state(state_id)
        return state_id in self.configuration_values

    @property
    def call_state(self) -> CallState | None:
        rec = READS[0]
        if rec is not None:
            rec.call()
        for value in self.configuration_values:
            if value in CallState._value2member_map_:
                return CallState(value)
        return None

    @property
    def system_state(self) -> str:
        """SYS-STATE: derived from the call state, never stored, so the two cannot disagree."""
        return SYSTEM_STATE[self.call_state]

    @property
    def call_exists(self) -> bool:
        return self.system_state != "IDLE"

    @property
    def call_live(self) -> bool:
        return self.call_state in LIVE

    @property
    def pstn_active(self) -> bool:
        return self.in_state("pstn_active")

    @property
    def pstn_in_progress(self) -> bool:
        return self.in_state("pstn_active") or self.in_state("pstn_ringing")

    def observe(self, state: str) -> bool:
        """A `state` line: may getCallState() answer `state` here? A live call observed ENDING
        is one the network is dropping (CALL-HANGUP, guide 4.5: "ending or dropping"), so the
        model takes that step; only an observation infers it, never silence. False leaves the
        model as it was."""
        names = guide_states(state)
        cs = self.call_state
        if cs is not None and cs.value in names:
            return True
        if CallState.ENDING.value in names and self.call_live:
            self._fire(Network.net_call_dropping.value)
            return True
        return False

    def leaf_states(self) -> list[str]:
        """The active atomic state of every region, in document order."""
        active = set(self.configuration_values)
        return [s.id for s in type(self).states_map.values() if s.value in active and not s.states]

    def snapshot(self) -> "Snapshot":
        """Everything needed to come back to this point: the configuration and the data.
        Restoring a snapshot is thousands of times cheaper than copy.deepcopy of a chart."""
        return Snapshot(tuple(self.configuration_values), replace(self.v))

    def restore(self, snap: "Snapshot") -> None:
        self.model.state = OrderedSet(snap.configuration)
        self.v = replace(snap.vars)

    def closure(self, snaps: "Iterable[Snapshot]") -> "dict[tuple, Snapshot]":
        """Every configuration reachable from `snaps` by internal (unobserved) network steps,
        by key. Uses this machine as scratch: restore what you need afterwards."""
        seen: dict[tuple, Snapshot] = {}
        todo = list(snaps)
        while todo:
            snap = todo.pop()
            self.restore(snap)
            k = self.key()
            if k in seen:
                continue
            seen[k] = snap
            for ev in INTERNAL_EVENTS:
                self.restore(snap)
                try:
                    self._fire(ev)
                except SpecViolation:
                    continue
                todo.append(self.snapshot())
        return seen

    def key(self) -> tuple:
        """Everything that decides what may happen next: hashable, for tables and tests."""
        return (tuple(sorted(self.configuration_values)), self.v.key())

    # --- guards' bookkeeping -------------------------------------------------------------
    def deny(self, rule: R.Rule, detail: str) -> None:
        self._denials.append((rule, detail))

    def deny_unless(self, ok: bool, rule: R.Rule, detail: str) -> bool:
        if not ok:
            self.deny(rule, detail)
        return ok

    # --- driving -------------------------------------------------------------------------
    def fire(self, event: str, *, result: str = "ok", params: dict | None = None,
             call: str | None = None) -> None:
        try:
            self._fire(event, result=result, params=params, call=call)
        except SpecViolation as v:
            v.expected = tuple(self.allowed_events())
            raise

    def _fire(self, event: str, *, result: str = "ok", params: dict | None = None,
              call: str | None = None) -> None:
        """Apply one event; raise SpecViolation when the spec does not allow it here.

        `result` is "ok" or the ErrorType of a refused API call; `params` the line's args.
        """
        params = dict(params or {})
        if event not in OBSERVABLE_EVENTS and event not in _INTERNAL and event not in _INFERRED:
            raise SpecViolation(event, self.leaf_states(), [], "not an event of the spec")
        if OBSERVABLE_EVENTS.get(event) == Kind.CALLKIT and not self.v.callkit:
            raise SpecViolation(event, self.leaf_states(), [R.CK_MODE],
                                "the trace does not say the app integrates CallKit")
        self._check_call_ref(event, call, result)
        if detached_refusal(event, call, result, self.v.call_id, self.v.past_calls):
            return  # CALL-OP-STATE: a refused operation of an ended call object changes nothing
        self._denials = []
        self.call_effect: str | None = None
        self.fired: list[str] = []
        try:
            self.send(event, result=result, params=params, call=call)
        except TransitionNotAllowed:
            rules = list(dict.fromkeys(r for r, _ in self._denials))
            detail = "; ".join(dict.fromkeys(d for _, d in self._denials if d))
            if not rules:
                # no guard ran: the event has no edge here. Cite first what it broke (a refusal
                # the SDK owed, or the end of the call), then the rules of its edges elsewhere.
                first: list[tuple[R.Rule, str]] = []
                if result == "ok" and OBSERVABLE_EVENTS.get(event) == Kind.API:
                    first = [(r.rule, f"{event} must be refused: {why}")
                             for r, why in self.applicable_refusals(event, params) if r.must]
                elif (self.call_state == CallState.ENDED and event in CALL_CALLBACKS
                      and event != "onIncomingCall"):
                    first = [(R.CALL_ENDED_TERMINAL, f"call {self.v.call_id or ''} has ENDED")]
                elif event == "onIncomingCall" and self.in_state("missed_due"):
                    rule = (R.PSTN_AUTO_DECLINE if self.pstn_active and not self.v.callkit
                            else R.SYS_RELAY_BUSY)
                    first = [(rule, "the relayed push is owed onMissedCall, never onIncomingCall")]
                rules = [r for r, _ in first] + self._home_rules(event)
                detail = "; ".join([d for _, d in first] + [self._needs(event)])
            raise SpecViolation(event, self.leaf_states(), rules, detail) from None
        if event == "onCallRinging":
            self.v.rang = True
        if self.v.hangup_owed and (event == "hangup" or not self.call_live):
            self.v.hangup_owed = False

    def on_network(self, cause: str, call: str | None = None) -> tuple[str, dict[str, str]] | None:
        """Apply a network happening (exovoice.spec.vocabulary.Network) and return the callback, with its
        arguments, that the spec says the app gets for it here; None when no edge of the
        current configuration answers that happening. Internal edges (EARLY, CONNECTING)
        return their own internal event name. This is how a client's SIP stack drives the
        spec instead of a second hand-written state machine."""
        for source, events, params in _answering(type(self), cause):
            if not self.in_state(source):
                continue
            for event in events:
                try:
                    self._fire(event, params=params, call=call)  # (_fire copies them)
                except SpecViolation:
                    continue
                return event, dict(params)
        return None

    def _check_call_ref(self, event: str, call: str | None, result: str) -> None:
        problem = call_ref_problem(event, call, result, self.v.call_id, self.v.past_calls)
        if problem is not None:
            raise SpecViolation(event, self.leaf_states(), [problem[0]], problem[1])

    @classmethod
    def _home_rules(cls, event: str) -> list[R.Rule]:
        """The rules of every transition the event could take anywhere: what it needs.
        (Cached: the charts never change, and every refusal asks, thousands of times while
        the validator compiles its tables.)"""
        key = (cls, event)
        got = _HOME_RULES.get(key)
        if got is None:
            got = _HOME_RULES[key] = tuple(dict.fromkeys(
                spec.rule for _t, spec in transitions_of(cls, event)))
        return list(got)

    @classmethod
    def _needs(cls, event: str) -> str:
        """Where an event would be allowed, for an event with no transition from here."""
        key = (cls, event)
        got = _NEEDS.get(key)
        if got is None:
            sources = list(dict.fromkeys(t.source.name for t, _ in transitions_of(cls, event)))
            got = _NEEDS[key] = (f"it is allowed only in: {', '.join(sources)}" if sources
                                 else "no transition")
        return got

    def allowed_events(self) -> list[str]:
        """Observable and internal events this configuration accepts (with an ok result and
        no arguments); used to tell a client developer what the spec expected instead.

        Asked of the configuration with its ids renamed (_canonical_ids): the probes name no
        call and the model only compares ids, so the answer is the same, and a fleet's
        findings, each with ids of its own, share it (kept in _ALLOWED, which the validator's
        cache keeps between runs)."""
        here = self.snapshot()
        canon = _canonical_ids(here)
        key = (tuple(sorted(canon.configuration)), canon.vars.key())
        cached = _ALLOWED.get(key)
        if cached is not None:
            return list(cached)
        self.restore(canon)
        try:
            prober = PROBE[0]
            out = (self.probe_allowed() if prober is None or type(self) is not ClientModel
                   else prober(canon, self.probes()))
        finally:
            self.restore(here)
        _ALLOWED[key] = tuple(out)
        return out

    def probes(self) -> list[tuple[str, dict[str, Any]]]:
        """The events worth trying here, each with its probe's arguments: every observable
        and internal event some edge out of an active state has (the others are refused
        unfired)."""
        active = set(self.configuration_values)
        sources = _event_sources(type(self))
        return [(name, self._probe_params(name)) for name in (*OBSERVABLE_EVENTS, *INTERNAL_EVENTS)
                if sources is None or sources.get(name, _NONE) & active]

    def probe_allowed(self) -> list[str]:
        """Each event tried on this very configuration (put back after each), uncached: what
        allowed_events answers for it."""
        here = self.snapshot()
        out = []
        try:
            for name, params in self.probes():
                self.restore(here)
                try:
                    self._fire(name, params=params)
                except SpecViolation:
                    continue
                out.append(name)
        finally:
            self.restore(here)
        return out

    def _probe_params(self, event: str) -> dict[str, Any]:
        """Valid arguments for trying an event, so that "allowed here" is about the state and
        not about a missing argument."""
        probe: dict[str, Any] = {
            "dial": {"remoteId": "sip:0"},
            "initialize": {"subscriberName": self.v.subscriber or "probe"},
            "postFeedback": {"rating": 3, "issue": "NO_ISSUE"},
            "sendDtmf": {"digit": "1"},
            "onAuthenticationFailure": {"error": "AUTHENTICATION_EXPIRED_TOKEN"},
        }.get(event, {})
        if event in ("actionFulfilled", "actionFailed"):
            probe = {"action": self.v.ck_pending}
        return probe

    def obligations(self) -> list[tuple[R.Rule, str]]:
        """What must still happen for the trace to be complete (--complete)."""
        owed: list[tuple[R.Rule, str]] = []
        cs = self.call_state
        if cs is not None and cs not in (CallState.ENDED,):
            owed.append((R.CALL_ENDED_TERMINAL, f"call {self.v.call_id or ''} is {cs.value}, not ENDED"))
        if self.v.ck_pending:
            owed.append((R.CK_ACTION_ONCE, f"{self.v.ck_pending} was neither fulfilled nor failed"))
        if self.v.hangup_owed:
            owed.append((R.CK_RESET, "providerDidReset, but the call was never hung up"))
        if self.v.missed_owed:
            n = self.v.missed_owed
            owed.append((R.SYS_RELAY_BUSY, f"{n} declined push{'es were' if n > 1 else ' was'} "
                         "never reported through onMissedCall"))
        if self.in_state("pk_open"):
            owed.append((R.CK_PUSH, "a VoIP push was never reported to CallKit"))
        # Only a CallKit call the app started for its own dial or answered, with an SDK call
        # of its own: a pushed call's CallKit entry whose SDK call never came (a push the SDK
        # could not take: onMissedCall), even one the user answered while the previous call
        # lay ENDED, has no guide text on how it ends, so nothing is owed for it.
        if self.v.ck_uuid is not None and self.v.ck_pending is None and cs is CallState.ENDED \
                and self.v.ck_has_call \
                and (self.in_state("ck_outgoing") or self.in_state("ck_active")):
            owed.append((R.CK_REPORT_ENDED, "the call ended, but its CallKit call was never "
                         "reported ended"))
        if self.v.ck_second:
            owed.append((R.CK_SECOND_CALL, f"the second CallKit call {self.v.ck_second} was "
                         "never ended"))
        if self.v.uploads:
            n = self.v.uploads
            owed.append((R.LOG_UPLOAD, f"{n} uploadLogs() call{'s were' if n > 1 else ' was'} "
                         "never answered"))
        if self.in_state("initializing"):
            owed.append((R.LC_INIT, "initialize() was never answered"))
        return owed


_NONE: frozenset[str] = frozenset()
_SOURCES: dict[type, dict[str, frozenset[str]] | None] = {}


def _event_sources(chart: type) -> dict[str, frozenset[str]] | None:
    """Event -> the states an edge for it leaves (every transition, tagged or not); None when
    an edge names events by a pattern (then every event is fired to see)."""
    if chart in _SOURCES:
        return _SOURCES[chart]
    idx: dict[str, set[str]] = {}
    pattern = False
    for state in chart.states_map.values():  # type: ignore[attr-defined]
        for t in state.transitions:
            for e in t.events:
                name = str(e)
                pattern = pattern or "*" in name or name.endswith(".")
                idx.setdefault(name, set()).add(t.source.value)
    got = None if pattern else {k: frozenset(v) for k, v in idx.items()}
    _SOURCES[chart] = got
    return got


_HOME_RULES: dict[tuple[type, str], tuple] = {}
_NEEDS: dict[tuple[type, str], str] = {}


def transitions_of(chart: type, event: str | None = None) -> Iterable[tuple[Any, TransitionSpec]]:
    """Every tagged transition of a chart (optionally for one event), in document order."""
    seen: set[int] = set()
    for state in chart.states_map.values():
        for t in state.transitions:
            spec = getattr(t, "spec", None)
            if spec is None or id(t) in seen:
                continue
            seen.add(id(t))
            if event is None or event in t.events:
                yield t, spec


def _region_of() -> dict[str, str]:
    out: dict[str, str] = {}

    def walk(state: Any, region: str) -> None:
        for child in getattr(state, "states", ()):
            out[child.value] = region
            walk(child, region)

    for region in ClientModel.client.states:  # type: ignore[attr-defined]
        walk(region, region.id)
    return out


REGION_OF = _region_of()
"""State value -> the region (a child of the parallel root) it is in."""


_IDS = ("call_id", "prev_call", "ck_uuid", "ck_second")


def _canonical_ids(snap: Snapshot) -> Snapshot:
    """The snapshot with its ids renamed in a fixed order (i0, i1, ...; a valid subscriber
    name s0, an invalid one kept), keeping which of them are equal and which are past calls;
    the other past calls become one marker. What the model does with ids is compare them and
    check a name's form, so a configuration and its renaming answer alike."""
    v = snap.vars
    names: dict[Any, str] = {}
    new = {}
    for f in _IDS:
        x = getattr(v, f)
        if x is not None:
            x = names.setdefault(x, f"i{len(names)}")
        new[f] = x
    past = frozenset(names[x] for x in v.past_calls if x in names)
    new["past_calls"] = past | ({"+"} if len(past) < len(v.past_calls) else frozenset())
    if v.subscriber is not None and subscriber_name_problem(v.subscriber) is None:
        new["subscriber"] = "s0"
    return Snapshot(snap.configuration, replace(v, **new))


_ANSWERING: dict[tuple[type, str], tuple[tuple[str, tuple[str, ...], dict[str, str]], ...]] = {}


def _answering(chart: type, cause: str) -> tuple[tuple[str, tuple[str, ...], dict[str, str]], ...]:
    """The tagged edges a network happening may take, in document order: (the state they
    leave, their events, the arguments the cause gives). on_network is asked for every
    happening a client's stack reports; walking every transition of the chart each time was
    most of what a reference client spent on it."""
    got = _ANSWERING.get((chart, cause))
    if got is None:
        got = _ANSWERING[(chart, cause)] = tuple(
            (t.source.value, tuple(str(e) for e in t.events), params)
            for t, spec in transitions_of(chart)
            if (params := spec.cause_params(cause)) is not None)
    return got


def event_kind(name: str) -> Kind | None:
    return OBSERVABLE_EVENTS.get(name)
