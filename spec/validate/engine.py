"""Trace inclusion against the composed spec, with unobserved internal steps.

The judge keeps the set of spec configurations consistent with the trace so far. Network
happenings without a callback (early media, connecting) are never written in a trace, so
before each line every configuration may take any number of them. A line that leaves the set
empty is a violation. This is the reference interpretation: it drives python-statemachine,
and the compiled tables are held to its verdicts.

After the first violation a trace is no longer judged: the set of configurations would have
to be guessed, and every later finding would be a consequence of the guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..base import SpecViolation
from ..charts.model import ClientModel, Snapshot
from ..rules import Rule
from ..vocabulary import INTERNAL_EVENTS
from . import words


@dataclass(frozen=True)
class Violation:
    """One finding, as data: the CLI and the reports turn it into text, JSON or HTML.

    `message` is the one sentence a person reads, in the guide's words, naming the rule once
    (exovoice.spec.validate.words); `expected` is every event the spec allowed there and
    `states` the spec's own state ids, for machines; `alternatives` the few `message` names;
    `source` the trace line itself."""

    line: int
    rule: str
    section: str
    message: str
    expected: tuple[str, ...] = ()
    states: tuple[tuple[str, ...], ...] = ()
    alternatives: tuple[str, ...] = ()
    source: str | None = None

    @property
    def where(self) -> list[str]:
        """The configurations the client could have been in, in the guide's words."""
        return words.describe_configs(self.states)

    def as_json(self) -> dict[str, Any]:
        return {"line": self.line, "rule": self.rule, "section": self.section,
                "message": self.message, "expected": list(self.expected),
                "states": [list(s) for s in self.states],
                "alternatives": list(self.alternatives), "where": self.where,
                "source": self.source}


@dataclass
class Coverage:
    states: set[str] = field(default_factory=set)
    events: set[str] = field(default_factory=set)


class Judge:
    """Judges one trace line by line; feed() returns the violation a line causes, if any."""

    def __init__(self, *, callkit: bool = False, complete: bool = False) -> None:
        self.force_callkit = callkit
        self.complete = complete
        self.configs: list[Snapshot] | None = None
        self.m: ClientModel | None = None
        self.violation: Violation | None = None
        self.coverage = Coverage()
        self._last_line = 0
        self._line: tuple[str, str, dict | None, str] = ("", "", None, "ok")
        # ClientModel.closure's answer another way (the compiled engine's, on its step memo),
        # for an explanation of a line the compiled engine already refused; None: fired here
        self.closure: Callable[[list[Snapshot]], dict[tuple, Snapshot]] | None = None

    # --- set-up --------------------------------------------------------------------------
    def _start(self, callkit: bool) -> None:
        self.m = ClientModel(callkit=callkit)
        self.configs = [self.m.snapshot()]

    def seed(self, callkit: bool, configs: list[Snapshot],
             model: ClientModel | None = None) -> None:
        """Start from given configurations (the compiled engine's) instead of the beginning.
        `model` lends a machine of that CallKit mode to restore them into (building one costs
        tens of milliseconds; every use restores a configuration first)."""
        if model is None or model.v.callkit != callkit:
            self._start(callkit)
        else:
            self.m = model
        self.configs = list(configs)

    def _load(self, snap: Snapshot) -> ClientModel:
        assert self.m is not None
        self.m.restore(snap)
        return self.m

    def _closure(self, configs: list[Snapshot]) -> list[Snapshot]:
        if self.closure is not None:
            return list(self.closure(configs).values())
        assert self.m is not None
        return list(self.m.closure(configs).values())

    # --- judging -------------------------------------------------------------------------
    def feed(self, line: int, kind: str, name: str, call: str | None = None,
             args: dict | None = None, result: str = "ok") -> Violation | None:
        if self.violation is not None:
            return None
        self._last_line = line
        self._line = (kind, name, args, result)
        if kind == "meta":
            if self.configs is None:
                meta_ck = (args or {}).get("callkit")
                self._start(bool(meta_ck) if meta_ck is not None else self.force_callkit)
            return None
        if self.configs is None:
            self._start(self.force_callkit)
        assert self.configs is not None
        before = self.configs
        configs = self._closure(before)
        if kind == "state":
            could = {(m.call_state.value if m.call_state else "no call", m.v.call_id)
                     for m in map(self._load, configs)}
            kept = []
            for s in configs:
                m = self._load(s)
                if (m.call_state is not None and (call is None or m.v.call_id in (None, call))
                        and m.observe(name)):
                    kept.append(m.snapshot())
            if not kept:
                return self._fail(line, configs, SpecViolation(
                    f"state {name}", self._load(before[0]).leaf_states(), [_rule("SYS-STATE")],
                    "the call could only be " + words.or_list(sorted(c for c, _ in could))))
            self.configs = kept
            return None
        nxt: dict[tuple, Snapshot] = {}
        errors: list[tuple[bool, SpecViolation]] = []
        hidden = words.unobservable_states()
        for snap in configs:
            m = self._load(snap)
            try:
                m._fire(name, result=result, params=args or {}, call=call)
            except SpecViolation as e:
                errors.append((bool(hidden & set(m.leaf_states())), e))
                continue
            nxt.setdefault(m.key(), m.snapshot())
            self.coverage.states.update(m.leaf_states())
        if not nxt:
            # explain from a configuration the trace can show (OUTGOING_INITIATED, not EARLY
            # or CONNECTING, which only an unobserved step reaches), whatever order the
            # configurations came in: a duplicated onCallInitiated is "already given" there,
            # not "allowed only in OUTGOING_INITIATED" as seen from EARLY
            shown = [e for unseen, e in errors if not unseen]
            return self._fail(line, configs, (shown or [e for _, e in errors])[0])
        self.configs = list(nxt.values())
        self.coverage.events.add(name)
        return None

    def _fail(self, line: int, configs: list[Snapshot], err: SpecViolation) -> Violation:
        expected: list[str] = []
        states: list[tuple[str, ...]] = []
        for snap in configs:
            m = self._load(snap)
            states.append(tuple(m.leaf_states()))
            for ev in m.allowed_events():
                if ev not in expected and ev not in INTERNAL_EVENTS:
                    expected.append(ev)
        r = err.rule or _rule("API-REFUSAL")
        kind, name, args, result = self._line
        if kind == "state":
            expected = []  # a state line is a question, not a step: nothing else was due
        message, alts = words.violation_sentence(err, kind, name, args, result, states,
                                                 expected, r.id, r.section)
        self.violation = Violation(line=line, rule=r.id, section=r.section, message=message,
                                   expected=tuple(expected), states=tuple(states),
                                   alternatives=tuple(alts))
        return self.violation

    def finish(self) -> list[Violation]:
        """Completeness (--complete): what every configuration still owes."""
        if self.violation is not None or not self.complete or self.configs is None:
            return []
        closed = self._closure(self.configs)
        owing = [self._load(s).obligations() for s in closed]
        if any(not o for o in owing):
            return []
        # say what is owed from a configuration the trace can show (RINGING, not CONNECTING,
        # which only an unobserved step reaches)
        hidden = words.unobservable_states()
        order = sorted(range(len(closed)),
                       key=lambda i: bool(hidden & set(self._load(closed[i]).leaf_states())))
        rule, text = owing[order[0]][0]
        states = tuple(tuple(self._load(s).leaf_states()) for s in closed)
        message = words.sentence("the trace ends", "", [f"it is incomplete: {text}"], (),
                                 rule.id, rule.section)
        return [Violation(line=self._last_line, rule=rule.id, section=rule.section,
                          message=message, states=states)]


def _rule(rule_id: str) -> Rule:
    from ..rules import RULES

    return RULES[rule_id]
