"""bench/sip.py with tiny counts: the wiring works, the counts add up, nothing is left running.

No timing assertions: the figures depend on the machine; this only guards the benchmark
against rotting (a renamed event, a changed sipp statistics column, a leaked process)."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest

from exovoice.reference.sip.endpoint import HAVE_PJSUA2, IMPORT_ERROR

pytestmark = [
    pytest.mark.skipif(shutil.which("sipp") is None,
                       reason="sipp not installed (apt-get install sip-tester)"),
    pytest.mark.skipif(not HAVE_PJSUA2, reason=f"pjsua2 not importable: {IMPORT_ERROR}"),
]


def test_percentile_is_nearest_rank() -> None:
    from bench.sip import percentile

    xs = [float(x) for x in range(1, 51)]
    assert percentile(xs, 95) == 48.0 and percentile(xs, 50) == 25.0
    assert percentile([7.0], 95) == 7.0


def test_tiny_run_counts_add_up_and_cleans_up(tmp_path: Path) -> None:
    from bench import sip

    before = {t.name for t in threading.enumerate()}
    with sip.world(max_lifetime=60) as w:
        targets = w.targets()
        assert list(targets) == ["direct", "platform", "push"] and targets["push"].push
        lat = sip.measure_latency(w, dict(targets), 3)
        tp = sip.measure_throughput(w, 5, rate=20, concurrency=1, pause_ms=0,
                                    workdir=tmp_path)
        cdrs = w.cdrs()
        device_left = w.device.pending()
    assert w.phone is not None
    result = sip.report(w, lat, tp, warmup=1, load_start=sip._loadavg())

    assert set(lat) == {"direct", "platform", "push"}
    for series in lat.values():
        assert series.calls == 3 and all(ms > 0 for ms in series.samples_ms)
        assert 0 < series.median_ms <= series.p95_ms
    latency = result["latency"]
    assert latency["ratio_median"] > 0 and latency["push"]["calls"] == 3
    for key in ("push_over_direct", "push_over_platform"):
        assert latency[key]["median"] > 0 and latency[key]["p95"] > 0

    # the push series went the guide's way: 4 pushes (1 warm-up + 3) reached carol's device,
    # her app relayed each, her SDK took each session and answered each call, none dropped
    assert device_left == []
    phone = w.phone.counts
    assert phone["trace:relaySessionData"] == 4 and phone["trace:onIncomingCall"] == 4
    assert phone["trace:onCallEstablished"] == 4 and phone["trace:onCallEnded"] == 4
    assert phone["answering"] == 4 and phone["dropped"] == 0 and phone["error"] == 0
    assert result["process_problems"]["phone"] == {}

    assert (tp.successful, tp.failed, tp.created, tp.sipp_exit) == (5, 0, 5, 0), tp.errors
    assert tp.calls_per_s > 0 and tp.elapsed_s > 0 and tp.errors == []
    assert tp.cdr_completed == 5 and tp.ok and result["ok"]
    # (1 warm-up + 3) client calls through the platform to the peer and as many by push to
    # carol, then 5 sipp calls, all completed on the platform
    assert sorted(c["status"] for c in cdrs) == ["completed"] * 13
    by_push = [c for c in cdrs if c.get("custom_field") == sip.PUSH_MESSAGE]
    assert len(by_push) == 4 and {c.get("callee") for c in by_push} == {sip.PUSH_CALLEE}
    assert all(c.get("push_delivered") for c in by_push)

    text = sip.render(result)
    assert "platform / direct" in text and "0 failed" in text and "OK" in text
    assert "push / direct" in text and "push / platform" in text and "HTTP take" in text
    assert json.loads(json.dumps(result)) == result

    assert w.server.proc.poll() == 0 and w.peer.proc.poll() == 0 and w.phone.proc.poll() == 0
    assert {t.name for t in threading.enumerate()} <= before, "leaked threads"


def test_a_lone_worker_flooded_with_invites_slows_down_instead_of_aborting(
        tmp_path: Path) -> None:
    """No front: 600 INVITEs at 300/s, 100 at once, straight at one platform process.
    pjsua opens two media sockets for every INVITE a free call slot lets in, before anyone can
    refuse it, and pjlib aborts the process past its 64 socket slots (it did, SIGABRT, within
    a second of this flood). The pump now stops polling while the INVITEs a poll may let in
    could not have theirs (reference.sip.sockets): the process lives, every INVITE gets a
    final answer, and afterwards it completes calls."""
    from bench import sip

    with sip.world(max_lifetime=60, phone=False) as w:
        tp = sip.measure_throughput(w, 600, rate=300, concurrency=100, pause_ms=0,
                                    workdir=tmp_path)
        assert w.server.proc.poll() is None, "the platform process died under the flood"
        assert tp.failed == 0 and tp.successful == 600, tp
        targets = w.targets()
        lat = sip.measure_latency(w, {"platform": targets["platform"]}, 3, warmup=0)
    assert lat["platform"].calls == 3
