"""Write a DiagramGraph as Graphviz DOT text, with the `graphviz` package.

The text must be the same on every run (the committed diagrams are checked for freshness), so
node names are the spec's state ids, statements come in the order the extractor gives (the
chart's document order), and every graph attribute is fixed here. This is the only module
that imports `graphviz` (render.py runs the `dot` program itself): the spec must load
without it.

Layout choices, each made by looking at the rendered PNGs:
* edges back to a state declared earlier do not constrain the ranking, so a chart reads in the
  order the spec declares its states (no_call at the top, ENDED at the bottom);
* transitions with the same source and target share one arrow, labels stacked;
* in charts with many self-transitions (CallKit actions, the API region), those are listed
  inside the state's box, as UML draws internal transitions, instead of as loops whose labels
  bury the neighbouring arrows.
"""

from __future__ import annotations

import re
import textwrap
from html import escape as html_escape

import graphviz

from .extract import DiagramCluster, DiagramEdge, DiagramGraph, DiagramNode

FONT = "Helvetica"

SECTION_END = re.compile(r"(§[0-9.]+|FACTS|TRACE)$")
"""How a transition's words end (extract.section_mark): where one stacked clause stops."""

GRAPH_ATTR: dict[str, str] = {
    "fontname": FONT,
    "fontsize": "20",
    "labelloc": "t",
    "labeljust": "l",
    "compound": "true",  # edges may leave a cluster (ltail): a transition of a group
    "newrank": "true",
    "splines": "spline",
    "nodesep": "0.45",
    "ranksep": "0.6",
    "pad": "0.3",
    "bgcolor": "white",
}
NODE_ATTR: dict[str, str] = {
    "fontname": FONT,
    "fontsize": "14",
    "shape": "box",
    "style": "rounded,filled",
    "fillcolor": "#f4f7fb",
    "color": "#34495e",
    "margin": "0.15,0.08",
}
EDGE_ATTR: dict[str, str] = {
    "fontname": FONT,
    "fontsize": "11",
    "color": "#34495e",
    "fontcolor": "#1b2631",
    "arrowsize": "0.8",
}

CHART_ATTR: dict[str, dict[str, str]] = {
    "call-state": {"rankdir": "TB", "ranksep": "0.7", "nodesep": "0.6"},
    "call-state-overview": {"rankdir": "TB", "ranksep": "0.6", "nodesep": "0.8"},
    "client-lifecycle": {"rankdir": "TB", "ranksep": "0.8"},
    "pstn-rules": {"rankdir": "TB", "ranksep": "0.8", "nodesep": "0.6"},
    "callkit-lifecycle": {"rankdir": "TB", "ranksep": "0.9", "nodesep": "0.5"},
    "composed": {"rankdir": "TB", "ranksep": "0.5", "nodesep": "0.3"},
}
"""Per-chart layout: the state charts read top to bottom like the guide's Call State Flow,
regions side by side; the PSTN chart, with its note, left to right."""

INTERNAL_SELF_LOOPS: frozenset[str] = frozenset(
    {"client-lifecycle", "callkit-lifecycle", "composed"})
"""Charts whose self-transitions are listed inside the state's box. The call-state chart
keeps them as loops: it has two, and the guide's flow diagram draws them so."""

STACKED_REGIONS: frozenset[str] = frozenset({"composed"})
"""Charts whose regions are stacked into columns (see columns()) instead of one long row."""

CLUSTER_STYLE: dict[str, dict[str, str]] = {
    "region": {"style": "rounded", "color": "#7f8c8d", "fontsize": "16", "penwidth": "1.4"},
    "group": {"style": "rounded,dashed", "color": "#95a5a6", "fontsize": "12",
              "fontcolor": "#566573"},
}


def dot_text(text: str) -> str:
    """A label for DOT: lines centred ("\\n"); quotes are escaped by graphviz.quote, and
    nohtml keeps a label that happens to look like <...> from being read as HTML."""
    return graphviz.nohtml(text.replace("\\", "\\\\").replace("\n", "\\n"))


def left_text(text: str) -> str:
    """A left-aligned multi-line label (every line ends in "\\l")."""
    return graphviz.nohtml("".join(line.replace("\\", "\\\\") + "\\l" for line in text.split("\n")))


def cluster_name(cluster_id: str) -> str:
    return f"cluster_{cluster_id}"


def short_label(cluster: DiagramCluster) -> str:
    return cluster.label.split(" (", 1)[0]


def anchor(cluster: DiagramCluster, back: bool) -> str:
    """The node an edge leaving a cluster is attached to (Graphviz clips it at the border):
    the group's last state for an edge that goes on down the chart, its first for one that
    goes back up, so the arrow leaves the side of the box it heads to."""
    members = cluster.all_nodes()
    return members[0] if back else members[-1]


def sources_of(graph: DiagramGraph, e: DiagramEdge) -> tuple[str, ...]:
    return e.covers if graph.cluster(e.source) is not None else (e.source,)


def back_edges(graph: DiagramGraph) -> set[str]:
    """Ids of the edges that go back to a state declared earlier in the spec.

    The charts declare their states in the order a call or a client progresses (no_call,
    NONE, OUTGOING_INITIATED ... ENDING, ENDED), so Graphviz ranks along the forward edges only
    (constraint=false on the others) and the drawing reads in that order: a new dial() from
    ENDED does not pull ENDED to the top of the call chart."""
    order = {n.id: i for i, n in enumerate(graph.nodes)}
    return {e.id for e in graph.edges
            if all(order[e.target] < order[s] for s in sources_of(graph, e))}


def arrows(edges: list[DiagramEdge]) -> list[list[DiagramEdge]]:
    """Edges bundled by (source, target), in the order first seen: parallel transitions
    (reset() and stop() from every lifecycle state) share one arrow with their labels stacked,
    instead of a fan of near-identical curves."""
    bundles: dict[tuple[str, str], list[DiagramEdge]] = {}
    for e in edges:
        bundles.setdefault((e.source, e.target), []).append(e)
    return list(bundles.values())


COMPARTMENT_WIDTH = 72


def compartment_lines(label: str) -> list[str]:
    """An edge label as rows of a state's box: each clause (ending in its section mark) on
    one row, rewrapped to COMPARTMENT_WIDTH with continuation rows indented."""
    clauses: list[str] = []
    current: list[str] = []
    for line in label.split("\n"):
        current.append(line.strip())
        if SECTION_END.search(line):
            clauses.append(" ".join(current))
            current = []
    if current:
        clauses.append(" ".join(current))
    rows = []
    for clause in clauses:
        first, *rest = textwrap.wrap(clause, COMPARTMENT_WIDTH, break_long_words=False,
                                     break_on_hyphens=False) or [""]
        rows += [first, *("\u2003" + r for r in rest)]
    return rows


def state_label(node: DiagramNode, internal: list[DiagramEdge]) -> str:
    """A state's box: its name, and under a rule the transitions that stay in it."""
    if not internal:
        return dot_text(node.label)
    name = "<BR/>".join(html_escape(line) for line in node.label.split("\n"))
    rows = "".join(f'{html_escape(line)}<BR ALIGN="LEFT"/>'
                   for e in internal for line in compartment_lines(e.label))
    return (
        '<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3">'
        f'<TR><TD>{name}</TD></TR><HR/>'
        f'<TR><TD ALIGN="LEFT" BALIGN="LEFT"><FONT POINT-SIZE="11">{rows}</FONT></TD></TR>'
        '</TABLE>>'
    )


def columns(clusters: tuple[DiagramCluster, ...]) -> list[list[DiagramCluster]]:
    """Top-level clusters packed first-fit, in document order, into columns no taller than
    the tallest cluster (height counted in states): ten regions side by side would make the
    composed chart a strip many times wider than high."""
    def height(c: DiagramCluster) -> int:
        return len(c.all_nodes()) + 1

    cap = max((height(c) for c in clusters), default=0)
    cols: list[list[DiagramCluster]] = []
    used: list[int] = []
    for c in clusters:
        for i, u in enumerate(used):
            if u + height(c) <= cap:
                cols[i].append(c)
                used[i] += height(c)
                break
        else:
            cols.append([c])
            used.append(height(c))
    return cols


def stack(g: graphviz.Digraph, graph: DiagramGraph) -> None:
    """Invisible edges that put each cluster of a column below the one above it: from every
    state of the upper one (so the lower one ranks below all of them), heavy (so it sits
    straight under it instead of drifting sideways into a staircase)."""
    initial = {n.id for n in graph.nodes if n.kind == "initial"}
    for col in columns(graph.clusters):
        for upper, lower in zip(col, col[1:]):
            members = lower.all_nodes()
            top = next((f"{m}__initial" for m in members if m in initial), members[0])
            for member in upper.all_nodes():
                g.edge(member, top, style="invis", weight="10")


def to_dot(graph: DiagramGraph, element_ids: dict[str, list[str]] | None = None) -> str:
    """The DOT source of one chart.

    With `element_ids` (a report drawing on the chart), every state and arrow gets an SVG id
    (`state_<id>`, `arrow_<n>`) and the dict is filled with arrow id -> the transition ids
    (exovoice.spec.base.transition_id) the arrow stands for; without it the text is the
    committed diagrams' own."""
    g = graphviz.Digraph(
        name=graph.name.replace("-", "_"),
        comment=f"{graph.title}: run `exovoice diagrams` to redraw",
        graph_attr={**GRAPH_ATTR, **CHART_ATTR.get(graph.name, {}), "label": graph.title},
        node_attr=NODE_ATTR,
        edge_attr=EDGE_ATTR,
    )
    nodes = {n.id: n for n in graph.nodes}
    internal: dict[str, list[DiagramEdge]] = {}
    drawn = list(graph.edges)
    if graph.name in INTERNAL_SELF_LOOPS:
        for e in graph.edges:
            if e.source == e.target:
                internal.setdefault(e.source, []).append(e)
        drawn = [e for e in graph.edges if e.source != e.target]
    placed: set[str] = set()

    def add_node(sub: graphviz.Digraph, node_id: str) -> None:
        n = nodes[node_id]
        placed.add(node_id)
        if n.kind == "initial":
            start = f"{n.id}__initial"
            sub.node(start, "", shape="point", width="0.18", style="filled",
                     fillcolor="black", color="black")
            sub.edge(start, n.id, arrowsize="0.7")
        inside = internal.get(n.id, [])
        attrs = {}
        if element_ids is not None:
            attrs["id"] = f"state_{n.id}"
            attrs["class"] = "state"
        if inside:
            attrs["tooltip"] = dot_text("\n".join(dict.fromkeys(e.tooltip for e in inside)))
        sub.node(n.id, state_label(n, inside), **attrs)

    def add_cluster(parent: graphviz.Digraph, c: DiagramCluster) -> None:
        with parent.subgraph(name=cluster_name(c.id)) as sub:
            sub.attr(label=dot_text(c.label), **CLUSTER_STYLE[c.style])
            for node_id in c.nodes:
                add_node(sub, node_id)
            for inner in c.clusters:
                add_cluster(sub, inner)

    for c in graph.clusters:
        add_cluster(g, c)
    for n in graph.nodes:
        if n.id not in placed:
            add_node(g, n.id)
    for note in graph.notes:
        if note.legend:  # beside the chart, tied to no state
            g.node(note.id, left_text(note.text), shape="note", style="filled",
                   fillcolor="#f8f9f9", color="#7f8c8d", fontsize="12")
            continue
        g.node(note.id, left_text(note.text), shape="note", style="filled",
               fillcolor="#fdf6e3", color="#b7950b", fontsize="12")
        g.edge(note.id, note.near, style="dotted", arrowhead="none", color="#b7950b")
    if graph.name in STACKED_REGIONS:
        stack(g, graph)
    back = back_edges(graph)
    for k, bundle in enumerate(arrows(drawn)):
        extra: dict[str, str] = {}
        if element_ids is not None:
            extra = {"id": f"arrow_{k}", "class": "arrow"}
            element_ids[extra["id"]] = [f"{e.rule_id}:{src}->{e.target}"
                                        for e in bundle for src in e.covers]
        add_arrow(g, graph, bundle, back=all(e.id in back for e in bundle), **extra)
    return g.source


def block(label: str) -> str:
    """One transition's words in a stacked label: continuation lines indented, so that where
    one transition ends and the next begins is visible."""
    first, *rest = label.split("\n")
    return "\n".join([first, *("\u2003" + line for line in rest)])


def add_arrow(g: graphviz.Digraph, graph: DiagramGraph, bundle: list[DiagramEdge],
              back: bool = False, **extra: str) -> None:
    """One arrow for edges sharing source and target; an arrow from a group box says so."""
    first = bundle[0]
    label = "\n".join(block(e.label) for e in bundle)
    tooltip = "\n".join(dict.fromkeys(e.tooltip for e in bundle))
    tail = first.source
    attrs: dict[str, str] = {}
    group = graph.cluster(first.source)
    if group is not None:
        label = f"from any {short_label(group)} state:\n{label}"
        tail = anchor(group, back)
        attrs["ltail"] = cluster_name(group.id)
        attrs["penwidth"] = "1.6"
        if not back:
            # rank the target below every state the edge leaves, not only below the anchor
            for member in group.all_nodes():
                if member != tail:
                    g.edge(member, first.target, style="invis")
    if back and first.source != first.target:
        attrs["constraint"] = "false"
    g.edge(tail, first.target, label=left_text(label), tooltip=dot_text(tooltip),
           labeltooltip=dot_text(tooltip), **attrs, **extra)
