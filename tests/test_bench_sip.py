"""bench/sip.py with tiny counts: the wiring works, the counts add up, nothing is left running.

No timing assertions: the figures depend on the machine; this only guards the benchmark
against rotting (a renamed event, a changed sipp statistics column, a leaked process)."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest

from reference.sip.endpoint import HAVE_PJSUA2, IMPORT_ERROR

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
        lat = sip.measure_latency(w, {"direct": w.peer.ready["uri"],
                                      "platform": w.server.ready["sip_uri"]}, 3)
        direct, via = lat["direct"], lat["platform"]
        tp = sip.measure_throughput(w, 5, rate=20, concurrency=1, pause_ms=0,
                                    workdir=tmp_path)
        cdrs = w.cdrs()
    result = sip.report(w, direct, via, tp, warmup=1)

    for lat in (direct, via):
        assert lat.calls == 3 and all(ms > 0 for ms in lat.samples_ms)
        assert 0 < lat.median_ms <= lat.p95_ms
    assert result["latency"]["ratio_median"] > 0

    assert (tp.successful, tp.failed, tp.created, tp.sipp_exit) == (5, 0, 5, 0), tp.errors
    assert tp.calls_per_s > 0 and tp.elapsed_s > 0 and tp.errors == []
    assert tp.cdr_completed == 5 and tp.ok and result["ok"]
    # 1 warm-up + 3 client calls, then 5 sipp calls, all completed on the platform
    assert sorted(c["status"] for c in cdrs) == ["completed"] * 9

    text = sip.render(result)
    assert "platform / direct" in text and "0 failed" in text and "OK" in text
    assert json.loads(json.dumps(result)) == result

    assert w.server.proc.poll() == 0 and w.peer.proc.poll() == 0
    assert {t.name for t in threading.enumerate()} <= before, "leaked threads"
