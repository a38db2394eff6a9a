"""One exploring session against a client, and the spec's view of it.

The session is a ScenarioContext (the conformance driver: catalogue checks, causal order,
bounded waits) plus the validator's compiled judge fed line by line as the trace grows, so
every step is judged when it happens. The judge's current set of configurations is also the
oracle: which network happenings the spec has an edge for here, what it owes after one (a
callback that must come without any further input: quiescence is judged with a bound), and
which transitions an input would take (for generators that steer to what is not covered).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from ..base import SpecViolation, transition_id
from ..charts.model import ClientModel, transitions_of
from ..conform.context import ProtocolError, ScenarioContext
from .. import rules as R
from ..rules import RULES
from ..charts.step import ACTIVE, state_of
from ..validate.compiled import FAIL, FastJudge, TableLetter, Tables, step_memo
from ..vocabulary import INTERNAL_EVENTS, CallState
from .inputs import Input, usable

_CALL_STATES = frozenset(CallState.names())
_TABLES: dict[bool, Tables] = {}  # compiled lazily, shared by every session of the process
WAIT = 1.0  # bound for a callback the spec owes after a step
# What the app owes by itself, with no input from the network, the phone or the user: after
# every step it must come within WAIT, with the Then step a scenario checks it by. (Other
# obligations of --complete wait on someone else: a call still ringing ends when the network
# says so.)
SELF_OWED: dict[str, str] = {R.CK_REPORT_ENDED.id: "CallKit gets reportCallEnded"}


class Finding(Exception):
    """The client did something the spec does not allow, or left out what it owes."""

    def __init__(self, kind: str, rule: str, section: str, message: str, line: int = 0) -> None:
        super().__init__(f"{rule} (guide {section}): {message}")
        self.kind = kind  # violation | quiescence | step | protocol
        self.rule = rule
        self.section = section
        self.message = message
        self.line = line
        self.steps: list[str] = []
        self.trace = ""
        self.callkit = False
        self.then: str | None = None  # the scenario's Then step, when not "the app gets X"


@dataclass
class Memory:
    """What the generators remember across sessions: transitions covered, inputs tried from a
    set of configurations, and where they led."""

    covered: set[str] = field(default_factory=set)
    tried: set[tuple[int, str]] = field(default_factory=set)
    graph: dict[int, dict[str, int]] = field(default_factory=dict)
    pairs: set[tuple[str, str]] = field(default_factory=set)  # (step, next step) in a live call

    def copy(self) -> "Memory":
        return Memory(set(self.covered), set(self.tried),
                      {k: dict(v) for k, v in self.graph.items()}, set(self.pairs))

    def merge(self, other: "Memory") -> None:
        self.covered |= other.covered
        self.tried |= other.tried
        self.pairs |= other.pairs
        for k, v in other.graph.items():
            self.graph.setdefault(k, {}).update(v)


class Oracle:
    """Answers about one CallKit mode's tables, cached by set of configurations."""

    def __init__(self, tables: Tables) -> None:
        self.t = tables
        self._answers: dict[tuple[int, str], tuple[bool, frozenset[str], tuple[str, ...]]] = {}
        self._predict: dict[tuple[int, str], frozenset[str]] = {}
        self._ck: dict[int, bool] = {}
        self._enabled: dict[tuple[int, tuple[Input, ...]], list[Input]] = {}
        self._owed: dict[int, tuple[str, str] | None] = {}

    def answers(self, sid: int, cause: str) -> tuple[bool, frozenset[str], tuple[str, ...]]:
        """(every configuration owes a callback, the callbacks it may be, their rules) for a
        network happening; the names are empty when no configuration has an edge for it."""
        key = (sid, cause)
        got = self._answers.get(key)
        if got is not None:
            return got
        owed = True
        names: set[str] = set()
        rules: list[str] = []
        for k in self.t.set_keys[sid]:
            m = self.t.load(k)
            res = m.on_network(cause)
            if res is None:
                owed = False
                continue
            event = res[0]
            if event in INTERNAL_EVENTS:
                owed = False
                names.add(event)
                continue
            names.add(event)
            for tr, spec in transitions_of(ClientModel, event):
                if spec.cause_params(cause) is not None:
                    rules.append(spec.rule.id)
        got = self._answers[key] = (owed and bool(names), frozenset(names),
                                    tuple(dict.fromkeys(rules)))
        return got

    def self_owed(self, sid: int) -> tuple[str, str] | None:
        """A SELF_OWED obligation every configuration of the set has, with its message."""
        if sid in self._owed:
            return self._owed[sid]
        common: dict[str, str] | None = None
        for k in self.t.set_keys[sid]:
            got = {rule.id: msg for rule, msg in self.t.load(k).obligations()
                   if rule.id in SELF_OWED}
            common = got if common is None else {r: m for r, m in common.items() if r in got}
            if not common:
                break
        out = self._owed[sid] = next(iter(common.items())) if common else None
        return out

    def had_call(self, sid: int) -> bool:
        key = (sid, "had-call")
        got = self._predict.get(key)
        if got is None:
            got = self._predict[key] = frozenset(
                {"yes"} if all(any(c in _CALL_STATES for c in self.t.snaps[k].configuration)
                               for k in self.t.set_keys[sid]) else ())
        return bool(got)

    def has_callkit_call(self, sid: int) -> bool:
        got = self._ck.get(sid)
        if got is None:
            # one CallKit call, not a second beside it: the step library acts on the latest
            # reported call, which is the active one only while it is the only one
            got = self._ck[sid] = any(self.t.snaps[k].vars.ck_uuid is not None
                                      for k in self.t.set_keys[sid]) and all(
                self.t.snaps[k].vars.ck_second is None for k in self.t.set_keys[sid])
        return got

    def enabled(self, sid: int, inputs: tuple[Input, ...]) -> list[Input]:
        key = (sid, inputs)
        got = self._enabled.get(key)
        if got is None:
            got = self._enabled[key] = self._enabled_now(sid, inputs)
        return got

    def _enabled_now(self, sid: int, inputs: tuple[Input, ...]) -> list[Input]:
        out = []
        for i in inputs:
            if i.kind == "network" and i.cause and not self.answers(sid, i.cause)[1]:
                continue
            if i.gate == "callkit-call" and not (self.has_callkit_call(sid)
                                                 and self.world_allows(sid, i)):
                continue  # CallKit offers no "accept" for a call it shows as outgoing
            if i.gate == "call" and not self.had_call(sid):
                continue  # getLatestCallDetails() has no call to describe before the first
            if i.kind == "phone" and not self.world_allows(sid, i):
                continue  # the phone cannot answer a PSTN call that is not ringing
            out.append(i)
        return out

    def world_allows(self, sid: int, inp: Input) -> bool:
        """Whether some configuration has an edge for what the world does here: the phone (an
        env event) or the CallKit user (an action on the active CallKit call)."""
        key = (sid, "world:" + inp.phrase)
        got = self._predict.get(key)
        if got is None:
            params = dict(inp.args)
            if inp.kind == "callkit":
                params["uuid"] = ACTIVE  # the active CallKit call (the tables' token)
            letter = TableLetter(inp.kind, str(inp.op), "ok", tuple(sorted(params.items())))
            ok = False
            for k in self.t.set_keys[sid]:
                snap = self.t.snaps[k]
                # on the step memo: the engine fires once per situation the step reads
                if step_memo().step(state_of(snap.configuration, snap.vars), letter).ok:
                    ok = True
                    break
            got = self._predict[key] = frozenset({"ok"}) if ok else frozenset()
        return bool(got)

    def predict(self, sid: int, inp: Input) -> frozenset[str]:
        """The transitions the spec takes for the input's own event here (not what follows)."""
        key = (sid, inp.phrase)
        got = self._predict.get(key)
        if got is not None:
            return got
        fired: set[str] = set()
        for k in self.t.set_keys[sid]:
            m = self.t.load(k)
            try:
                if inp.kind in ("network", "control") and inp.cause:
                    if m.on_network(inp.cause) is None:
                        continue
                elif inp.op:
                    m._fire(inp.op, params=dict(inp.args))
                else:
                    continue
            except SpecViolation:
                continue
            fired.update(m.fired)
        got = self._predict[key] = frozenset(fired)
        return got


class Session:
    """A fresh client instance driven step by step, judged as it goes."""

    def __init__(self, factory: Callable[[], Any], *, callkit: bool, label: str,
                 unsupported: set[str], wait: float = WAIT) -> None:
        self.ctx = ScenarioContext(factory, client_label=label)
        self.ctx.use_callkit(callkit)
        self.callkit = callkit
        self.wait = wait
        self.unsupported = unsupported
        try:
            self.ctx.client()
        except ProtocolError as e:
            raise Finding("handshake", "ADAPTER", "-", str(e)) from e
        self.inputs = usable(self.ctx.caps, callkit)
        self.judge = FastJudge(_TABLES, callkit=callkit, complete=False, coverage={})
        self._fed = 0
        self._last: Any = None
        self._cov_seen: set = set()
        self.covered: set[str] = set()
        self.last: str | None = None  # the last step the spec accepted in a live call
        self.pairs: set[tuple[str, str]] = set()  # (that step, the next one)
        self.steps: list[Input] = []
        self._feed()
        assert self.judge.tables is not None
        self.oracle = oracles(self.judge.tables)

    @property
    def sid(self) -> int:
        return self.judge.sid

    def enabled(self) -> list[Input]:
        return [i for i in self.oracle.enabled(self.sid, self.inputs)
                if i.phrase not in self.unsupported]

    def close(self) -> None:
        self.ctx.close()

    # --- judging ----------------------------------------------------------------------
    def _feed(self) -> int:
        """Feed the lines the trace gained; 0 when all conform, else the failing line."""
        rec = self.ctx.recorder
        assert rec is not None
        lines = rec.lines
        if self._fed and (len(lines) < self._fed or lines[self._fed - 1] is not self._last):
            # a late event was placed before lines already judged: judge again from the start
            self.judge = FastJudge(_TABLES, callkit=self.callkit, complete=False, coverage={})
            self._fed = 0
            self._cov_seen = set()
        for i in range(self._fed, len(lines)):
            if not self.judge.feed(i + 1, lines[i]):
                return i + 1
        self._fed = len(lines)
        self._last = lines[-1] if lines else None
        self._take_coverage()
        return 0

    def _take_coverage(self) -> None:
        cov = self.judge.coverage
        if not cov:
            return
        for key in cov.keys() - self._cov_seen:
            self._cov_seen.add(key)
            mode, letter_key, open_sid = key
            self.covered.update(_TABLES[mode].covered(letter_key, open_sid)[0])

    def _took(self, inp: Input, before: int, live: bool) -> None:
        """Pair the step just taken with the last one the spec accepted, while the call was
        live before or after each; a step the spec refuses changes nothing, so the one after
        it is paired with that same last accepted step."""
        if not live:
            self.last = None
            return
        if self.last is not None:
            self.pairs.add((self.last, inp.phrase))
        if accepts(self.oracle.predict(before, inp)):
            self.last = inp.phrase

    def live(self) -> bool:
        """Whether the call is live (established, or its media lost or renewing) in every
        configuration the client may be in."""
        t = self.judge.tables
        return t is not None and self.sid >= 0 and all(
            any(c in _LIVE for c in t.snaps[k].configuration) for k in t.set_keys[self.sid])

    def _violation(self) -> Finding:
        verdict = self.ctx.judge()
        assert verdict is not None
        v = verdict.violation
        if v is None:
            return Finding("violation", "TRACE", "-", verdict.explain())
        return Finding("violation", v.rule, v.section, v.message, v.line)

    # --- one step -----------------------------------------------------------------------
    def step(self, inp: Input) -> bool:
        """Perform one input and judge what followed; False when the client cannot take it
        (it is then left out of the run). Raises Finding."""
        ctx = self.ctx
        ctx.drain()
        pos = ctx.here()
        ctx.mark = pos
        if ctx.first_when is None:
            ctx.first_when = pos
        before = self.sid
        live = self.live()
        owed: tuple[bool, frozenset[str], tuple[str, ...]] | None = None
        if inp.cause and inp.kind == "network":
            # a network happening is definite (the 486 arrived): what the spec answers to it
            # is owed. A platform control is not: whether the platform tells the client
            # depends on what the client did with it (registered or not)
            owed = self.oracle.answers(before, inp.cause)
        try:
            inp.perform(ctx)
        except pytest.skip.Exception:
            self.unsupported.add(inp.phrase)
            return False
        except ProtocolError as e:
            raise self._found(Finding("protocol", "ADAPTER", "-", str(e)), inp)
        except AssertionError as e:
            bad = self._feed()
            if bad:
                raise self._found(self._violation(), inp)
            raise self._found(Finding("step", "STEP", "-", str(e).splitlines()[0]), inp)
        except Exception as e:  # noqa: BLE001 - an in-process client raised: its failure
            first = (str(e).splitlines() or [""])[0]
            raise self._found(Finding("error", "CLIENT", "-",
                                      f"the client raised {type(e).__name__}: {first}"), inp)
        self.steps.append(inp)
        if owed is not None and owed[0]:
            names = tuple(sorted(owed[1]))
            if ctx.wait_for(names, since=pos, timeout=self.wait) is None:
                bad = self._feed()
                if bad:
                    raise self._found(self._violation(), inp)
                rule = owed[2][0] if owed[2] else "CALL-ENDED-TERMINAL"
                r = RULES.get(rule)
                raise self._found(Finding(
                    "quiescence", rule, r.section if r else "-",
                    f"after \"{inp.phrase}\" the spec owes {' or '.join(names)} and none came "
                    f"within {self.wait:g} s"), inp)
        ctx.drain()
        if self._feed():
            ctx.settle()  # an event still on its way may belong before the line judged
            if self._feed():
                raise self._found(self._violation(), inp)
        # what the app owes by itself now (a CallKit call reported ended once its call
        # ended) comes within the bound, before anything else is done to it: an app that never
        # sends it would otherwise leave the explorer acting on a CallKit call it has dropped
        owed = self._settle_owed()
        if owed is not None:
            raise self._found(owed, inp)
        self._took(inp, before, live or self.live())
        return True

    def _self_owed(self) -> tuple[str, str] | None:
        if self.judge.tables is None or self.sid < 0 or not self.callkit:
            return None
        return self.oracle.self_owed(self.sid)

    def _settle_owed(self) -> Finding | None:
        """What the app owes by itself, if anything, must come within the bound: None when
        it came (or nothing is owed), else the finding (a violation, should what came
        break a rule)."""
        if self._self_owed() is None:
            return None
        deadline = time.monotonic() + self.wait
        while True:
            time.sleep(0.02)
            self.ctx.drain()
            if self._feed():
                return self._violation()
            owed = self._self_owed()
            if owed is None:
                return None
            if time.monotonic() >= deadline:
                rule, message = owed
                r = RULES.get(rule)
                f = Finding("quiescence", rule, r.section if r else "-",
                            f"{message}, and nothing came within {self.wait:g} s")
                f.then = SELF_OWED[rule]
                return f

    def _found(self, f: Finding, inp: Input) -> Finding:
        if not self.steps or self.steps[-1] is not inp:
            self.steps.append(inp)
        f.steps = [i.phrase for i in self.steps]
        f.trace = self.ctx.trace_text()
        f.callkit = self.callkit
        return f


_ORACLES: dict[int, Oracle] = {}


def oracles(t: Tables) -> Oracle:
    got = _ORACLES.get(id(t))
    if got is None:
        got = _ORACLES[id(t)] = Oracle(t)
    return got


# --- generators ---------------------------------------------------------------------------
# A generator names the inputs it would take next, best first; hypothesis draws one of them
# (uniformly while generating, the first while shrinking). An empty list ends the session.
Chooser = Callable[[Session, list[Input], Memory], list[Input]]


def choose_random(s: Session, enabled: list[Input], mem: Memory) -> list[Input]:
    return enabled


def choose_quick(s: Session, enabled: list[Input], mem: Memory) -> list[Input]:
    """GraphWalker's quick_random, online: the inputs that take a transition not yet covered;
    else the first input on the shortest known way to a configuration that has one; else
    any."""
    here = _fresh(s, s.sid, enabled, mem)
    if here:
        return here
    way = _way(s, enabled, mem,
               lambda sid: bool(_fresh(s, sid, s.oracle.enabled(sid, s.inputs), mem)))
    return [way] if way is not None else enabled


def _fresh(s: Session, sid: int, inputs: list[Input], mem: Memory) -> list[Input]:
    """Not tried from here yet, and the spec would take a transition not covered yet (a
    prediction a refusing client may not follow: once tried, an input is not fresh)."""
    return [i for i in inputs if (sid, i.phrase) not in mem.tried
            and s.oracle.predict(sid, i) - mem.covered]


_LIVE = frozenset(c.value for c in (CallState.ESTABLISHED, CallState.MEDIA_DISRUPTED,
                                     CallState.RENEWING_MEDIA))
_LEAVING = frozenset(transition_id(t) for t, _spec in transitions_of(ClientModel)
                     if t.source.value in _LIVE and t.target is not None
                     and t.target.value not in _LIVE)
"""The transitions that end a live call (or lose it: an end, a reset, a drop)."""


def accepts(took: frozenset[str]) -> bool:
    """Whether an input's transitions say the spec accepted it (not only a refusal)."""
    return any(not t.startswith(_REFUSAL) for t in took)


_REFUSAL = R.API_REFUSAL.id + ":"


def choose_pairs(s: Session, enabled: list[Input], mem: Memory) -> list[Input]:
    """quick_random, with pairs of steps in a live call first: while the call is live (as it
    was after the step the spec last accepted), the inputs that have not yet followed that
    step, those that keep the call live first (every pair of steps in a row, as a 1-switch
    set of a state machine's tests counts its transition pairs); else quick_random. A fault
    that shows only on a repeat (a second mute, media lost again), in a combination (a
    headset joined mid-call, then chosen) or on a refusal in a call (stop() while it is up)
    lies on such a pair, from a state a transition tour has already covered: the spec's
    transitions are coarser than the history these faults keep."""
    if s.last is not None and s.live():
        follow = [i for i in enabled if (s.last, i.phrase) not in mem.pairs]
        staying = [i for i in follow if not s.oracle.predict(s.sid, i) & _LEAVING]
        if staying or follow:
            return staying or follow  # the call's own pairs before the one that ends it
    return choose_quick(s, enabled, mem)


def choose_tour(s: Session, enabled: list[Input], mem: Memory) -> list[Input]:
    """A tour of the explored graph: the inputs not yet tried from this set of
    configurations; else the first input on the shortest known way to one that has such an
    input; else none (the session ends and a fresh client starts)."""
    untried = [i for i in enabled if (s.sid, i.phrase) not in mem.tried]
    if untried:
        return untried
    way = _way(s, enabled, mem, lambda sid: any(
        (sid, i.phrase) not in mem.tried for i in s.oracle.enabled(sid, s.inputs)))
    return [way] if way is not None else []


def _way(s: Session, enabled: list[Input], mem: Memory,
         goal: Callable[[int], bool]) -> Input | None:
    by_phrase = {i.phrase: i for i in enabled}
    start = s.sid
    seen = {start}
    todo: deque[tuple[int, str | None]] = deque([(start, None)])
    while todo and len(seen) < 400:  # a bounded look: past it, the walk goes on at random
        sid, first = todo.popleft()
        for phrase, nxt in mem.graph.get(sid, {}).items():
            if nxt in seen or nxt == FAIL:
                continue
            seen.add(nxt)
            f = first or phrase
            if goal(nxt):
                return by_phrase.get(f)
            todo.append((nxt, f))
    return None


GENERATORS: dict[str, Chooser] = {"random": choose_random, "quick_random": choose_quick,
                                  "tour": choose_tour, "pairs": choose_pairs}


def remember(mem: Memory, before: int, inp: Input, after: int, covered: set[str],
             pairs: set[tuple[str, str]] | None = None) -> None:
    mem.tried.add((before, inp.phrase))
    mem.graph.setdefault(before, {})[inp.phrase] = after
    mem.covered |= covered
    if pairs:
        mem.pairs |= pairs


def minimize(make: Callable[[], "Session"], steps: list[str], found: Finding,
             budget: int = 200) -> Finding:
    """One-minimal run: drop steps one at a time (each replayed on a fresh client, a step the
    spec no longer enables there left out) while the same rule still fails, until no single
    step can go. hypothesis's shrinking works on its draws, which a generator maps to inputs
    through what the run has seen, so a step it deletes can change the steps after it; this
    pass works on the steps themselves."""
    from .inputs import INPUTS

    by_phrase = {i.phrase: i for i in INPUTS}

    def replay(phrases: list[str]) -> Finding | None:
        s = make()
        try:
            for p in phrases:
                inp = by_phrase[p]
                if inp not in s.enabled():
                    continue
                s.step(inp)
        except Finding as f:
            return f
        finally:
            s.close()
        return None

    best = found
    tries = 0
    changed = True
    while changed and tries < budget:
        changed = False
        for i in range(len(best.steps) - 1, -1, -1):
            if tries >= budget:
                break
            tries += 1
            f = replay(best.steps[:i] + best.steps[i + 1:])
            if f is not None and f.kind == found.kind and f.rule == found.rule \
                    and len(f.steps) < len(best.steps):
                best = f
                changed = True
                break
    return best
