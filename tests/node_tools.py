"""Node and the npm packages some tests run: installed on first use into .venv/npm (never
committed), again only when tests/node/package.json changes. `python3 run.py test` installs
Debian's nodejs and npm when they are missing; a test that needs Node fails, never skips,
without them, since a skipped check would be a silent green."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = Path(__file__).resolve().parent / "node" / "package.json"
PREFIX = ROOT / ".venv" / "npm"


def node() -> str:
    path = shutil.which("node")
    assert path, "node is not installed: `python3 run.py test` installs Debian's nodejs and npm"
    return path


def node_modules() -> Path:
    """The folder with the packages of tests/node/package.json installed (once)."""
    want = hashlib.sha256(SPEC.read_bytes()).hexdigest()
    stamp = PREFIX / ".installed"
    if stamp.exists() and stamp.read_text().strip() == want and (PREFIX / "node_modules").is_dir():
        return PREFIX / "node_modules"
    npm = shutil.which("npm")
    assert npm, "npm is not installed: `python3 run.py test` installs Debian's nodejs and npm"
    PREFIX.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SPEC, PREFIX / "package.json")
    done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
                          cwd=PREFIX, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"npm install failed: {done.stderr.strip()[-2000:]}"
    stamp.write_text(want + "\n")
    return PREFIX / "node_modules"


def run_node(script: str, payload: object, timeout: float = 120) -> object:
    """Run a Node script (CommonJS) with the installed packages; it reads JSON on stdin and
    writes JSON on stdout."""
    modules = node_modules()
    done = subprocess.run([node(), "-e", script], input=json.dumps(payload), text=True,
                          capture_output=True, timeout=timeout,
                          env={**os.environ, "NODE_PATH": str(modules)})
    assert done.returncode == 0, f"node failed: {done.stderr.strip()[-3000:]}"
    return json.loads(done.stdout)
