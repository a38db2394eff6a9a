"""One letter's step from one configuration, fired once per values of what it reads.

python-statemachine selects a transition by looking only at the regions that have an edge for
the event, and the guards and actions read the rest of the configuration through the model's
data (`Vars` fields), `in_state` and `call_state`. A step is therefore a function of what it
reads. It is fired once with those reads recorded, and its outcome (the states and data it
wrote, the transitions and rules it took, or the rules that refused it) is kept under the
values it read; a configuration that agrees on them takes the same step, because the engine,
the guards and the actions are deterministic functions of what they read, so the outcome is
applied to it without firing. `exovoice check` and the validator's table compiler thus fire
the engine once per distinct situation a letter meets, not once per configuration it is
tried in (on a fleet of a million unusual lines, 135 fires for 3,734 steps).

The model class must read its configuration through `in_state` and `call_state` (ClientModel
does; its `leaf_states`, which reads all of it, only words messages). Every fired step checks
that applying its recorded outcome to the configuration it came from gives exactly what the
engine gave, so an action that writes behind the recorder's back fails loudly (a field's
value is replaced, never changed in place: Vars holds immutable values).

A configuration is held flat, as a `State`: the active state of each region, then each `Vars`
field, so that what a step read is picked out, and what it wrote put in, by position.

CallKit UUIDs are symbols (ACTIVE, SECOND, NEW: the model only compares UUIDs for equality).
For `check` they are kept canonical after each step: the active call's is always A and the
second call's S (every letter is tried with each of A, S and N, so renaming them loses
nothing); a move says which symbol each of them came from, so a counterexample writer can
follow the real UUIDs. The validator keeps them as the step wrote them and renames what it
binds itself (its trace context holds the real UUIDs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from functools import cache
from operator import itemgetter
from typing import Any, Protocol

from ..base import SpecViolation
from .model import READS, REGION_OF, ClientModel, Snapshot, Vars, transitions_of

ACTIVE, SECOND, NEW = "A", "S", "N"
"""Symbolic CallKit UUIDs: the active call's, the push-only second call's, and any other."""


class Letter(Protocol):
    """What a step is asked with (spec.check.alphabet.Letter, or the validator's letter)."""

    name: str
    result: str
    args: tuple[tuple[str, Any], ...]

    @property
    def params(self) -> dict[str, Any]: ...

State = tuple  # the active state of each region (REGIONS order), then each Vars field


REGIONS = tuple(r.id for r in ClientModel.client.states)  # type: ignore[attr-defined]
FIELD_NAMES = tuple(f.name for f in fields(Vars))
_FIELDS = frozenset(FIELD_NAMES)
RPOS = {r: n for n, r in enumerate(REGIONS)}  # region -> its index in a State
POS = {f: len(REGIONS) + n for n, f in enumerate(FIELD_NAMES)}  # Vars field -> its index
_ORDER = {s.value: n for n, s in enumerate(ClientModel.states_map.values())}
_ALL = tuple(range(len(REGIONS) + len(FIELD_NAMES)))


def state_of(configuration: Any, v: Vars) -> State:
    regs = [""] * len(REGIONS)
    for s in configuration:
        r = REGION_OF.get(s)
        if r is not None:
            regs[RPOS[r]] = s
    d = v.__dict__
    return tuple(regs) + tuple([d[f] for f in FIELD_NAMES])


_ID_OF = {s.value: s.id for s in ClientModel.states_map.values()}


def leaves_of(st: State) -> list[str]:
    """The active atomic state (its id) of every region, in document order: what
    ClientModel.leaf_states() answers in that configuration."""
    return [_ID_OF[x] for x in st[:len(REGIONS)]]


def snapshot_of(st: State) -> Snapshot:
    """The model snapshot of a flat state (its configuration in document order)."""
    n = len(REGIONS)
    root = ClientModel.client.value  # type: ignore[attr-defined]
    conf = [root] + [x for r, leaf in zip(REGIONS, st[:n]) for x in (r, leaf)]
    v = object.__new__(Vars)
    v.__dict__.update(zip(FIELD_NAMES, st[n:]))
    return Snapshot(tuple(sorted(conf, key=_ORDER.__getitem__)), v)


@cache
def engine_regions(event: str) -> frozenset[int]:
    """The positions of the regions whose active state the engine looks at to select
    `event`'s transitions: those with a state that has an edge for it (any edge, tagged or
    not); every region for an edge it cannot place."""
    out: set[int] = set()
    for state in ClientModel.states_map.values():
        for t in state.transitions:
            if not t.initial and event in t.events:
                r = REGION_OF.get(state.value)
                out.update(_ALL if r is None else (RPOS[r],))
    return frozenset(out)


class _Reads:
    """What the step being fired read (positions in the flat state) and wrote (Vars fields):
    the model's in_state and call_state tell it (model.READS), TrackedVars its fields."""

    __slots__ = ("read", "writes")

    def __init__(self, read: frozenset[int]) -> None:
        self.read: set[int] = set(read)
        self.writes: dict[str, Any] = {}

    def state(self, state_id: str) -> None:
        r = REGION_OF.get(state_id)
        self.read.update(_ALL if r is None else (RPOS[r],))

    def call(self) -> None:
        self.read.add(RPOS["call"])


class TrackedVars(Vars):
    """Vars whose field reads and writes are recorded while a step is fired."""

    def __getattribute__(self, name: str) -> Any:
        rec = READS[0]  # the step being recorded (one per process at a time)
        if rec is not None and name in _FIELDS:
            rec.read.add(POS[name])
        return object.__getattribute__(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        rec = READS[0]
        if rec is not None:
            rec.writes[name] = value
        object.__setattr__(self, name, value)


@dataclass(frozen=True)
class Outcome:
    """What one letter does from a configuration: refused (with the rules its guards cited),
    or what it wrote (by position in the flat state) and what the move took."""

    ok: bool
    cited: tuple[str, ...] = ()
    writes: tuple[tuple[int, Any], ...] = ()
    fired: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    call_effect: str | None = None
    uuid_effect: tuple[str | None, str | None] | None = None  # (active's, second's) symbol


def after(st: State, out: Outcome) -> State | None:
    """The state `out` leads to from `st`, or None when that is `st` itself."""
    changed = [(p, val) for p, val in out.writes if st[p] != val]
    if not changed:
        return None
    nxt = list(st)
    for p, val in changed:
        nxt[p] = val
    return tuple(nxt)


_Sig = tuple[Callable[[State], Any], tuple[int, ...], dict]


class Stepper:
    """Steps of one model class, memoized by what each read (shared by every slice, mode
    and property that asks)."""

    def __init__(self, model: type[ClientModel] = ClientModel, *,
                 canonical_uuids: bool = True) -> None:
        self.model = model
        self.canonical_uuids = canonical_uuids
        self.machines: dict[bool, ClientModel] = {}
        self.initial: dict[bool, Snapshot] = {}  # each machine's first configuration
        # letter -> (the engine regions' getter, their values -> signatures tried in turn)
        self.memo: dict[tuple[str, str, tuple], tuple[Callable[[State], Any],
                                                      dict[Any, list[_Sig]]]] = {}
        self.learned: list[tuple] = []  # every memo entry, in order, for learn() elsewhere
        self.fires = 0  # steps the engine took
        self.steps = 0  # steps asked for (fired or applied from the memo)

    def step(self, st: State, letter: Letter) -> Outcome:
        """What `letter` does from `st`."""
        self.steps += 1
        lk = (letter.name, letter.result, letter.args)
        hit = self._recall(lk, st)
        if hit is not None:
            return hit
        out, read = self._fire(st, letter)
        self._keep(lk, read, st, out)
        return out

    def query(self, st: State, name: str, fn: Callable[[ClientModel], Any]) -> Any:
        """`fn` (which must change nothing) asked of the model in `st`, memoized by what it
        read as steps are: the properties' facts about each configuration."""
        lk = ("?", name, ())
        hit = self._recall(lk, st)
        if hit is not None:
            return hit[0]
        m = self._machine(st)
        rec = self._track(m, frozenset())
        try:
            got = fn(m)
        finally:
            self._untrack(m)
        if rec.writes:
            raise RuntimeError(f"check: the query {name} changed the model")
        self._keep(lk, tuple(sorted(rec.read)), st, (got,))
        return got

    def _recall(self, lk: tuple, st: State) -> Any:
        got = self.memo.get(lk)
        if got is None:
            return None
        first, by_engine = got
        sigs = by_engine.get(first(st))
        for n, (get, _pos, table) in enumerate(sigs or ()):
            hit = table.get(get(st))
            if hit is not None:
                if n:  # the signature that answered goes first next time
                    sigs.insert(0, sigs.pop(n))  # type: ignore[union-attr]
                return hit
        return None

    def _keep(self, lk: tuple, read: tuple[int, ...], st: State, value: Any) -> None:
        """Remember `value` under what was read: first by the engine's own regions (part of
        every read of a step), then by the rest."""
        first, _by_engine = self._letter(lk)
        get = itemgetter(*read) if read else _nothing
        entry = (lk, read, first(st), get(st), value)
        self._put(*entry)
        self.learned.append(entry)

    def learn(self, entries: list[tuple]) -> None:
        """Take memo entries another process kept (its `learned`, as the validator's cache
        holds them): a step fired there is applied here without firing. An entry is a pure
        function of the spec, which the cache's name already pins."""
        for entry in entries:
            if self._put(*entry):
                self.learned.append(entry)

    def _letter(self, lk: tuple) -> tuple[Callable[[State], Any], dict[Any, list[_Sig]]]:
        got = self.memo.get(lk)
        if got is None:
            engine = tuple(sorted(engine_regions(lk[0]))) if lk[0] != "?" else ()
            got = self.memo[lk] = (itemgetter(*engine) if engine else _nothing, {})
        return got

    def _put(self, lk: tuple, read: tuple[int, ...], engine_values: Any, read_values: Any,
             value: Any) -> bool:
        """One entry into the memo; False when it held it already."""
        sigs = self._letter(lk)[1].setdefault(engine_values, [])
        for _get, pos, table in sigs:
            if pos == read:
                break
        else:
            table = {}
            sigs.insert(0, (itemgetter(*read) if read else _nothing, read, table))
        if read_values in table:
            return False
        table[read_values] = value
        return True

    def machine(self, callkit: bool) -> ClientModel:
        """This memo's machine of a CallKit mode, lent to whoever needs one (the validator's
        tables and its explanations): building one costs over ten milliseconds, and every
        user restores a configuration into it before reading it (outside a fire it is a
        plain ClientModel: nothing is recorded)."""
        m = self.machines.get(callkit)
        if m is None:
            m = self.machines[callkit] = self.model(callkit=callkit)
            self.initial[callkit] = m.snapshot()
        return m

    def start(self, callkit: bool) -> ClientModel:
        """The machine of a mode, put in the configuration a new client starts in."""
        m = self.machine(callkit)
        m.restore(self.initial[callkit])
        return m

    def _machine(self, st: State) -> ClientModel:
        m = self.machine(st[POS["callkit"]])
        m.restore(snapshot_of(st))
        return m

    @staticmethod
    def _track(m: ClientModel, read: frozenset[int]) -> _Reads:
        m.v.__class__ = TrackedVars
        rec = READS[0] = _Reads(read)
        return rec

    @staticmethod
    def _untrack(m: ClientModel) -> None:
        READS[0] = None
        m.v.__class__ = Vars

    def _fire(self, st: State, letter: Letter) -> tuple[Outcome, tuple[int, ...]]:
        m = self._machine(st)
        rec = self._track(m, engine_regions(letter.name))
        self.fires += 1
        try:
            out = _take(m, letter, rec, self.canonical_uuids)
        finally:
            self._untrack(m)
        if out.ok:
            got = state_of(m.configuration_values, m.v)
            if (after(st, out) or st) != got:
                raise RuntimeError(f"check: the step {letter} changed model data the recorder "
                                   "did not see; a model must change its data through Vars "
                                   "fields and its states through transitions")
        return out, tuple(sorted(rec.read))


def _nothing(_st: State) -> tuple:
    return ()


def _take(m: ClientModel, letter: Letter, rec: _Reads, canonical: bool = True) -> Outcome:
    """Fire `letter` on `m` (its reads recorded in `rec`) and say what happened."""
    refusals: list[str] = []
    if letter.result != "ok":
        # every refusal rule that allows this result, read on the configuration it left (a
        # rule that lists no ErrorType allows any: AUDIO-BT beside API-ENVIRONMENT)
        refusals = [r.rule.id for r, _why in m.applicable_refusals(letter.name, letter.params)
                    if r.errors is None or letter.result in r.errors]
    before = set(m.configuration_values)
    try:
        m._fire(letter.name, result=letter.result, params=letter.params)
    except SpecViolation as e:
        return Outcome(False, cited=tuple(dict.fromkeys(r.id for r in e.rules)))
    uuid_effect = None
    if canonical and ("ck_uuid" in rec.writes or "ck_second" in rec.writes):
        raw = (m.v.ck_uuid, m.v.ck_second)
        m.v.ck_uuid = ACTIVE if raw[0] is not None else None
        m.v.ck_second = SECOND if raw[1] is not None else None
        uuid_effect = raw
    writes = [(RPOS[REGION_OF[s]], s) for s in m.configuration_values
              if s not in before and s in REGION_OF]
    writes += [(POS[f], val) for f, val in rec.writes.items()]
    rules = [TRANSITION_RULE[f] for f in m.fired if f in TRANSITION_RULE]
    rules += refusals
    return Outcome(True, writes=tuple(sorted(writes, key=lambda w: w[0])), fired=tuple(m.fired),
                   rules=tuple(dict.fromkeys(rules)), call_effect=m.call_effect,
                   uuid_effect=uuid_effect)


def _transition_rules() -> dict[str, str]:
    from ..base import transition_id

    return {transition_id(t): spec.rule.id for t, spec in transitions_of(ClientModel)}


TRANSITION_RULE = _transition_rules()
