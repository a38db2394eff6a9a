#!/usr/bin/env python3
"""Set up and run exovoice on a fresh machine with only Python 3.

    python3 run.py main    # the main job: diagrams, rules, then `exovoice demo` (one real call)
    python3 run.py test    # the whole test suite

Each command creates .venv (once), installs exovoice with its test dependencies into it
(again only when pyproject.toml changed), makes sure the system tools exist (Graphviz's `dot`
and sipp, installed from Debian's packages graphviz and sip-tester when running as root,
otherwise exiting 2 with the one-line instruction), then runs. Only the standard library is used here, so it runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".exovoice-installed"

# Debian packages the project needs, by the command that proves each is there.
SYSTEM_TOOLS = {"dot": "graphviz", "sipp": "sip-tester"}


def say(msg: str) -> None:
    print(f"[run.py] {msg}", flush=True)


def ensure_system_tools() -> None:
    missing = {cmd: pkg for cmd, pkg in SYSTEM_TOOLS.items() if shutil.which(cmd) is None}
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
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[sip,test]"], check=True)
    STAMP.write_text(want + "\n")


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in ("main", "test"):
        print("usage: python3 run.py main | test", file=sys.stderr)
        return 2
    ensure_venv()
    ensure_system_tools()
    os.chdir(ROOT)
    if argv[0] == "main":
        for step in (["diagrams", "--out", "diagrams"], ["rules"], ["demo"]):
            rc = subprocess.run([str(BIN / "exovoice"), *step]).returncode
            if rc:
                return rc
        return 0
    return subprocess.run([str(BIN / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"]
                          ).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
