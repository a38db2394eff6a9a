"""The one-way layering of ARCHITECTURE.md, held on the code's own imports: spec never imports
reference, pjsua2 or an HTTP framework; its core needs only python-statemachine, pydantic and
the standard library; no module imports one that imports it back; no room imports a room its
declaration (docs/architecture.py) does not allow; docs/architecture.md draws what the code
does today."""

from __future__ import annotations

import ast
import re
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("exovoice.reference", "pjsua2", "aiohttp", "flask", "fastapi", "requests", "httpx")


def _architecture() -> ModuleType:
    spec = importlib.util.spec_from_file_location("architecture", ROOT / "docs" / "architecture.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["architecture"] = mod
    spec.loader.exec_module(mod)
    return mod


ARCH = _architecture()


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module)
    return out


def test_spec_imports_nothing_above_it() -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(i for i in _imports(p) if i.startswith(FORBIDDEN))
        for p in (ROOT / "spec").rglob("*.py")
        if any(i.startswith(FORBIDDEN) for i in _imports(p))
    }
    assert offenders == {}


def test_nothing_imports_the_old_top_level_names() -> None:
    """`spec` and `reference` are folders of the checkout, not import names: an import of
    them would work in the checkout (the current directory is on the path) and break for
    every user, or worse, import the user's own package of that name."""
    offenders = {}
    for folder in ("spec", "reference", "tests", "bench", "docs", "examples"):
        for p in (ROOT / folder).rglob("*.py"):
            bad = sorted(i for i in _imports(p) if i.split(".")[0] in ("spec", "reference"))
            if bad:
                offenders[str(p.relative_to(ROOT))] = bad
    offenders.pop("tests/test_install.py", None)  # it writes a user's project that has them
    assert offenders == {}
    # nor does any command line run them as modules
    runs = [str(p.relative_to(ROOT)) for folder in ("spec", "reference", "tests", "bench")
            for p in (ROOT / folder).rglob("*.py")
            if re.search(r'"-m",\s*"(spec|reference)[".]', p.read_text(encoding="utf-8"))]
    assert runs == []


def test_spec_core_works_with_pjsua2_and_reference_blocked() -> None:
    code = (
        "import sys\n"
        "for name in ('pjsua2', 'exovoice.reference', 'graphviz', 'pytest_bdd'):\n"
        "    sys.modules[name] = None\n"
        "import exovoice.spec, exovoice.spec.vocabulary, exovoice.spec.rules, exovoice.spec.charts\n"
        "m = exovoice.spec.charts.ClientModel()\n"
        "m.fire('initialize', params={'subscriberName': 'alice'})\n"
        "print(m.leaf_states()[0])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "initializing"


def test_no_module_imports_one_that_imports_it_back() -> None:
    """Every import counts: at module level, inside functions and under TYPE_CHECKING."""
    graph = ARCH.imports(ARCH.modules())
    assert ARCH.circles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert ARCH.circles(graph) == [["a", "b", "c"]]


def test_every_import_between_rooms_is_one_the_room_declares() -> None:
    arrows = ARCH.room_arrows(ARCH.imports(ARCH.modules()))
    assert ARCH.upward(arrows) == []


def test_every_module_of_the_package_is_in_a_room() -> None:
    roomless = [m for m in ARCH.modules() if m.startswith("exovoice.")
                and ARCH.room_of(m) is None]
    assert roomless == []


def test_the_declared_rooms_form_one_way_floors() -> None:
    """The declarations themselves have no circle, so the floors can be drawn bottom-up."""
    graph = {r.name: set(r.may_import) for r in ARCH.ROOMS}
    assert ARCH.circles(graph) == []
    assert all(set(r.may_import) <= set(graph) for r in ARCH.ROOMS)


def test_an_upward_import_is_reported_with_the_module_that_makes_it() -> None:
    graph = {"exovoice.reference.sip.call": {"exovoice.reference.sdk.client"}}
    bad = ARCH.upward(ARCH.room_arrows(graph))
    assert bad == ["reference.sip -> reference.sdk: exovoice.reference.sip.call imports "
                   "exovoice.reference.sdk.client"]


def test_every_room_package_says_what_it_is_for() -> None:
    mods = ARCH.modules()
    for room in ARCH.ROOMS:  # the room's face: its package, or its first module
        path = mods[f"exovoice.{room.modules[0]}"]
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        assert doc and len(doc.split()) >= 12, f"{path} has no paragraph saying its role"


def test_architecture_page_is_what_the_code_does() -> None:
    assert (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8") == ARCH.render(), (
        "docs/architecture.md is stale: run python docs/architecture.py")
