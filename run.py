#!/usr/bin/env python3
"""Set up and run exovoice on a fresh machine with only Python 3.

    python3 run.py main             # the main job: diagrams, then `exovoice demo` (one real call)
    python3 run.py test [PYTEST...]  # the whole test suite; extra arguments go to pytest

Each command creates .venv (once), installs exovoice with its test dependencies into it
(again only when pyproject.toml changed), makes sure the system tools it needs exist, then
runs. The main job needs Graphviz's `dot`; the tests also need sipp, Chromium with its driver
(the HTML report is tested in a real browser) and Node with npm (the XState export and the
Cucumber JSON are checked under Node). They come from Debian's packages, installed with
apt-get when running as root; otherwise run.py exits 2 with the one-line instruction. Only the
standard library is used here, so it runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".exovoice-installed"

# Debian packages the project needs, by the command that proves each is there: the main job
# draws diagrams; the tests also drive sipp, Kamailio (the platform's SIP front), a headless
# browser and Node.
MAIN_TOOLS = {"dot": "graphviz"}
SYSTEM_TOOLS = {**MAIN_TOOLS, "sipp": "sip-tester", "kamailio": "kamailio",
                "chromium": "chromium", "chromedriver": "chromium-driver", "node": "nodejs",
                "npm": "npm"}


def say(msg: str) -> None:
    print(f"[run.py] {msg}", flush=True)


def ensure_system_tools(tools: dict[str, str]) -> None:
    missing = {cmd: pkg for cmd, pkg in tools.items() if shutil.which(cmd) is None}
    if not missing:
        return
    pkgs = sorted(set(missing.values()))
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if is_root and shutil.which("apt-get"):
        say(f"installing {' '.join(pkgs)} with apt-get")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", *pkgs], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        still = [c for c in missing if shutil.which(c) is None]
        if not still:
            return
    print(f"run.py: {', '.join(sorted(missing))} not found; install it first: "
          f"sudo apt-get install {' '.join(pkgs)}", file=sys.stderr)
    sys.exit(2)


def ensure_venv() -> None:
    if not (BIN / "python").exists():
        say("creating .venv")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == want:
        return
    say("installing exovoice and its dependencies into .venv")
    pip = [str(BIN / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    # the build backend's warnings (setuptools' banner on editable installs) are for package
    # authors, not for someone setting up a checkout
    quiet = dict(os.environ, PYTHONWARNINGS="ignore")
    subprocess.run([*pip, "--upgrade", "pip"], check=True, env=quiet)
    subprocess.run([*pip, "-e", f"{ROOT}[sip,test,dask]"], check=True, env=quiet)
    STAMP.write_text(want + "\n")


def rule_count() -> str:
    """The number of rules, from `exovoice rules --format json` (the list itself is long)."""
    done = subprocess.run([str(BIN / "exovoice"), "rules", "--format", "json"],
                          capture_output=True, text=True)
    if done.returncode:
        return "the spec's rules"
    return f"{len(json.loads(done.stdout))} rules"


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("main", "test") or (argv[0] == "main" and len(argv) > 1):
        print("usage: python3 run.py main | python3 run.py test [pytest arguments...]",
              file=sys.stderr)
        return 2
    ensure_venv()
    ensure_system_tools(MAIN_TOOLS if argv[0] == "main" else SYSTEM_TOOLS)
    os.chdir(ROOT)
    if argv[0] == "main":
        rc = subprocess.run([str(BIN / "exovoice"), "diagrams", "--out", "diagrams"]).returncode
        if rc:
            return rc
        say(f"the spec has {rule_count()}: `.venv/bin/exovoice rules` lists them with their "
            "guide sections")
        return subprocess.run([str(BIN / "exovoice"), "demo"]).returncode
    return subprocess.run([str(BIN / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *argv[1:]]).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
