"""The platform as N bridge workers behind the Kamailio front, as users start it: `exovoice
demo --workers 2` and the conformance target with EXOVOICE_SIP_WORKERS=2. A pushed call's
session take, sent to the one sessions URL the SDK knows, reaches the worker holding the call;
N > 1 without Kamailio is refused in one line (exit 2), never run some other way."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from exovoice.reference.platform import front
from exovoice.reference.sip.endpoint import HAVE_PJSUA2, IMPORT_ERROR

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [
    pytest.mark.skipif(not HAVE_PJSUA2, reason=f"pjsua2 not importable: {IMPORT_ERROR}"),
    pytest.mark.skipif(front.available() is not None, reason=str(front.available())),
]


def test_demo_with_two_workers_goes_through_the_front(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, "-m", "exovoice.spec", "demo", "--workers", "2",
                          "--format", "json", "--talk", "0.5", "--keep", str(tmp_path)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr + run.stdout[-2000:]
    out = json.loads(run.stdout)
    assert out["ok"] and out["setup"]["workers"] == 2
    for side in ("alice", "bob"):
        assert out["verdicts"][side]["conformant"] is True, out["verdicts"][side]
    sides = {h["side"] for h in out["timeline"]}
    assert {"worker1", "worker2", "front"} <= sides, sides
    carried = {h["side"] for h in out["timeline"] if h.get("event") in ("invite", "taken",
                                                                         "bridged")}
    # one worker carried the call, its take included
    assert len(carried) == 1 and next(iter(carried)).startswith("worker"), carried
    assert out["cdr"]["status"] == "completed" and out["cdr"]["push_delivered"] is True
    for pid in out["setup"]["pids"].values():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def _config() -> dict[str, Any]:
    return {"account": {"sid": "w-acct", "api_key": "k", "api_token": "t",
                        "sip_exophone": "sip:0801", "dial_whom_url": "http://127.0.0.1:9/d",
                        "push_url": "http://127.0.0.1:9/p"},
            "subscribers": ["carol"], "max_lifetime": 60}


def test_a_take_reaches_the_worker_whose_session_it_is() -> None:
    """Without the forward, worker 1 answers every take itself (404). With it, a take for
    worker 2's session is worker 2's to answer, and when worker 2 is gone, 503 naming it."""
    from exovoice.reference.platform.cluster import Cluster
    from exovoice.reference.wire.http import request

    cluster = Cluster(_config(), 2)
    try:
        api = cluster.ready["api_url"]
        assert api == cluster.ready["workers"][0]["api_url"]

        def take(session: str) -> Any:
            return request("POST", f"{api}/sessions/{session}/take", body={"contact": "sip:x@h"},
                           headers={"Authorization": "Bearer nope"}, timeout=5)

        assert take("w1-snothing").status == 404
        assert take("w2-snothing").status == 404  # worker 2 answered it
        os.kill(cluster.ready["workers"][1]["pid"], signal.SIGKILL)
        gone = take("w2-snothing")
        assert gone.status == 503 and "w2" in gone.json()["message"], gone
        assert take("w1-snothing").status == 404  # its own sessions are still its own
    finally:
        cluster.close()


def test_pushed_calls_over_two_workers_pass_the_features(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A few scenarios of the conformance run, the push-driven incoming call among them, with
    the platform as two workers: calls alternate between them, so takes cross workers."""
    from exovoice.reference.targets.sip import WORKERS_ENV, close_world
    from exovoice.spec.conform.runner import main

    monkeypatch.setenv(WORKERS_ENV, "2")
    close_world()
    try:
        code = main(["--client", "reference-sip", "-k",
                     "incoming or push or missed"])
        from exovoice.reference.targets import sip as target

        world = target._world
        assert world is not None and world.cluster is not None
        cdrs = world.cluster.send("cdrs")["cdrs"]
    finally:
        close_world()
    out = capsys.readouterr().out
    assert code == 0 and "FAIL" not in out, out
    summary = [line for line in out.splitlines() if " scenarios: " in line]
    assert summary and " 0 failed" in summary[-1] and "passed" in summary[-1], out
    assert len(cdrs) >= 2, cdrs


def test_workers_without_kamailio_are_refused_in_one_line(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from exovoice.reference.demo.show import main as demo
    from exovoice.reference.targets.sip import WORKERS_ENV, close_world
    from exovoice.spec.conform.runner import main as conform

    monkeypatch.setattr(front, "KAMAILIO", None)
    assert demo(["--workers", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "kamailio is not installed" in err[0], err
    assert demo(["--workers", "0"]) == 2
    assert "at least 1" in capsys.readouterr().err
    monkeypatch.setenv(WORKERS_ENV, "2")
    close_world()
    assert conform(["--client", "reference-sip", "-k", "incoming"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "kamailio is not installed" in err[0], err
    monkeypatch.setenv(WORKERS_ENV, "two")
    assert conform(["--client", "reference-sip", "-k", "incoming"]) == 2
    assert "not a whole number" in capsys.readouterr().err
