"""A chart of the spec as plain data for the writers: its regions, their states in document
order, and every transition (tagged or not) with its events, target and named guards."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..charts.model import ClientModel

CHARTS: dict[str, tuple[str, ...]] = {
    "call-state": ("call",),
    "client-lifecycle": ("lifecycle", "logs"),
    "pstn-rules": ("pstn",),
    "callkit-lifecycle": ("callkit", "pushkit"),
    "composed": tuple(r.id for r in ClientModel.client.states),  # type: ignore[attr-defined]
}
"""Each exported chart and the regions of the composed model it holds (the diagrams' charts;
pstn-rules is the PSTN region itself, the diagram's view of the call is drawn, not a state)."""

GUARD_PREFIX = "g_"


@dataclass(frozen=True)
class ExportTransition:
    events: tuple[str, ...]
    target: str
    guards: tuple[str, ...]  # all must hold
    rule: str | None  # the rule the transition carries, for a comment


@dataclass
class ExportState:
    id: str
    name: str
    initial: str | None = None  # for a compound state: its first child
    children: list["ExportState"] = field(default_factory=list)
    transitions: list[ExportTransition] = field(default_factory=list)
    parallel: bool = False


@dataclass
class ExportChart:
    name: str
    root: ExportState

    def guards(self) -> list[str]:
        """Every guard name the chart's transitions test, sorted."""
        out: set[str] = set()

        def walk(s: ExportState) -> None:
            for t in s.transitions:
                out.update(t.guards)
            for c in s.children:
                walk(c)

        walk(self.root)
        return sorted(out)

    def leaves(self) -> list[str]:
        out: list[str] = []

        def walk(s: ExportState) -> None:
            if not s.children:
                out.append(s.id)
            for c in s.children:
                walk(c)

        walk(self.root)
        return out


def _transitions(state: Any) -> list[ExportTransition]:
    out = []
    for t in state.transitions:
        if getattr(t, "initial", False) or not list(t.events):
            continue
        target = t.target.id if t.target is not None else state.id
        guards = tuple(str(c) for c in t.cond)
        spec = getattr(t, "spec", None)
        out.append(ExportTransition(tuple(str(e) for e in t.events), target, guards,
                                    spec.rule.id if spec is not None else None))
    return out


def _state(s: Any) -> ExportState:
    node = ExportState(s.id, s.name, transitions=_transitions(s))
    if s.states:
        node.children = [_state(c) for c in s.states]
        node.parallel = bool(getattr(s, "parallel", False))
        if not node.parallel:
            node.initial = next((c.id for c in s.states if c.initial), s.states[0].id)
    return node


def chart(name: str) -> ExportChart:
    """One named chart: a region by itself, or several side by side under a parallel root."""
    try:
        regions = CHARTS[name]
    except KeyError:
        raise KeyError(f"no chart {name!r}; charts: {', '.join(CHARTS)}") from None
    by_id = {r.id: r for r in ClientModel.client.states}  # type: ignore[attr-defined]
    nodes = [_state(by_id[r]) for r in regions]
    if len(nodes) == 1:
        return ExportChart(name, nodes[0])
    root = ExportState(name.replace("-", "_"), name, children=nodes, parallel=True)
    return ExportChart(name, root)
