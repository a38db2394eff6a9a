"""The diagrams in diagrams/ are drawn from the spec, complete, and reproducible.

The DOT and SVG files are read as a reader or a browser would (labels, tooltips, clusters),
not through exovoice.spec.diagrams' own data, so a bug in the extractor cannot hide itself.
"""

from __future__ import annotations

import ast
import html
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from exovoice.spec.charts.model import ClientModel, transitions_of
from exovoice.spec.diagrams import CHARTS, GraphvizMissing, check_fresh, write_diagrams
from exovoice.spec.diagrams.extract import extract
from exovoice.spec.vocabulary import NETWORK_LABEL, OBSERVABLE_EVENTS, Api, CallState

ROOT = Path(__file__).resolve().parents[1]
DIAGRAMS = ROOT / "diagrams"
FORMATS = (".dot", ".mmd", ".svg", ".png")


# --- reading DOT as Graphviz would -------------------------------------------------------------

_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s\]]+)')
_EDGE = re.compile(r"^\s*(\S+) -> (\S+)(?: \[(.*)\])?$")
_NODE = re.compile(r"^\s*(\S+) \[(.*)\]$")
_SUBGRAPH = re.compile(r"^\s*subgraph (\S+) \{$")


def _value(raw: str) -> str:
    """A DOT attribute value as text: quotes off, \\n and \\l as line breaks."""
    if raw.startswith('"'):
        raw = raw[1:-1]
    return re.sub(r"\\([nlr])", "\n", raw).replace('\\"', '"')


@dataclass
class Dot:
    edges: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    nodes: dict[str, dict[str, str]] = field(default_factory=dict)
    clusters: dict[str, set[str]] = field(default_factory=dict)


def read_dot(path: Path) -> Dot:
    """Edges, nodes and (nested) cluster membership of a DOT file written by exovoice.spec.diagrams."""
    dot = Dot()
    stack: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if m := _SUBGRAPH.match(line):
            stack.append(m.group(1))
            dot.clusters.setdefault(m.group(1), set())
        elif line.strip() == "}" and stack:
            stack.pop()
        elif m := _EDGE.match(line):
            attrs = {k: _value(v) for k, v in _ATTR.findall(m.group(3) or "")}
            dot.edges.append((m.group(1), m.group(2), attrs))
        elif (m := _NODE.match(line)) and m.group(1) not in ("graph", "node", "edge"):
            dot.nodes[m.group(1)] = {k: _value(v) for k, v in _ATTR.findall(m.group(2))}
            for c in stack:
                dot.clusters[c].add(m.group(1))
    return dot


def shown(event: str) -> str:
    """How an event must appear on an arrow: API calls with (), internal network events by
    their happening (they have no trace name), everything else by its trace name."""
    if event in Api.names():
        return f"{event}()"
    if event not in OBSERVABLE_EVENTS:
        return NETWORK_LABEL[event]
    return event


def clauses(label: str) -> list[str]:
    """A stacked label cut into one text per transition: each ends with its section mark."""
    out, current = [], []
    for line in label.split("\n"):
        current.append(line.strip())
        if re.search(r"(§[0-9.]+|FACTS|TRACE)$", line):
            out.append(" ".join(current))
            current = []
    return out


def section_shown(section: str) -> str:
    return f"§{section}" if section[0].isdigit() else section


def call_transitions() -> list[tuple[object, object]]:
    call = ClientModel.client.call
    ids = {s.id for s in call.states}
    return [(t, s) for t, s in transitions_of(ClientModel) if t.source.id in ids]


# --- freshness and reproducibility --------------------------------------------------------------


def test_committed_diagrams_are_fresh() -> None:
    stale = check_fresh(DIAGRAMS)
    assert stale == [], (
        f"diagrams/ is stale ({', '.join(stale)}): the spec changed since they were drawn; "
        "run `exovoice diagrams` (or `python3 run.py main`) and commit diagrams/")


def _generate(out: Path, seed: str) -> None:
    code = ("from pathlib import Path; import sys\n"
            "from exovoice.spec.diagrams import write_diagrams\n"
            "write_diagrams(Path(sys.argv[1]))\n")
    env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", code, str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_generation_is_byte_identical(tmp_path: Path) -> None:
    # Two processes with different hash seeds: set or dict-of-set ordering would show here.
    a, b = tmp_path / "a", tmp_path / "b"
    _generate(a, "1")
    _generate(b, "2")
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(f"{c}{ext}" for c in CHARTS for ext in FORMATS)
    assert names == sorted(p.name for p in b.iterdir())
    differ = [n for n in names if (a / n).read_bytes() != (b / n).read_bytes()]
    assert differ == []


def test_missing_graphviz_names_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import exovoice.spec.diagrams.render as render

    monkeypatch.setattr(render.shutil, "which", lambda _name: None)
    with pytest.raises(GraphvizMissing, match="apt-get install graphviz"):
        write_diagrams(tmp_path)
    assert not any(tmp_path.iterdir())


# --- completeness of the call-state chart ------------------------------------------------------


def test_every_call_transition_is_an_edge_with_its_section() -> None:
    dot = read_dot(DIAGRAMS / "call-state.dot")
    missing = []
    for t, spec in call_transitions():
        src, dst = t.source.id, (t.target or t.source).id
        for e in t.events:
            words, section = shown(str(e)), section_shown(spec.rule.section)
            found = False
            for tail, head, attrs in dot.edges:
                if head != dst or attrs.get("style") == "invis":
                    continue
                sources = dot.clusters.get(attrs["ltail"], set()) if "ltail" in attrs else {tail}
                if src in sources and any(words in c and c.endswith(section)
                                          for c in clauses(attrs.get("label", ""))):
                    found = True
                    break
            if not found:
                missing.append(f"{str(e)}: {src} -> {dst} ({words}, {section})")
    assert missing == []


def test_every_call_state_is_a_node() -> None:
    dot = read_dot(DIAGRAMS / "call-state.dot")
    labels = {attrs.get("label", name) for name, attrs in dot.nodes.items()}
    assert {s.value for s in CallState} <= labels
    assert "no call" in labels
    assert len([n for n, a in dot.nodes.items()
                if not n.endswith("__initial") and a.get("shape") != "note"]) == 13


def _tooltip_rule_ids(svg: Path) -> set[str]:
    text = html.unescape(svg.read_text(encoding="utf-8"))
    titles = re.findall(r'xlink:title="([^"]*)"', text)
    return {m for t in titles for m in re.findall(r"(?:^|\n)([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+): ", t)}


@pytest.mark.parametrize("chart", CHARTS)
def test_every_rule_of_a_chart_is_in_its_tooltips(chart: str) -> None:
    """Hovering an arrow (or a state's internal transitions) names the rule behind it."""
    expected = {r.strip() for e in extract(chart).edges for r in e.rule_id.split(",")}
    assert expected
    assert expected - _tooltip_rule_ids(DIAGRAMS / f"{chart}.svg") == set()


def test_call_and_composed_tooltips_cover_the_spec() -> None:
    call_rules = {spec.rule.id for _, spec in call_transitions()}
    assert call_rules - _tooltip_rule_ids(DIAGRAMS / "call-state.svg") == set()
    all_rules = {spec.rule.id for _, spec in transitions_of(ClientModel)}
    assert all_rules - _tooltip_rule_ids(DIAGRAMS / "composed.svg") == set()


# --- Mermaid ------------------------------------------------------------------------------------


@pytest.mark.parametrize("chart", CHARTS)
def test_mermaid_labels_are_escaped(chart: str) -> None:
    text = (DIAGRAMS / f"{chart}.mmd").read_text(encoding="utf-8")
    assert text.splitlines()[3] == "stateDiagram-v2"
    for line in text.splitlines():
        if " --> " in line and " : " in line:
            label = re.sub(r"#\w+;", "", line.split(" : ", 1)[1].replace("<br/>", ""))
            assert not set(label) & set(":[]{};<>\""), line


# --- layering -----------------------------------------------------------------------------------


def test_spec_charts_import_without_graphviz() -> None:
    code = (
        "import sys\n"
        "sys.modules['graphviz'] = None\n"
        "import exovoice.spec.charts, exovoice.spec.charts.index\n"
        "assert exovoice.spec.charts.ClientModel() is not None\n"
        "try:\n"
        "    import exovoice.spec.diagrams\n"
        "except ImportError:\n"
        "    print('diagrams need graphviz')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "diagrams need graphviz"


def test_only_the_diagram_writers_import_graphviz() -> None:
    importers = set()
    for path in (ROOT / "spec").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.split(".")[0] == "graphviz" for n in names):
                importers.add(path.relative_to(ROOT).as_posix())
    assert importers and importers <= {"spec/diagrams/dot.py", "spec/diagrams/render.py"}
