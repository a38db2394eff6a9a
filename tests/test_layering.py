"""The one-way layering of ARCHITECTURE.md: spec never imports reference, pjsua2 or an HTTP
framework, and its core needs only python-statemachine, pydantic and the standard library."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("reference", "pjsua2", "aiohttp", "flask", "fastapi", "requests", "httpx")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


def test_spec_imports_nothing_above_it() -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(_imports(p) & set(FORBIDDEN))
        for p in (ROOT / "spec").rglob("*.py")
        if _imports(p) & set(FORBIDDEN)
    }
    assert offenders == {}


def test_spec_core_works_with_pjsua2_and_reference_blocked() -> None:
    code = (
        "import sys\n"
        "for name in ('pjsua2', 'reference', 'graphviz', 'pytest_bdd'):\n"
        "    sys.modules[name] = None\n"
        "import spec, spec.vocabulary, spec.rules, spec.charts\n"
        "m = spec.charts.ClientModel()\n"
        "m.fire('initialize', params={'subscriberName': 'alice'})\n"
        "print(m.leaf_states()[0])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "initializing"
