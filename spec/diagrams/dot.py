"""Write a DiagramGraph as Graphviz DOT text, with the `graphviz` package.

The text must be the same on every run (the committed diagrams are checked for freshness), so
node names are the spec's state ids, statements come in the order the extractor gives (the
chart's document order), and every graph attribute is fixed here. Only this module and
render.py import `graphviz`: the spec itself must load without it.
"""

from __future__ import annotations

import graphviz

from .extract import DiagramCluster, DiagramEdge, DiagramGraph

FONT = "Helvetica"

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
    "client-lifecycle": {"rankdir": "TB", "ranksep": "0.8"},
    "pstn-rules": {"rankdir": "LR", "ranksep": "1.0"},
    "callkit-lifecycle": {"rankdir": "TB", "ranksep": "0.9", "nodesep": "0.5"},
    "composed": {"rankdir": "TB", "ranksep": "0.5", "nodesep": "0.3"},
}
"""Per-chart layout, chosen by looking at the PNGs: the call chart reads top to bottom like
the guide's Call State Flow; the small charts read left to right."""

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


def anchor(cluster: DiagramCluster, back: bool) -> str:
    """The node an edge leaving a cluster is attached to (Graphviz clips it at the border):
    the group's last state for an edge that goes on down the chart, its first for one that
    goes back up, so the arrow leaves the side of the box it heads to."""
    members = cluster.all_nodes()
    return members[0] if back else members[-1]


def back_edges(graph: DiagramGraph) -> set[str]:
    """Ids of the edges that go back to a state declared earlier in the spec.

    The charts declare their states in the order a call or a client progresses (no_call,
    NONE, OUTGOING_INITIATED ... ENDING, ENDED), so Graphviz ranks along the forward edges only
    (constraint=false on the others) and the drawing reads in that order: a new dial() from
    ENDED does not pull ENDED to the top of the call chart."""
    order = {n.id: i for i, n in enumerate(graph.nodes)}
    back = set()
    for e in graph.edges:
        sources = e.covers if graph.cluster(e.source) is not None else (e.source,)
        if all(order[e.target] < order[s] for s in sources):
            back.add(e.id)
    return back


def to_dot(graph: DiagramGraph) -> str:
    """The DOT source of one chart."""
    g = graphviz.Digraph(
        name=graph.name.replace("-", "_"),
        comment=f"{graph.title}: run `exovoice diagrams` to redraw",
        graph_attr={**GRAPH_ATTR, **CHART_ATTR.get(graph.name, {}), "label": graph.title},
        node_attr=NODE_ATTR,
        edge_attr=EDGE_ATTR,
    )
    nodes = {n.id: n for n in graph.nodes}
    placed: set[str] = set()

    def add_node(sub: graphviz.Digraph, node_id: str) -> None:
        n = nodes[node_id]
        placed.add(node_id)
        if n.kind == "initial":
            start = f"{n.id}__initial"
            sub.node(start, "", shape="point", width="0.18", style="filled",
                     fillcolor="black", color="black")
            sub.edge(start, n.id, arrowsize="0.7")
        sub.node(n.id, dot_text(n.label))

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
        g.node(note.id, left_text(note.text), shape="note", style="filled",
               fillcolor="#fdf6e3", color="#b7950b", fontsize="12")
        g.edge(note.id, note.near, style="dotted", arrowhead="none", color="#b7950b")
    back = back_edges(graph)
    for arrow in arrows(graph):
        add_arrow(g, graph, arrow, back=all(e.id in back for e in arrow))
    return g.source


def arrows(graph: DiagramGraph) -> list[list[DiagramEdge]]:
    """The chart's edges bundled by (source, target), in the order first seen: parallel
    transitions (reset() and stop() from every lifecycle state) share one arrow with their
    labels stacked, instead of a fan of near-identical curves."""
    bundles: dict[tuple[str, str], list[DiagramEdge]] = {}
    for e in graph.edges:
        bundles.setdefault((e.source, e.target), []).append(e)
    return list(bundles.values())


def short_label(cluster: DiagramCluster) -> str:
    return cluster.label.split(" (", 1)[0]


def add_arrow(g: graphviz.Digraph, graph: DiagramGraph, bundle: list[DiagramEdge],
              back: bool = False) -> None:
    """One arrow for edges sharing source and target; an arrow from a group box says so."""
    first = bundle[0]
    label = "\n".join(e.label for e in bundle)
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
    g.edge(tail, first.target, label=dot_text(label), tooltip=dot_text(tooltip),
           labeltooltip=dot_text(tooltip), **attrs)
