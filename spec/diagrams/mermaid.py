"""Write a DiagramGraph as Mermaid `stateDiagram-v2` text.

Mermaid is for places that render it inline (issues, Markdown docs); the SVG/PNG from Graphviz
are the reference drawings. Two Mermaid limits shape this writer:

* labels: `:` ends a state description, `[ ]` `{ }` `;` `#` `<` `>` have syntax meaning, so
  they are written as Mermaid entity codes (`#58;` ...), and line breaks as `<br/>`;
* composite states: Mermaid cannot draw a transition between states of two different
  composites, so only regions become composites; an edge that Graphviz draws from a group box
  (e.g. the live call states) is written once for each state it covers.
"""

from __future__ import annotations

from .extract import DiagramCluster, DiagramEdge, DiagramGraph

INDENT = "    "

_ENTITIES = {
    "#": "#35;",  # first: the codes themselves start with #
    ":": "#58;",
    ";": "#59;",
    "[": "#91;",
    "]": "#93;",
    "{": "#123;",
    "}": "#125;",
    "<": "#60;",
    ">": "#62;",
    '"': "#quot;",
}


def escape(text: str) -> str:
    """Text Mermaid shows as written: syntax characters as entity codes, lines as <br/>."""
    out = "".join(_ENTITIES.get(ch, ch) for ch in text)
    return "<br/>".join(line.strip() for line in out.split("\n"))


def _edge_lines(e: DiagramEdge, graph: DiagramGraph) -> list[str]:
    sources = e.covers if graph.cluster(e.source) is not None else (e.source,)
    return [f"{s} --> {e.target} : {escape(e.label)}" for s in sources]


def to_mermaid(graph: DiagramGraph) -> str:
    """The Mermaid source of one chart."""
    nodes = {n.id: n for n in graph.nodes}
    lines = [
        "---",
        f"title: {escape(graph.title)}",
        "---",
        "stateDiagram-v2",
        f"{INDENT}%% {graph.title}: run `exovoice diagrams` to redraw",
    ]
    placed: set[str] = set()
    region_of: dict[str, str] = {}

    def state_lines(node_ids: tuple[str, ...], depth: int) -> list[str]:
        pad = INDENT * depth
        out = []
        for node_id in node_ids:
            n = nodes[node_id]
            placed.add(node_id)
            out.append(f'{pad}state "{escape(n.label)}" as {n.id}')
        for node_id in node_ids:
            if nodes[node_id].kind == "initial":
                out.append(f"{pad}[*] --> {node_id}")
        return out

    def region_lines(c: DiagramCluster) -> list[str]:
        inside = set(c.all_nodes())
        members = tuple(n.id for n in graph.nodes if n.id in inside)  # document order
        for m in members:
            region_of[m] = c.id
        out = [f'{INDENT}state "{escape(c.label)}" as {c.id} {{']
        out += state_lines(members, 2)
        for e in graph.edges:
            if region_of.get(e.target) == c.id:
                out += [INDENT * 2 + line for line in _edge_lines(e, graph)]
        out.append(f"{INDENT}}}")
        return out

    for c in graph.clusters:
        lines += region_lines(c)
    loose = tuple(n.id for n in graph.nodes if n.id not in placed)
    lines += state_lines(loose, 1)
    for e in graph.edges:
        if e.target not in region_of:
            lines += [INDENT + line for line in _edge_lines(e, graph)]
    for note in graph.notes:
        lines.append(f"{INDENT}note right of {note.near}")
        # a blank line would end nothing but reads as one; keep the gap with a no-break space
        lines += [INDENT * 2 + (escape(line) if line.strip() else "#160;")
                  for line in note.text.split("\n")]
        lines.append(f"{INDENT}end note")
    return "\n".join(lines) + "\n"
