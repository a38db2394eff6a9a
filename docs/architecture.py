"""The project's rooms and the one-way arrows between them, measured from the code.

    python docs/architecture.py          # rewrite docs/architecture.md from the code
    python docs/architecture.py --check  # exit 1 when docs/architecture.md is stale

A room is a package (or, for the spec's core, a few modules) with one role; `ROOMS` declares,
for each, the rooms it may import. The arrows drawn are the imports the code really makes
(every import counts: at module level, inside a function, under TYPE_CHECKING), so the page
cannot go stale without tests/test_layering.py failing, and neither can the code climb a
floor or close a circle without it failing either. Only the standard library is used.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
PACKAGE = "exovoice"
# import package part -> the repository folder it is mapped from (setup.py says the same)
SOURCES = {"spec": ROOT / "spec", "reference": ROOT / "reference"}
OUTSIDE = {"bench": ROOT / "bench", "tests": ROOT / "tests"}  # checked for circles only


@dataclass(frozen=True)
class Room:
    name: str
    modules: tuple[str, ...]  # dotted prefixes under exovoice (a package or single modules)
    may_import: tuple[str, ...]


_SPEC_CORE = ("spec.vocabulary", "spec.rules", "spec.arguments", "spec.base", "spec.outputs")
SPEC_ROOMS = ("spec core", "spec.trace", "spec.charts", "spec.validate", "spec.diagrams",
              "spec.export", "spec.report", "spec.conform", "spec.conform.mutants",
              "spec.endpoints", "spec.probe", "spec.check", "spec.explore", "spec cli")

# Bottom first. Every room of reference/ may import any room of spec/ (spec is below it).
ROOMS: tuple[Room, ...] = (
    Room("spec core", ("spec",) + _SPEC_CORE, ()),
    Room("spec.trace", ("spec.trace",), ("spec core",)),
    Room("spec.charts", ("spec.charts",), ("spec core",)),
    Room("spec.validate", ("spec.validate",), ("spec core", "spec.trace", "spec.charts")),
    Room("spec.diagrams", ("spec.diagrams",), ("spec core", "spec.charts")),
    Room("spec.export", ("spec.export",), ("spec core", "spec.charts")),
    Room("spec.report", ("spec.report",),
         ("spec core", "spec.trace", "spec.charts", "spec.validate", "spec.diagrams")),
    Room("spec.conform", ("spec.conform",),
         ("spec core", "spec.trace", "spec.charts", "spec.validate", "spec.report")),
    # the broken clients (spec.conform finds them by entry point, never by import)
    Room("spec.conform.mutants", ("spec.conform.mutants", "spec.conform.broken"),
         ("spec core", "spec.conform")),
    Room("spec.endpoints", ("spec.endpoints",), ("spec core",)),
    Room("spec.probe", ("spec.probe",), ("spec core", "spec.endpoints")),
    # model checking of the charts (exovoice check): counterexamples are trace files
    Room("spec.check", ("spec.check",), ("spec core", "spec.trace", "spec.charts")),
    # model-based testing of a client (exovoice explore): the conformance driver and step
    # library, judged online by the validator
    Room("spec.explore", ("spec.explore",),
         ("spec core", "spec.trace", "spec.charts", "spec.validate", "spec.conform")),
    Room("spec cli", ("spec.cli", "spec.__main__"),
         ("spec core", "spec.trace", "spec.charts", "spec.validate", "spec.diagrams",
          "spec.export", "spec.report", "spec.conform", "spec.probe", "spec.check",
          "spec.explore")),
    Room("reference.wire", ("reference.wire",), ()),
    Room("reference.procs", ("reference.procs",), ()),
    Room("reference.sip", ("reference.sip",), ("reference.procs",)),
    Room("reference.net", ("reference.net",), ("reference.wire", "reference.sip")),
    Room("reference.sdk", ("reference.sdk",), ("reference.wire", "reference.net")),
    Room("reference.platform", ("reference.platform",),
         ("reference.wire", "reference.procs", "reference.sip")),
    Room("reference.backend", ("reference.backend",), ("reference.wire",)),
    Room("reference.app", ("reference.app",),
         ("reference.procs", "reference.sip", "reference.net", "reference.sdk",
          "reference.backend")),
    Room("reference.targets", ("reference.targets",),
         ("reference.wire", "reference.procs", "reference.sip", "reference.net",
          "reference.sdk", "reference.app", "reference.platform", "reference.backend")),
    Room("reference.demo", ("reference.demo",),
         ("reference.procs", "reference.sip", "reference.platform", "reference.backend")),
    Room("reference", ("reference",), ()),  # the package's face: a docstring, no imports
)


def modules() -> dict[str, Path]:
    """Every module of the project by its dotted name (exovoice.* for the package)."""
    out: dict[str, Path] = {}
    for part, folder in {**SOURCES, **OUTSIDE}.items():
        for path in sorted(folder.rglob("*.py")):
            rel = path.relative_to(folder).with_suffix("").parts
            if rel[-1] == "__init__":
                rel = rel[:-1]
            prefix = f"{PACKAGE}.{part}" if part in SOURCES else part
            out[".".join((prefix, *rel))] = path
    return out


def _resolve(module: str, is_package: bool, level: int, name: str | None) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def imports(mods: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the project modules it imports (the most specific module each names)."""
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                src = (_resolve(mod, is_pkg, node.level, node.module) if node.level
                       else node.module or "")
                for a in node.names:  # `from pkg import module` names the module itself
                    targets.append(f"{src}.{a.name}" if f"{src}.{a.name}" in mods else src)
            for t in targets:
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t != mod:
                    graph[mod].add(t)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                elif nxt in on:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def room_of(module: str) -> Room | None:
    """The room whose declared prefix names `module` most closely (None: outside the rooms)."""
    best: tuple[int, Room] | None = None
    for room in ROOMS:
        for prefix in room.modules:
            full = f"{PACKAGE}.{prefix}"
            if module == full or module.startswith(full + "."):
                if best is None or len(full) > best[0]:
                    best = (len(full), room)
    return best[1] if best else None


def room_arrows(graph: dict[str, set[str]]) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(room, room it imports) -> the module imports that make the arrow."""
    out: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for a, targets in graph.items():
        ra = room_of(a)
        for b in targets:
            rb = room_of(b)
            if ra and rb and ra.name != rb.name:
                out.setdefault((ra.name, rb.name), []).append((a, b))
    return out


def upward(arrows: dict[tuple[str, str], list[tuple[str, str]]]) -> list[str]:
    """Every arrow a room's declaration does not allow, with the imports that make it."""
    rooms = {r.name: r for r in ROOMS}
    bad = []
    for (ra, rb), pairs in sorted(arrows.items()):
        allowed = rb in rooms[ra].may_import or (
            ra.startswith("reference") and rb in SPEC_ROOMS)
        if not allowed:
            bad.append(f"{ra} -> {rb}: " + ", ".join(f"{a} imports {b}" for a, b in sorted(pairs)))
    return bad


def _first_sentence(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    text = " ".join(doc.split("\n\n")[0].split())
    return re.split(r"(?<=[.?])\s+(?=[A-Z`])", text, maxsplit=1)[0].rstrip(".")


def render() -> str:
    mods = modules()
    arrows = room_arrows(imports(mods))
    ids = {r.name: f"r{i}" for i, r in enumerate(ROOMS)}
    spec = [r for r in ROOMS if r.name in SPEC_ROOMS]
    ref = [r for r in ROOMS if r.name not in SPEC_ROOMS and r.name != "reference"]
    lines = [
        "# Architecture: the rooms and their arrows",
        "",
        "<!-- generated by `python docs/architecture.py` from the code's imports; "
        "tests/test_layering.py fails when it is stale -->",
        "",
        "One import package, `exovoice`, mapped from the repository's own folders: `spec/` is",
        "`exovoice.spec`, `reference/` is `exovoice.reference`, `features/` ships as",
        "`exovoice.features`. Each box is a room (a package with one role); an arrow is an import",
        "the code really makes, always downward: `spec` never imports `reference`, and no",
        "module imports another that imports it back (tests/test_layering.py holds both, and",
        "that every arrow is one its room declares in docs/architecture.py). Arrows from a",
        "reference room to the spec are drawn once, to the spec as a whole.",
        "",
        "```mermaid",
        "flowchart TB",
    ]
    for title, group in (("exovoice.reference", ref), ("exovoice.spec", spec)):
        lines.append(f'  subgraph {title.replace(".", "_")}["{title}"]')
        for r in group:
            lines.append(f'    {ids[r.name]}["{r.name}"]')
        lines.append("  end")
    drawn = set()
    for (ra, rb) in sorted(arrows):
        if rb in SPEC_ROOMS and ra not in SPEC_ROOMS:
            key = (ra, "exovoice_spec")
            if key not in drawn:
                drawn.add(key)
                lines.append(f"  {ids[ra]} --> exovoice_spec")
            continue
        lines.append(f"  {ids[ra]} --> {ids[rb]}")
    lines += ["```", "", "| room | what it is | imports (measured) |", "| --- | --- | --- |"]
    mods_paths = modules()
    for r in spec + ref:
        face = mods_paths.get(f"{PACKAGE}.{r.modules[0]}")
        what = _first_sentence(face) if face else ""
        if r.name == "spec core":
            what = ("the vocabulary (the guide's enums), the rules with their ids and guide "
                    "sections, argument checks, the strict base chart, the check of the paths "
                    "a command writes")
        elif r.name == "spec cli":
            what = "the `exovoice` command line"
        uses = sorted({rb for (ra, rb) in arrows if ra == r.name})
        lines.append(f"| `{r.name}` | {what.replace('|', '/')} | "
                     f"{', '.join(f'`{u}`' for u in uses) or 'nothing'} |")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python docs/architecture.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="exit 1 when the page is stale")
    args = ap.parse_args(argv)
    text = render()
    if args.check:
        if not DOC.exists() or DOC.read_text(encoding="utf-8") != text:
            print(f"{DOC.relative_to(ROOT)} is stale: run python docs/architecture.py",
                  file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
