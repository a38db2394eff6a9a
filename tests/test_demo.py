"""`exovoice demo` as a user runs it: a subprocess, judged by what it prints and exits with."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from exovoice.reference.sip.endpoint import HAVE_PJSUA2, IMPORT_ERROR

ROOT = Path(__file__).resolve().parent.parent
needs_pjsua2 = pytest.mark.skipif(not HAVE_PJSUA2, reason=f"pjsua2 not importable: {IMPORT_ERROR}")


def exovoice(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """The installed command line (exovoice.spec.cli), so the entry point lookup is exercised too."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "exovoice.spec", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def assert_gone(pids: dict[str, int]) -> None:
    """The demo reaped every process it started (the platform and both phones)."""
    for name, pid in pids.items():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        pytest.fail(f"{name} (pid {pid}) is still running after the demo exited")


def names(timeline: list[dict[str, Any]], side: str) -> list[str]:
    return [h["name"] for h in timeline if h["side"] == side and h.get("kind") == "callback"]


@needs_pjsua2
def test_demo_call_goes_through_and_both_traces_conform(tmp_path: Path) -> None:
    message = "{order:42}"
    run = exovoice("demo", "--format", "json", "--talk", "1", "--message", message,
                   "--keep", str(tmp_path))
    assert run.returncode == 0, run.stderr + run.stdout[-2000:]
    out = json.loads(run.stdout)
    assert out["ok"] is True and out["error"] is None
    assert_gone(out["setup"]["pids"])

    for side in ("alice", "bob"):
        assert out["verdicts"][side]["conformant"] is True, out["verdicts"][side]
        assert (tmp_path / f"{side}.jsonl").exists()
        seen = names(out["timeline"], side)
        assert "onCallEstablished" in seen and seen[-1] == "onCallEnded", seen
        stats = out["stats"][side]
        assert stats["packetsSent"] > 0 and stats["packetsReceived"] > 0, stats
    assert names(out["timeline"], "alice")[1:] == [
        "onCallInitiated", "onCallRinging", "onCallEstablished", "onCallEnded"]
    assert names(out["timeline"], "bob")[1:] == [
        "onIncomingCall", "onCallEstablished", "onCallEnded"]
    ended = [h for h in out["timeline"] if h.get("name") == "onCallEnded"]
    assert {h["side"]: h["args"]["endReason"] for h in ended} == {
        "alice": "LOCAL_HANGUP", "bob": "REMOTE_HANGUP"}

    cdr = out["cdr"]
    assert cdr["status"] == "completed" and cdr["callee"] == "bob"
    assert cdr["custom_field"] == message and cdr["call_from"] == "sip:alice"
    assert cdr["push_delivered"] is True and cdr["duration"] > 0.5
    platform = [h["event"] for h in out["timeline"] if h["side"] == "platform"]
    for step in ("invite", "routed", "taken", "callee-invite", "answered", "bridged",
                 "call-ended"):
        assert step in platform, platform


HEX_KEY = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")  # a 32-byte key in hex
KNOWN_SECRETS = ("demo-api-token", "pushtoken")  # the demo account's and backend's passwords


def _descendants(root: int) -> dict[int, str]:
    """pid -> command line of every live process below `root`, from /proc."""
    parents: dict[int, int] = {}
    cmdlines: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        parents[int(entry.name)] = int(stat[stat.rfind(")") + 2:].split()[1])
        cmdlines[int(entry.name)] = cmd
    out, frontier = {}, {root}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier and p not in out}
        out.update({p: cmdlines[p] for p in frontier})
    return out


def _subscriber_token(candidate: str) -> bool:
    """A subscriber's access or refresh token (a push payload, also a JWT, is call data the
    SDK's trace records as relaySessionData's argument: it grants nothing by itself)."""
    import jwt

    try:
        claims = jwt.decode(candidate, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return True  # a JWT we cannot read: count it
    return claims.get("typ") in ("access", "refresh") or "callerId" not in claims


def _leaks(text: str) -> list[str]:
    jwts = re.findall(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*", text)
    found = [t[:16] + "..." for t in jwts if _subscriber_token(t)]
    found += [m.group(0)[:8] + "..." for m in HEX_KEY.finditer(text)]
    return found + [s for s in KNOWN_SECRETS if s in text]


@needs_pjsua2
def test_no_secret_or_token_on_a_command_line_or_in_a_log(tmp_path: Path) -> None:
    """While the demo runs, every command line of its processes (readable by every user of
    the machine) is read from /proc; afterwards every log and trace it kept and all it
    printed: none holds a JWT, a key in hex or a password. The phones get their refresh token
    on stdin and hold no key of the platform's."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "exovoice.spec", "demo", "--format", "json",
                             "--talk", "1", "--keep", str(tmp_path)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: dict[int, str] = {}
    try:
        while proc.poll() is None:  # the latest non-empty one: after exec, before it exits
            seen.update({pid: cmd for pid, cmd in _descendants(proc.pid).items() if cmd})
            time.sleep(0.05)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err + out[-2000:]
    cmdlines = list(seen.values())
    assert sum("exovoice.reference.app.phone" in c for c in cmdlines) == 2, cmdlines
    assert any("exovoice.reference.platform.sipserver" in c for c in cmdlines), cmdlines
    for cmd in cmdlines:
        assert not _leaks(cmd), f"a secret on a command line: {cmd[:300]}"
        assert "--secret-hex" not in cmd and "--token " not in cmd
    kept = sorted(tmp_path.iterdir())
    assert {p.name for p in kept} >= {"alice.jsonl", "bob.jsonl", "alice.log", "bob.log",
                                      "platform.log"}
    for path in kept:
        assert not _leaks(path.read_text(errors="replace")), f"a secret in {path.name}"
    assert not _leaks(out) and not _leaks(err)
    # the phones obtained their access tokens through the platform's API and registered there
    timeline = json.loads(out)["timeline"]
    assert [h["side"] for h in timeline if h.get("event") == "ready"].count("alice") == 1


@needs_pjsua2
def test_a_message_the_sdk_refuses_is_a_failed_call(tmp_path: Path) -> None:
    """Exit 1 with the reason; the SDK refusing the dial is still conformant behaviour."""
    run = exovoice("demo", "--format", "json", "--message", "has space",
                   "--keep", str(tmp_path))
    assert run.returncode == 1, run.stderr
    out = json.loads(run.stdout)
    assert "INVALID_PARAMETER" in out["error"]
    assert run.stderr.strip().splitlines() == [f"exovoice demo: {out['error']}"]
    assert all(v["conformant"] is True for v in out["verdicts"].values()), out["verdicts"]
    assert out["cdr"] is None  # nothing reached the platform
    assert_gone(out["setup"].get("pids", {}))


def test_help_explains_the_demo() -> None:
    run = exovoice("demo", "--help", timeout=30)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("usage: exovoice demo")
    for what in ("--message", "--talk", "--format", "--keep", "Exit status"):
        assert what in run.stdout
    top = exovoice("--help", timeout=30)
    assert top.returncode == 0 and "demo" in top.stdout


@pytest.mark.parametrize("args", [["--no-such-option"], ["--talk", "-1"],
                                  ["--format", "yaml"]])
def test_bad_usage_exits_2(args: list[str]) -> None:
    run = exovoice("demo", *args, timeout=30)
    assert run.returncode == 2
    assert run.stdout == ""
    assert "exovoice demo" in run.stderr


def test_missing_entry_point_is_unusable(monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.metadata

    from exovoice.spec.cli import main

    monkeypatch.setattr(importlib.metadata, "entry_points", lambda **kw: [])
    assert main(["demo"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "demo is not installed" in err[0]
