"""The validator's fast engine: transition tables compiled from the composed statechart.

A trace line is reduced to a *letter*: its kind and name, its result, and only the argument
facts the spec's guards read (is the dial message allowed? which CallEndReason? the active
CallKit UUID or another?). Ids (call ids, UUIDs, subscriber names) stay outside the tables,
in a small per-trace context, so the tables are finite and shared by every trace.

Sets of configurations are interned as integers; the table maps (set id, letter) to the next
set id. An entry is compiled the first time it is needed, each configuration's step taken on
the step memo (spec.charts.step: python-statemachine fires once per situation a letter meets,
what the step read); after that a line costs one dict lookup. The
reference judge (engine.Judge) interprets the same charts directly; property tests hold the
two to the same verdicts, and a violation found here is explained by re-running the judge.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import islice
from typing import Any, NamedTuple

from ..arguments import (
    dial_message_allowed,
    dtmf_problem,
    issue_problem,
    log_dates_problem,
    rating_problem,
    remote_id_problem,
    subscriber_name_problem,
)
from ..charts.callkit import frozen
from ..charts.calls import announced, call_ref_problem, detached_refusal
from ..charts import model as model_module
from ..charts.model import ClientModel, Snapshot
from ..charts.step import ACTIVE, NEW, POS, SECOND, Stepper, after, snapshot_of, state_of
from ..vocabulary import (
    CALLKIT_ACTIONS,
    CallAudioRoute,
    CallEndReason,
    CallIssue,
    CallState,
    ErrorType,
    INTERNAL_EVENTS,
    LogLevel,
)

Key = tuple
FAIL = -1
_UNSEEN = object()

_END_REASONS = frozenset(CallEndReason.names())
_ERRORS = frozenset(ErrorType.names())
_ISSUES = frozenset(CallIssue.names())
_ACTIONS = frozenset(CALLKIT_ACTIONS)
_CALL_STATES = frozenset(CallState.names())
_LEVELS = frozenset(LogLevel.names())
_ROUTES = frozenset(CallAudioRoute.names())
# representatives of the date facts log_dates_problem reads (ARG-LOG-DATES)
_DATE_START, _DATE_END, _DATE_BEFORE = "2020-01-02", "2020-01-03", "2020-01-01"


@dataclass
class TraceContext:
    """The per-trace ids the tables leave out."""

    current_call: str | None = None
    past_calls: set[str] = field(default_factory=set)  # grown in place: a trace with a
    # million calls must not copy them at each new call

    def start(self, call: str | None) -> None:
        """charts.calls.started, in place."""
        self.previous_call = self.current_call
        if self.current_call is not None:
            self.past_calls.add(self.current_call)
        self.current_call = call

    def restore(self) -> None:
        """charts.calls.restored, in place."""
        self.current_call = self.previous_call
        if self.previous_call is not None:
            self.past_calls.discard(self.previous_call)
    previous_call: str | None = None  # the ended call a relayed push may hand back (restore)
    active_uuid: str | None = None
    second_uuid: str | None = None  # a push-only second CallKit call (CK-SECOND-CALL)
    names: dict[str, str] = field(default_factory=dict)

    def take(self, step: "Step", call: str | None, uuid: str | None) -> None:
        """What a table step did to the ids the tables leave out: the call context (a new
        call, the previous one back, an announced one) and the CallKit UUIDs (bound, freed)."""
        eff = step.call_effect
        if eff is not None:
            if eff == "start":
                self.start(call)
            elif eff == "restore":
                self.restore()
            else:
                self.current_call = announced(self.current_call, call)
        eff = step.uuid_effect
        if eff is not None:
            uuid = frozen(uuid)  # as the chart keeps it (a list is no UUID, but may be one)
            if eff == "bind":
                self.active_uuid = uuid
            elif eff == "release":
                self.active_uuid = None
            elif eff == "bind2":
                self.second_uuid = uuid
            else:
                self.second_uuid = None


def _name_token(ctx: TraceContext, name: Any) -> Any:
    if not isinstance(name, str):
        return name if name is None else "!type"
    tok = ctx.names.get(name)
    if tok is None:
        prefix = "s" if subscriber_name_problem(name) is None else "!"
        tok = ctx.names[name] = f"{prefix}{len(ctx.names)}"
    return tok


def _enum_token(value: Any, members: frozenset[str]) -> Any:
    if isinstance(value, str) and value in members:  # (a list is no member, and unhashable)
        return value
    return "?" if value is not None else None


_DROP = object()


def _uuid_fact(v: Any, args: dict, ctx: TraceContext) -> Any:
    v = frozen(v)
    return (ACTIVE if v == ctx.active_uuid and v is not None else
            SECOND if v == ctx.second_uuid and v is not None else NEW)


def _end_date_fact(v: Any, args: dict, ctx: TraceContext) -> Any:
    return _DATE_END if log_dates_problem(args.get("startDate"), v) is None else _DATE_BEFORE


_FACT_OF: dict[str, Any] = {
    # argument -> (value, the line's arguments, the trace's ids) -> the fact its guards read
    "subscriberName": lambda v, a, c: _name_token(c, v),
    "remoteId": lambda v, a, c: "r" if remote_id_problem(v) is None else "",
    "message": lambda v, a, c: None if v is None else ("m" if dial_message_allowed(v) else "!"),
    "rating": lambda v, a, c: 3 if rating_problem(v) is None else 7,
    "issue": lambda v, a, c: v if issue_problem(v) is None else "?",
    "digit": lambda v, a, c: "1" if dtmf_problem(v) is None else "x",
    "endReason": lambda v, a, c: _enum_token(v, _END_REASONS),
    "error": lambda v, a, c: _enum_token(v, _ERRORS),
    "action": lambda v, a, c: _enum_token(v, _ACTIONS),
    "uuid": _uuid_fact,
    "startDate": lambda v, a, c: _DATE_START,
    "endDate": _end_date_fact,
    "level": lambda v, a, c: v if isinstance(v, str) and v in _LEVELS else "?",
    "muted": lambda v, a, c: v if isinstance(v, bool) else None,
    "onHold": lambda v, a, c: v if isinstance(v, bool) else None,
    "route": lambda v, a, c: v if isinstance(v, str) and v in _ROUTES else "?",
}
"""The one place an argument's fact is defined; every other argument is read by no guard."""

FACT_KEYS = frozenset(_FACT_OF)


def arg_fact(k: str, v: Any, args: dict, ctx: TraceContext) -> Any:
    """The fact the guards read from argument k (or _DROP when they read none)."""
    fn = _FACT_OF.get(k)
    return _DROP if fn is None else fn(v, args, ctx)


_CONTEXT_FACTS = frozenset({"subscriberName", "uuid", "endDate"})
"""The facts that read the trace's ids or another argument, not only their own value."""


class _Plan:
    """What canon_args does with one list of argument names: the ones a guard reads
    (sorted) and their fact functions, and, while their facts are functions of the values
    alone, the facts of the values met so far. Values of str, int or null only: equal
    values of those classes are the same value (True == 1 and 1 == 1.0 are why other
    classes are not kept). Most lines of a fleet repeat their arguments (an end reason, a log
    level, a route), so their facts cost one lookup; a list whose values hardly repeat (a
    dial message) stops being kept once it has met _DISTINCT of them."""

    __slots__ = ("keys", "fns", "pure", "memo")

    def __init__(self, names: tuple[str, ...]) -> None:
        self.keys = tuple(k for k in sorted(set(names)) if k in _FACT_OF)
        self.fns = tuple(_FACT_OF[k] for k in self.keys)
        self.pure = not _CONTEXT_FACTS.intersection(self.keys)
        self.memo: dict[tuple, tuple] | None = {} if self.pure else None


_PLANS: dict[tuple[str, ...], _Plan] = {}
"""A line's argument names, in its order -> its plan (a fleet's lines have a handful)."""


def by_value(args: dict) -> bool:
    """Whether the facts of these arguments depend on their values alone (not on the
    trace's ids): then the same arguments always give the same facts."""
    return _plan_of(tuple(args)).pure


def _plan_of(names: tuple[str, ...]) -> _Plan:
    plan = _PLANS.get(names)
    if plan is None:
        plan = _Plan(names)
        if len(_PLANS) < 10_000:
            _PLANS[names] = plan
    return plan


_SIMPLE = frozenset({str, int, type(None)})
_DISTINCT = 256


def canon_args(args: dict, ctx: TraceContext) -> tuple:
    """The argument facts the guards read, in a fixed order; everything else is dropped."""
    names = tuple(args)
    plan = _PLANS.get(names) or _plan_of(names)
    memo = plan.memo
    if memo is not None:
        vals = tuple([args[k] for k in plan.keys])
        for v in vals:
            if v.__class__ not in _SIMPLE:
                break
        else:
            got = memo.get(vals)
            if got is None:
                got = tuple([(k, fn(v, args, ctx)) for k, fn, v in zip(plan.keys, plan.fns, vals)])
                if len(memo) < _DISTINCT:
                    memo[vals] = got
                else:
                    plan.memo = None
            return got
    return tuple([(k, fn(args[k], args, ctx)) for k, fn in zip(plan.keys, plan.fns)])


_UUID, _UUID2 = POS["ck_uuid"], POS["ck_second"]


class TableLetter(NamedTuple):
    """A table letter as the step memo takes it (spec.charts.step.Letter)."""

    kind: str
    name: str
    result: str
    args: tuple

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.args)


_STEPPERS: list[Stepper] = []


def memo_probe(snap: Snapshot, probes: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """ClientModel.allowed_events' probes taken on the step memo: a configuration that agrees
    with one probed before on what a probe reads is answered without firing it (an
    explanation of a fleet's new finding probed some forty events, each fired)."""
    st = state_of(snap.configuration, snap.vars)
    memo = step_memo()
    # a probe's own arguments, not facts (it is asked of a configuration with ids): the memo
    # keys a step by what is fired, so a letter of the tables with the same ones is the same
    return [name for name, params in probes
            if memo.step(st, TableLetter("probe", name, "ok", tuple(sorted(params.items())))).ok]


model_module.PROBE[0] = memo_probe


def memo_closure(snaps: list[Snapshot]) -> dict[tuple, Snapshot]:
    """ClientModel.closure (the same walk, in the same order, by the same keys), each internal
    step taken on the step memo instead of fired: an explanation starts from a set the tables
    reached, whose unobserved steps the memo has met."""
    memo = step_memo()
    seen: dict[tuple, Snapshot] = {}
    todo = list(snaps)
    while todo:
        snap = todo.pop()
        k = (tuple(sorted(snap.configuration)), snap.vars.key())
        if k in seen:
            continue
        seen[k] = snap
        st = state_of(snap.configuration, snap.vars)
        for ev in INTERNAL_EVENTS:
            out = memo.step(st, TableLetter("internal", ev, "ok", ()))
            if out.ok:
                todo.append(snapshot_of(after(st, out) or st))
    return seen


def step_memo() -> Stepper:
    """This process's step memo (made when first needed: tables read from the cache may judge
    a whole fleet without it)."""
    if not _STEPPERS:
        _STEPPERS.append(Stepper(ClientModel, canonical_uuids=False))
    return _STEPPERS[0]


@dataclass(frozen=True, slots=True)
class Step:
    next_set: int
    closed: int  # next_set with every unobserved network step taken
    call_effect: str | None
    uuid_effect: str | None  # "bind", "release", "bind2", "release2", or None
    fired: frozenset[str]
    fired_by: tuple[tuple[Key, frozenset[str]], ...] = ()
    """The transitions each configuration of the set took, for coverage: a transition counts
    only from a configuration the trace is known to have been in (see FastJudge.open_sid)."""
    effects: bool = field(init=False, compare=False)
    """Something for TraceContext.take to do (read once per line by the hot loop)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "effects",
                           self.call_effect is not None or self.uuid_effect is not None)


class Tables:
    """Lazily compiled tables for one CallKit mode; one per process."""

    def __init__(self, callkit: bool, *, start: frozenset[Key] | None = None) -> None:
        self.callkit = callkit
        self.snaps: dict[Key, Snapshot] = {}
        self._sets: dict[frozenset[Key], int] = {}
        self.set_keys: list[frozenset[Key]] = []
        self._closed: dict[int, int] = {}
        self.steps: dict[tuple[int, tuple], Step | int] = {}
        self.state_filter: dict[tuple[int, str], int] = {}
        self._one: dict[tuple[Key, tuple], tuple | None] = {}  # (configuration, letter) -> step
        self._reach: dict[Key, frozenset[Key]] = {}  # configuration -> its closure
        self._open_filter: dict[tuple[int, str], int] = {}
        self._covered: dict[tuple[tuple, int], tuple[frozenset[str], frozenset[str]]] = {}
        self.shapes: dict = {}  # line shape -> shapes.Shape (or False), with steps in these tables
        self.names: dict = {}  # name -> stream._Name, the decoded-block loop's memo
        self.kept: dict[str, int] = {}  # the mark of what the cache's files hold (cache.py)
        self.start = self._intern(start if start is not None else frozenset({self._begin()}))

    @property
    def m(self) -> ClientModel:
        """A machine to read configurations on (filters, coverage, explanations): the step
        memo's, made when first needed (tables read from the cache may judge a whole fleet
        without it)."""
        return step_memo().machine(self.callkit)

    _STATE = ("snaps", "set_keys", "_closed", "steps", "state_filter", "_one", "_open_filter",
              "_covered", "_reach")
    SHARED = ("snaps", "_one", "_reach")
    """What is keyed by configurations alone, not by a process's set numbers (the expensive
    part: every python-statemachine run)."""

    def state(self) -> dict[str, Any]:
        """What was compiled, as plain data (cache.py keeps it between runs)."""
        return {"start": self.set_keys[self.start],
                **{name: getattr(self, name) for name in self._STATE}}

    def merge(self, state: dict[str, Any]) -> None:
        """Take what another process compiled: what is keyed by configurations (SHARED) as
        it is, and its set-numbered tables renumbered into this process's set numbers (a set
        is the same set of configurations whatever number a process gave it), so nothing
        another worker of the run compiled is compiled again."""
        for name in self.SHARED:
            mine = getattr(self, name)
            for k, v in state.get(name, {}).items():
                mine.setdefault(k, v)
        theirs = state.get("set_keys", [])
        ids = [self._intern(keys) for keys in theirs]

        def sid(x: int) -> int:
            return x if x == FAIL else ids[x]

        for (a, letter), st in state.get("steps", {}).items():
            key = (ids[a], letter)
            if key not in self.steps:
                self.steps[key] = st if st.__class__ is int else replace(
                    st, next_set=ids[st.next_set], closed=ids[st.closed])
        for a, b in state.get("_closed", {}).items():
            self._closed.setdefault(ids[a], ids[b])
        for (a, name), b in state.get("state_filter", {}).items():
            self.state_filter.setdefault((ids[a], name), sid(b))
        for (a, name), b in state.get("_open_filter", {}).items():
            self._open_filter.setdefault((ids[a], name), sid(b))
        for ((a, letter), o), v in state.get("_covered", {}).items():
            self._covered.setdefault(((ids[a], letter), ids[o]), v)

    def mark(self) -> dict[str, int]:
        """How far each table is filled now, for `delta` (cache.py marks what its file holds)."""
        return {name: len(getattr(self, name)) for name in self._STATE}

    def delta(self, mark: dict[str, int]) -> dict[str, Any]:
        """What was compiled after `mark`, in `state()`'s form (so `merge` and `from_state`
        take it): tables only grow and a dict keeps its insertion order, so the entries past
        the mark are the new ones; the sets they name are numbered afresh, first the start.
        A run that meets a few new situations writes those, not the whole tables again."""
        ids: dict[int, int] = {}
        keys: list[frozenset[Key]] = []

        def sid(x: int) -> int:
            if x == FAIL:
                return x
            got = ids.get(x)
            if got is None:
                got = ids[x] = len(keys)
                keys.append(self.set_keys[x])
            return got

        def new(name: str) -> Any:
            return islice(getattr(self, name).items(), mark.get(name, 0), None)

        sid(self.start)
        out: dict[str, Any] = {name: dict(new(name)) for name in self.SHARED}
        out["steps"] = {(sid(a), letter): st if st.__class__ is int else replace(
            st, next_set=sid(st.next_set), closed=sid(st.closed))
            for (a, letter), st in new("steps")}
        out["_closed"] = {sid(a): sid(b) for a, b in new("_closed")}
        for name in ("state_filter", "_open_filter"):
            out[name] = {(sid(a), state): sid(b) for (a, state), b in new(name)}
        out["_covered"] = {((sid(a), letter), sid(o)): v for ((a, letter), o), v in new("_covered")}
        out["start"] = self.set_keys[self.start]
        out["set_keys"] = keys
        return out

    @staticmethod
    def entries(state: dict[str, Any]) -> int:
        """How many entries a `state()` or `delta()` holds (its sets not counted)."""
        return sum(len(v) for k, v in state.items() if k not in ("start", "set_keys"))

    @classmethod
    def from_state(cls, callkit: bool, state: dict[str, Any]) -> "Tables":
        t = cls(callkit, start=state["start"])
        for name in cls._STATE:
            setattr(t, name, state[name])
        t._sets = {keys: sid for sid, keys in enumerate(t.set_keys)}
        t.start = t._intern(state["start"])
        return t

    def size(self) -> int:
        return len(self.steps) + len(self._one) + len(self.state_filter) + len(self.set_keys)

    def _intern(self, keys: frozenset[Key]) -> int:
        sid = self._sets.get(keys)
        if sid is None:
            sid = self._sets[keys] = len(self.set_keys)
            self.set_keys.append(keys)
        return sid

    def _begin(self) -> Key:
        """The key of the configuration a client of this mode starts in."""
        step_memo().start(self.callkit)
        return self._add()

    def _add(self) -> Key:
        """The scratch machine's configuration's key, kept in `snaps`."""
        k = self.m.key()
        if k not in self.snaps:
            self.snaps[k] = self.m.snapshot()
        return k

    def _add_state(self, st: tuple) -> Key:
        """The key of a flat configuration (spec.charts.step's State), kept in `snaps`."""
        snap = snapshot_of(st)
        k = (tuple(sorted(snap.configuration)), snap.vars.key())
        if k not in self.snaps:
            self.snaps[k] = snap
        return k

    def load(self, k: Key) -> ClientModel:
        """The scratch machine, put in configuration k."""
        self.m.restore(self.snaps[k])
        return self.m

    def closure(self, sid: int) -> int:
        """Every configuration reachable by unobserved network steps: the union of each
        configuration's own (a set's closure is its members' closures together)."""
        got = self._closed.get(sid)
        if got is not None:
            return got
        seen: set[Key] = set()
        for k in self.set_keys[sid]:
            reach = self._reach.get(k)
            if reach is None:
                reach = self._reach[k] = self._closure_of(k)
            seen |= reach
        out = self._closed[sid] = self._intern(frozenset(seen))
        self._closed[out] = out
        return out

    def step(self, sid: int, letter: tuple) -> Step | int:
        """(closed set, letter) -> Step, or FAIL when no configuration allows the line;
        compiled the first time, then kept in `steps` (the loops keep rows of their own in
        front of it, so this is their miss path)."""
        key = (sid, letter)
        got = self.steps.get(key)
        if got is None:
            got = self.steps[key] = self._compile_step(sid, letter)
        return got

    def _compile_step(self, sid: int, letter: tuple) -> Step | int:
        nxt: set[Key] = set()
        call_eff: str | None = None
        uuid_eff: str | None = None
        fired: set[str] = set()
        fired_by: list[tuple[Key, frozenset[str]]] = []
        for k in self.set_keys[sid]:
            one = self._one.get((k, letter), _UNSEEN)
            if one is _UNSEEN:
                one = self._one[(k, letter)] = self._step_one(k, letter)
            if one is None:
                continue
            nk, eff, bind, release, bind2, release2, took = one
            call_eff = call_eff or eff
            if bind:
                uuid_eff = "bind"
            elif release:
                uuid_eff = uuid_eff or "release"
            if bind2:
                uuid_eff = "bind2"
            elif release2:
                uuid_eff = uuid_eff or "release2"
            fired.update(took)
            fired_by.append((k, took))
            nxt.add(nk)
        if not nxt:
            return FAIL
        nsid = self._intern(frozenset(nxt))
        return Step(nsid, self.closure(nsid), call_eff, uuid_eff, frozenset(fired),
                    tuple(fired_by))

    def _closure_of(self, k: Key) -> frozenset[Key]:
        """Every configuration reachable from k by unobserved network steps (ClientModel.closure,
        on the step memo)."""
        seen: set[Key] = set()
        todo = [k]
        while todo:
            k1 = todo.pop()
            if k1 in seen:
                continue
            seen.add(k1)
            snap = self.snaps[k1]
            st = state_of(snap.configuration, snap.vars)
            for ev in INTERNAL_EVENTS:
                out = step_memo().step(st, TableLetter("internal", ev, "ok", ()))
                if out.ok:
                    todo.append(self._add_state(after(st, out) or st))
        return frozenset(seen)

    def _step_one(self, k: Key, letter: tuple) -> tuple | None:
        """One configuration's step on a letter (None: refused). A set's step is made of its
        configurations' steps, each taken on the step memo (spec.charts.step): the engine
        fires once per situation the letter meets, whatever configurations and sets it turns
        up in."""
        kind, name, result, args = letter
        snap = self.snaps[k]
        st = state_of(snap.configuration, snap.vars)
        out = step_memo().step(st, TableLetter(kind, name, result, args))
        if not out.ok:
            return None
        nst = list(after(st, out) or st)
        had_uuid = st[_UUID] is not None
        had_second = st[_UUID2] is not None
        bind = nst[_UUID] == NEW
        if bind:
            nst[_UUID] = ACTIVE
        release = not bind and had_uuid and nst[_UUID] is None
        bind2 = nst[_UUID2] == NEW
        if bind2:
            nst[_UUID2] = SECOND
        release2 = not bind2 and had_second and nst[_UUID2] is None
        return (self._add_state(tuple(nst)), out.call_effect, bind, release, bind2, release2,
                frozenset(out.fired))

    def covered(self, key: tuple, open_sid: int) -> tuple[frozenset[str], frozenset[str]]:
        """For coverage: the transitions a step took from where the trace had taken the
        client (a transition out of a state only an unobserved step could reach, EARLY, was
        not taken by the trace), and the leaf states it led to. Memoized: a pure function of
        the tables, asked once per step per trace."""
        got = self._covered.get((key, open_sid))
        if got is None:
            step = self.steps[key]
            seen = self.set_keys[open_sid]
            took = frozenset(tid for k, tids in step.fired_by if k in seen  # type: ignore[union-attr]
                             for tid in tids)
            leaves: set[str] = set()
            for k in self.set_keys[step.next_set]:  # type: ignore[union-attr]
                leaves.update(self.load(k).leaf_states())
            got = self._covered[(key, open_sid)] = (took, frozenset(leaves))
        return got

    def narrow(self, sid: int, state: str) -> int:
        """A `state` line: keep the configurations whose call is in that CallState (kept in
        `state_filter`)."""
        got = self.state_filter.get((sid, state))
        if got is None:
            kept = self.narrow_open(sid, state)
            got = self.state_filter[(sid, state)] = (self.closure(kept) if kept != FAIL
                                                      else FAIL)
        return got

    def narrow_open(self, sid: int, state: str) -> int:
        """The configurations a `state` line keeps, before any unobserved step: the client
        was seen in them."""
        got = self._open_filter.get((sid, state))
        if got is None:
            got = self._open_filter[(sid, state)] = self._narrow_open(sid, state)
        return got

    def _narrow_open(self, sid: int, state: str) -> int:
        kept = set()
        for k in self.set_keys[sid]:
            m = self.load(k)
            if m.call_state is not None and m.observe(state):  # ENDING may be a dropped call
                kept.add(self._add())
        return self._intern(frozenset(kept)) if kept else FAIL


@dataclass
class FastResult:
    ok: bool
    line: int = 0  # the first line that leaves no configuration (0 when ok)
    incomplete: bool = False


class FastJudge:
    """Feeds one trace through the tables."""

    def __init__(self, tables_by_mode: dict[bool, Tables], *, callkit: bool, complete: bool,
                 coverage: dict | None = None) -> None:
        self._tables_by_mode = tables_by_mode
        self.force_callkit = callkit
        self.complete = complete
        self.tables: Tables | None = None
        self.sid = -1
        self.ctx = TraceContext()
        self.failed_at = 0
        self.failed_set = -1  # the closed set of configurations the failing line met
        self.coverage = coverage
        self.open_sid = -1
        """With coverage: the configurations the latest line led to before any unobserved
        network step, i.e. where the trace is known to have been (EARLY, reached only by an
        unobserved step, is not somewhere the trace took the client)."""

    def _start(self, callkit: bool) -> None:
        t = self._tables_by_mode.get(callkit)
        if t is None:
            t = self._tables_by_mode[callkit] = Tables(callkit)
        self.tables = t
        self.sid = t.closure(t.start)
        self.open_sid = t.start

    def feed(self, lineno: int, d: dict) -> bool:
        """Apply one parsed line; False at the first line the spec does not allow.

        Invariant: `self.sid` is a closed set (every unobserved network step already taken),
        so a line costs one table lookup; this loop is the validator's hot path."""
        kind = d["kind"]
        t = self.tables
        if t is None:
            if kind == "meta":
                ck = (d.get("args") or {}).get("callkit")
                self._start(bool(ck) if ck is not None else self.force_callkit)
                return True
            self._start(self.force_callkit)
            t = self.tables
            assert t is not None
        elif kind == "meta":
            return True
        name = d["name"]
        call = d.get("call")
        ctx = self.ctx
        if kind == "state":
            if call is not None and ctx.current_call is not None and call != ctx.current_call:
                return self._fail(lineno)
            nsid = t.narrow(self.sid, name)
            if nsid == FAIL:
                return self._fail(lineno)
            if self.coverage is not None:
                self.open_sid = t.narrow_open(self.sid, name)
            self.sid = nsid
            return True
        res = d.get("result", "ok")
        result = res if res == "ok" else res["error"]
        if call is not None and call_ref_problem(name, call, result, ctx.current_call,
                                                 ctx.past_calls) is not None:
            return self._fail(lineno)
        if detached_refusal(name, call, result, ctx.current_call, ctx.past_calls):
            return True
        args = d.get("args")
        key = (self.sid, (kind, name, result, canon_args(args, ctx) if args else ()))
        st = t.step(*key)
        if st == FAIL:
            return self._fail(lineno)
        if self.coverage is not None:
            ck = (t.callkit, key, self.open_sid)
            self.coverage[ck] = self.coverage.get(ck, 0) + 1
            self.open_sid = st.next_set  # type: ignore[union-attr]
        self.sid = st.closed  # type: ignore[union-attr]
        if st.call_effect is not None or st.uuid_effect is not None:  # type: ignore[union-attr]
            ctx.take(st, call, args.get("uuid") if args else None)  # type: ignore[arg-type]
        return True

    def _fail(self, lineno: int) -> bool:
        self.failed_at = lineno
        self.failed_set = self.sid
        return False

    def seed(self) -> tuple[bool, list[Snapshot]]:
        """The configurations the failing line met (or the trace ended in), with the trace's
        real ids put back, so the reference judge can explain the finding from there."""
        t = self.tables
        assert t is not None
        sid = self.failed_set if self.failed_at else self.sid
        names = {tok: real for real, tok in self.ctx.names.items()}
        out = []
        for k in t.set_keys[sid]:
            snap = t.snaps[k]
            v = replace(snap.vars, call_id=self.ctx.current_call, past_calls=frozenset(self.ctx.past_calls),
                        ck_uuid=self.ctx.active_uuid if snap.vars.ck_uuid else None,
                        ck_second=self.ctx.second_uuid if snap.vars.ck_second else None,
                        prev_call=self.ctx.previous_call if snap.vars.prev_ended else None,
                        subscriber=names.get(snap.vars.subscriber, snap.vars.subscriber))
            out.append(Snapshot(snap.configuration, v))
        return t.callkit, out

    def finish(self) -> bool:
        """True when --complete is satisfied (or not asked for)."""
        if not self.complete or self.tables is None or self.failed_at:
            return True
        t = self.tables
        return any(not t.load(k).obligations() for k in t.set_keys[self.sid])
