"""The strict base every chart of the spec is built on, and how a transition carries its rule.

python-statemachine's StateChart defaults follow SCXML (an event with no transition is quietly
ignored, an exception in a guard becomes an `error.execution` event). A specification must do
the opposite: an event it does not allow is a finding, so it raises, and a bug in a guard is a
bug, so it propagates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from statemachine import StateChart
from statemachine.transition_list import TransitionList

from .rules import Rule


@dataclass(frozen=True)
class TransitionSpec:
    """What a transition means in the guide's words; attached to python-statemachine's own
    Transition objects so that diagrams, tables and reports read it from the chart itself."""

    rule: Rule
    cause: str | None = None  # the network or environment happening behind a callback edge
    emits: str | None = None  # the callback the app must see next (an obligation)
    guard: str | None = None  # the guard in the guide's words, for diagrams
    note: str | None = None  # the end reasons or errors a guarded edge admits, for diagrams
    causes: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    """Network happenings (exovoice.spec.vocabulary.Network) that take this edge, each with the callback
    arguments it brings (e.g. net_busy -> endReason BUSY): how a client turns what its SIP
    stack saw into the callback the spec says comes next."""

    def cause_params(self, cause: str) -> dict[str, str] | None:
        for c, params in self.causes:
            if c == cause:
                return dict(params)
        return None


def tag(
    transitions: TransitionList,
    rule: Rule,
    *,
    cause: str | None = None,
    emits: str | None = None,
    guard: str | None = None,
    note: str | None = None,
    causes: dict[str, dict[str, str]] | None = None,
) -> TransitionList:
    """Attach a rule (and the guide's words for the edge) to every transition of a list."""
    from .vocabulary import NETWORK_LABEL

    frozen = tuple((str(c), tuple(sorted((k, str(v)) for k, v in (p or {}).items())))
                   for c, p in (causes or {}).items())
    if cause is None and frozen:
        cause = ", ".join(NETWORK_LABEL[c] for c, _ in frozen)
    meta = TransitionSpec(rule, cause, emits, guard, note, frozen)
    for t in transitions.transitions:
        t.spec = meta  # type: ignore[attr-defined]
    return transitions


def transition_id(t: object) -> str:
    """A stable id for a transition: its rule and its source and target states."""
    spec: TransitionSpec = t.spec  # type: ignore[attr-defined]
    src = t.source.id  # type: ignore[attr-defined]
    dst = t.target.id if t.target is not None else src  # type: ignore[attr-defined]
    return f"{spec.rule.id}:{src}->{dst}"


class SpecViolation(Exception):
    """An event the specification does not allow where it happened.

    Carries data, not only text: the validator and the step library report from the fields.
    """

    def __init__(
        self,
        event: str,
        states: Sequence[str],
        rules: Iterable[Rule],
        detail: str = "",
        expected: Sequence[str] = (),
    ) -> None:
        self.event = event
        self.states = tuple(states)
        self.rules = tuple(dict.fromkeys(rules))
        self.detail = detail
        self.expected = tuple(expected)
        cited = ", ".join(r.cite for r in self.rules) or "no rule allows it"
        where = ", ".join(self.states)
        text = f"{event} is not allowed in [{where}]: {cited}"
        if detail:
            text += f": {detail}"
        super().__init__(text)

    @property
    def rule(self) -> Rule | None:
        return self.rules[0] if self.rules else None


class SpecChart(StateChart):
    """Strict StateChart: unknown or disallowed events raise, guard errors propagate, every
    microstep updates the configuration atomically, and the definition checks stay on."""

    allow_event_without_transition = False
    catch_errors_as_events = False
    enable_self_transition_entries = False
    atomic_configuration_update = True
