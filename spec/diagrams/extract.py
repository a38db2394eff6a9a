"""Read the spec's charts into plain diagram data: nodes, edges, clusters and notes.

Everything a diagram shows is read from `ClientModel` and the tags on its transitions, so a
diagram cannot drift from the spec: no state list, edge or rule is restated here. The result is
frozen dataclasses with no python-statemachine or Graphviz objects in them, so the DOT and
Mermaid writers are pure text functions and tests can inspect a chart without rendering it.

Grouped edges: many call-state transitions leave every state of a group (hangup() from each of
the nine live states). Drawn one by one they bury the chart under identical labels, so an edge
whose sources are exactly the members of a group is drawn once, from the group's cluster, as a
statechart draws a transition of a composite state. `DiagramEdge.covers` keeps the states it
stands for; the groups are read from the spec (`LIVE`, `SYSTEM_STATE`), not chosen here.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Literal, cast

from statemachine import State

from ..base import TransitionSpec
from ..charts.call_state import LIVE, SYSTEM_STATE
from ..charts.index import rule_uses
from ..charts.model import ClientModel, transitions_of
from ..charts.system import REFUSALS
from ..rules import RULES, Rule
from ..vocabulary import NETWORK_LABEL, OBSERVABLE_EVENTS, Api, Kind

NodeKind = Literal["initial", "normal"]

LABEL_WIDTH = 34
"""Characters per label line: long causes ("486 busy, no answer in ...") wrap instead of
stretching the layout sideways."""


@dataclass(frozen=True)
class DiagramNode:
    """A state. `kind` "initial" marks the state a region starts in."""

    id: str
    label: str
    kind: NodeKind = "normal"


@dataclass(frozen=True)
class DiagramEdge:
    """One drawn arrow: one or more transitions with the same event and rule.

    `source` is a node id, or a cluster id when the arrow leaves a group (see the module
    docstring); `covers` names the states whose transitions the arrow stands for. `label` may
    hold line breaks ("\\n"); each writer turns them into its own syntax.
    """

    id: str
    source: str
    target: str
    event: str
    label: str
    tooltip: str
    rule_id: str
    section: str
    covers: tuple[str, ...] = ()


@dataclass(frozen=True)
class DiagramCluster:
    """A box around states: a region of the composed model, or a group inside one."""

    id: str
    label: str
    nodes: tuple[str, ...]
    clusters: tuple["DiagramCluster", ...] = ()
    style: Literal["region", "group"] = "region"

    def all_nodes(self) -> tuple[str, ...]:
        """The nodes of this cluster and of every cluster inside it, in document order."""
        out = list(self.nodes)
        for c in self.clusters:
            out.extend(c.all_nodes())
        return tuple(out)

    def walk(self) -> Iterable["DiagramCluster"]:
        yield self
        for c in self.clusters:
            yield from c.walk()


@dataclass(frozen=True)
class DiagramNote:
    """Free text beside a chart: what the spec says that is not a transition."""

    id: str
    text: str
    near: str  # the node the note is drawn next to
    legend: bool = False  # how to read the chart: beside it, tied to no state


@dataclass(frozen=True)
class DiagramGraph:
    name: str
    title: str
    nodes: tuple[DiagramNode, ...]
    edges: tuple[DiagramEdge, ...]
    clusters: tuple[DiagramCluster, ...] = ()
    notes: tuple[DiagramNote, ...] = ()

    def cluster(self, cluster_id: str) -> DiagramCluster | None:
        for top in self.clusters:
            for c in top.walk():
                if c.id == cluster_id:
                    return c
        return None

    def node_ids(self) -> tuple[str, ...]:
        return tuple(n.id for n in self.nodes)


# --- words on edges ---------------------------------------------------------------------------


def section_mark(section: str) -> str:
    """§4.3.1 for a guide section; FACTS and TRACE as they are."""
    return f"§{section}" if section[:1].isdigit() else section


def rule_tooltip(rule: Rule, note: str | None = None) -> str:
    """`RULE-ID: rule text`, then what the edge admits (end reasons, errors) when the spec
    notes it: shown on hover in the SVG, kept out of the labels to keep the PNGs readable."""
    text = f"{rule.id}: {rule.text}"
    return f"{text}\n(admits {note})" if note else text


def event_kind(event: str) -> Kind | None:
    """The trace kind of an event; None for an internal network event (no callback)."""
    return OBSERVABLE_EVENTS.get(event)


def event_name(event: str) -> str:
    """How an event is written on an arrow: API calls with (), network events by their
    happening, the rest by their trace name."""
    kind = event_kind(event)
    if kind == Kind.API:
        return f"{event}()"
    if kind is None:
        return NETWORK_LABEL.get(event, event)
    return event


def _effect_name(emits: str) -> str:
    return f"{emits}()" if emits in Api.names() else emits


def _wrap(text: str, width: int = LABEL_WIDTH) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]


def edge_label(event: str, spec: TransitionSpec, guards: Iterable[str] = ()) -> str:
    """`trigger [guard] / effect  §section`, the statechart reading of one transition.

    A callback edge is triggered by a network happening (the cause) and its effect is the
    callback the app sees; an API or CallKit edge is triggered by the call and its effect is
    what it obliges next (`emits`); an internal network edge changes state with no callback.
    """
    kind = event_kind(event)
    effect: str | None
    if kind == Kind.CALLBACK:
        trigger, effect = spec.cause or "", event
    elif kind is None:
        trigger, effect = spec.cause or event_name(event), "(no callback)"
    else:
        trigger = event_name(event)
        if kind == Kind.ENV and spec.cause:
            trigger += f" ({spec.cause})"
        effect = _effect_name(spec.emits) if spec.emits else None
    guard_words = list(dict.fromkeys(guards)) or ([spec.guard] if spec.guard else [])
    lines = _wrap(trigger) if trigger else []
    if guard_words:
        guard = f"[{' or '.join(guard_words)}]"
        if lines and len(lines[-1]) + 1 + len(guard) <= LABEL_WIDTH:
            lines[-1] += f" {guard}"
        else:
            lines.extend(_wrap(guard))
    mark = section_mark(spec.rule.section)
    if effect:
        lines.append(f"/ {effect}  {mark}")
    elif lines:
        lines[-1] += f"  {mark}"
    else:
        lines.append(mark)
    return "\n".join(lines)


# --- reading the model ------------------------------------------------------------------------

ROOT = cast(State, ClientModel.client)
"""The composed model's parallel root state, whose children are the regions (the class body
declares it as a nested class; python-statemachine turns it into a State)."""


def region(region_id: str) -> State:
    """A region of the composed model, by its id (`call`, `lifecycle`, ...)."""
    for r in ROOT.states:
        if r.id == region_id:
            return r
    raise KeyError(f"no region {region_id!r} in ClientModel; regions: "
                   f"{', '.join(r.id for r in ROOT.states)}")


def region_of(state: State) -> State:
    """The region (child of the parallel root) a state belongs to."""
    while state.parent is not None and state.parent.id != ROOT.id:
        state = state.parent
    return state


def nodes_of(r: State) -> list[DiagramNode]:
    return [DiagramNode(s.id, s.name, "initial" if s.initial else "normal") for s in r.states]


def region_transitions(region_ids: Iterable[str]) -> list[tuple[Any, TransitionSpec]]:
    """Every tagged transition whose source lies in one of the regions, in document order."""
    wanted = set(region_ids)
    return [(t, s) for t, s in transitions_of(ClientModel) if region_of(t.source).id in wanted]


def _target_id(t: Any) -> str:
    return t.target.id if t.target is not None else t.source.id


def edge_id(rule_id: str, source: str, target: str, event: str) -> str:
    """A stable id for a drawn edge, in the style of exovoice.spec.base.transition_id."""
    return f"{rule_id}:{source}->{target}:{event}"


@dataclass
class _Bucket:
    """Transitions that become one arrow: same source, target, event and rule."""

    source: str
    target: str
    event: str
    spec: TransitionSpec
    guards: list[str]


def merge_transitions(pairs: Iterable[tuple[Any, TransitionSpec]],
                      rename: Callable[[str], str] = lambda s: s) -> list[_Bucket]:
    """One bucket per (source, target, event, rule), in the order first seen; `rename` maps a
    source state id to the node drawn for it (PSTN rules collapse the live call states)."""
    buckets: dict[tuple[str, str, str, str], _Bucket] = {}
    for t, spec in pairs:
        for e in t.events:
            event = str(e)
            key = (rename(t.source.id), _target_id(t), event, spec.rule.id)
            b = buckets.get(key)
            if b is None:
                buckets[key] = b = _Bucket(key[0], key[1], event, spec, [])
            if spec.guard and spec.guard not in b.guards:
                b.guards.append(spec.guard)
    return list(buckets.values())


def detailed_edges(buckets: Iterable[_Bucket]) -> list[DiagramEdge]:
    out = []
    for b in buckets:
        rule = b.spec.rule
        out.append(DiagramEdge(
            id=edge_id(rule.id, b.source, b.target, b.event),
            source=b.source, target=b.target, event=b.event,
            label=edge_label(b.event, b.spec, b.guards), tooltip=rule_tooltip(rule, b.spec.note),
            rule_id=rule.id, section=rule.section, covers=(b.source,),
        ))
    return out


def summary_edges(buckets: Iterable[_Bucket]) -> list[DiagramEdge]:
    """One arrow per (source, target): its events, each with its section, for the composed
    chart where the full `trigger / effect` words of ten regions would not fit."""
    by_pair: dict[tuple[str, str], list[_Bucket]] = {}
    for b in buckets:
        by_pair.setdefault((b.source, b.target), []).append(b)
    out = []
    for (src, dst), bs in by_pair.items():
        by_section: dict[str, list[str]] = {}
        for b in bs:
            names = by_section.setdefault(section_mark(b.spec.rule.section), [])
            if event_name(b.event) not in names:
                names.append(event_name(b.event))
        label = "\n".join(line for mark, names in by_section.items()
                          for line in _wrap(f"{', '.join(names)} {mark}", 40))
        rules = list(dict.fromkeys(b.spec.rule for b in bs))
        rule_ids = ", ".join(r.id for r in rules)
        events = ", ".join(dict.fromkeys(b.event for b in bs))
        out.append(DiagramEdge(
            id=edge_id(rule_ids, src, dst, events), source=src, target=dst, event=events,
            label=label, tooltip="\n".join(rule_tooltip(r) for r in rules), rule_id=rule_ids,
            section=", ".join(dict.fromkeys(r.section for r in rules)), covers=(src,),
        ))
    return out


def group_edges(edges: list[DiagramEdge], groups: Iterable[DiagramCluster]) -> list[DiagramEdge]:
    """Draw edges that leave every member of a group (same target, event, label and rule) as
    one edge from the group. The largest group that fits is taken first; states left over keep
    their own edges. An edge never leaves a group that holds its target."""
    groups = sorted(groups, key=lambda g: -len(g.all_nodes()))
    key_of = lambda e: (e.target, e.event, e.label, e.tooltip, e.rule_id)  # noqa: E731
    families: dict[tuple, list[DiagramEdge]] = {}
    for e in edges:
        families.setdefault(key_of(e), []).append(e)
    out: list[DiagramEdge] = []
    for family in families.values():
        first = family[0]
        remaining = [e.source for e in family]
        for g in groups:
            members = g.all_nodes()
            if len(members) < 2 or first.target in members or not set(members) <= set(remaining):
                continue
            out.append(replace(first, id=edge_id(first.rule_id, g.id, first.target, first.event),
                               source=g.id, covers=members))
            remaining = [s for s in remaining if s not in members]
        out.extend(e for e in family if e.source in remaining)
    return out


def call_groups(call_region: State) -> DiagramCluster:
    """The call region with its live states boxed: `LIVE` (where the app holds a call it can
    act on), split by the SystemState each live state stands for."""
    system_of = {c.value: SYSTEM_STATE[c] for c in LIVE}
    live = [s.id for s in call_region.states if s.value in system_of]
    subgroups: dict[str, list[str]] = {}
    for s in call_region.states:
        if s.value in system_of:
            subgroups.setdefault(system_of[s.value], []).append(s.id)
    inner = tuple(
        DiagramCluster(system.lower(), f"{system.lower().replace('_', ' ')} (SystemState {system})",
                       tuple(ids), style="group")
        for system, ids in subgroups.items()
    )
    outside = tuple(s.id for s in call_region.states if s.id not in live)
    live_box = DiagramCluster("live", "live call", (), inner, style="group")
    return DiagramCluster(call_region.id, call_region.name, outside, (live_box,))


def region_cluster(r: State) -> DiagramCluster:
    if r.id == "call":
        return call_groups(r)
    return DiagramCluster(r.id, r.name, tuple(s.id for s in r.states))


def _groups(clusters: Iterable[DiagramCluster]) -> list[DiagramCluster]:
    return [c for top in clusters for c in top.walk() if c.style == "group"]


def _title(name: str) -> str:
    return f"{name} — generated from spec/ — do not edit"


# --- the charts -------------------------------------------------------------------------------


def regions_chart(name: str, region_ids: tuple[str, ...], summary: bool = False) -> DiagramGraph:
    """Some regions of the composed model, each in its own cluster, every transition drawn."""
    regions = [region(r) for r in region_ids]
    clusters = tuple(region_cluster(r) for r in regions)
    nodes = tuple(n for r in regions for n in nodes_of(r))
    buckets = merge_transitions(region_transitions(region_ids))
    edges = summary_edges(buckets) if summary else detailed_edges(buckets)
    return DiagramGraph(name, _title(name), nodes, tuple(group_edges(edges, _groups(clusters))),
                        clusters)


LEGEND = "\n".join([
    "How to read this chart",
    "",
    "\u25cf  the state a call region starts in",
    "trigger [guard] / callback  \u00a7section",
    "    one transition: what makes it happen, when it may,",
    "    and the callback the app then gets",
    "/ (no callback)  a network step the app never sees",
    "dashed box  a group of states: an arrow from its border",
    "    leaves every state in the group",
    "\u00a74.5, FACTS  the guide section (or the facts) it comes from",
    "hover an arrow  the rule's id and its text",
    "call-state-overview  the main path only",
])
"""The call-state chart's legend: the notation, said once beside the chart."""


def call_state_chart() -> DiagramGraph:
    g = regions_chart("call-state", ("call",))
    return replace(g, notes=(*g.notes, DiagramNote("legend", LEGEND, "no_call", legend=True)))


MAIN_PATH: tuple[tuple[str, str], ...] = (
    ("no_call", "outgoing_initiated"), ("outgoing_initiated", "ringing"),
    ("ringing", "connecting"), ("connecting", "established"),
    ("no_call", "none"), ("none", "incoming"), ("incoming", "answering"),
    ("answering", "established"),
    ("established", "ending"), ("ending", "ended"), ("established", "ended"),
)
"""The calls the guide walks through first (4.3.1 outgoing, 4.3.2 incoming, then hanging
up or being hung up on): the steps of the overview chart. The words on each arrow are the
spec's own transitions between those states."""


def call_state_overview_chart() -> DiagramGraph:
    """The main path of a call only, to read before the full call-state chart."""
    call = region("call")
    wanted = set(MAIN_PATH)
    pairs = [(t, sp) for t, sp in region_transitions(("call",))
             if (t.source.id, _target_id(t)) in wanted]
    on_path = {sid for pair in MAIN_PATH for sid in pair}
    nodes = tuple(n for n in nodes_of(call) if n.id in on_path)
    cluster = DiagramCluster(call.id, f"{call.name}: the main path (call-state has every "
                             "transition)", tuple(n.id for n in nodes))
    return DiagramGraph("call-state-overview", _title("call-state-overview"), nodes,
                        tuple(detailed_edges(merge_transitions(pairs))), (cluster,))


def client_lifecycle_chart() -> DiagramGraph:
    return regions_chart("client-lifecycle", ("lifecycle", "logs"))


def callkit_lifecycle_chart() -> DiagramGraph:
    return regions_chart("callkit-lifecycle", ("callkit", "pushkit"))


def composed_chart() -> DiagramGraph:
    return regions_chart("composed", tuple(r.id for r in ROOT.states), summary=True)


PSTN_PREFIX = "PSTN-"
LIVE_CALL_NODE = "live_voip_call"


def pstn_rules_chart() -> DiagramGraph:
    """The PSTN region, what accepting a PSTN call does to a live VoIP call, and the PSTN
    rules that are refusals or guards rather than transitions (as a note)."""
    pstn = region("pstn")
    pstn_edges = merge_transitions(region_transitions(("pstn",)))
    call_pairs = [(t, s) for t, s in region_transitions(("call",))
                  if s.rule.id.startswith(PSTN_PREFIX)]
    live_ids = list(dict.fromkeys(t.source.id for t, _ in call_pairs
                                  if t.source.value in {c.value for c in LIVE}))
    names = {s.id: s.name for s in region("call").states}
    call_buckets = merge_transitions(
        call_pairs, rename=lambda sid: LIVE_CALL_NODE if sid in live_ids else sid)
    call_node_ids = list(dict.fromkeys(
        i for b in call_buckets for i in (b.source, b.target)))
    call_nodes = [
        DiagramNode(LIVE_CALL_NODE, "live VoIP call\n" + "\n".join(
            _wrap("(" + ", ".join(names[i] for i in live_ids) + ")", 40)))
        if i == LIVE_CALL_NODE else DiagramNode(i, names[i])
        for i in call_node_ids
    ]
    edges = detailed_edges(pstn_edges) + [
        replace(e, covers=tuple(live_ids) if e.source == LIVE_CALL_NODE else e.covers)
        for e in detailed_edges(call_buckets)
    ]
    clusters = (
        region_cluster(pstn),
        DiagramCluster("call", f"{region('call').name} (VoIP call)", tuple(call_node_ids)),
    )
    return DiagramGraph(
        "pstn-rules", _title("pstn-rules"), tuple(nodes_of(pstn)) + tuple(call_nodes),
        tuple(edges), clusters, (pstn_note(edges, next(s.id for s in pstn.states if s.initial)),),
    )


def pstn_note(edges: Iterable[DiagramEdge], near: str) -> DiagramNote:
    """The PSTN refusal rules (REFUSALS), then PSTN rules enforced only by a guard."""
    lines = ["PSTN refusals (exovoice.spec.charts.system.REFUSALS):"]
    refused: list[str] = []
    for ref in REFUSALS:
        if not ref.rule.id.startswith(PSTN_PREFIX):
            continue
        refused.append(ref.rule.id)
        ops = ", ".join(f"{o}()" for o in sorted(ref.ops))
        errors = " or ".join(sorted(ref.errors)) if ref.errors else "any error"
        verb = "must refuse" if ref.must else "may refuse"
        lines.append(f"{ref.rule.id} {section_mark(ref.rule.section)}: {verb} {ops} with {errors}")
        lines.extend("    " + ln for ln in _wrap(ref.rule.text, 60))
    drawn = {e.rule_id for e in edges}
    uses = rule_uses()
    others = [r for r in RULES.values() if r.id.startswith(PSTN_PREFIX)
              and r.id not in drawn and r.id not in refused]
    if others:
        lines.append("")
        lines.append("PSTN rules enforced by guards:")
        for r in others:
            where = ", ".join(uses.get(r.id, ())) or "not enforced yet"
            lines.append(f"{r.id} {section_mark(r.section)}: {where}")
            lines.extend("    " + ln for ln in _wrap(r.text, 60))
    return DiagramNote("pstn_refusals", "\n".join(lines), near)


CHART_BUILDERS: dict[str, Callable[[], DiagramGraph]] = {
    "call-state": call_state_chart,
    "call-state-overview": call_state_overview_chart,
    "client-lifecycle": client_lifecycle_chart,
    "pstn-rules": pstn_rules_chart,
    "callkit-lifecycle": callkit_lifecycle_chart,
    "composed": composed_chart,
}


def extract(chart: str) -> DiagramGraph:
    """The diagram data of one named chart (see CHART_BUILDERS for the names)."""
    try:
        build = CHART_BUILDERS[chart]
    except KeyError:
        raise KeyError(f"no chart {chart!r}; charts: {', '.join(CHART_BUILDERS)}") from None
    return build()
