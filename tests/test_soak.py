"""The soak (bench/soak.py) in short: 6 s of a mix of answered calls of random length, busy
callees and tampered tokens through the Kamailio front to two workers. Nothing may be lost:
every call ends with the answer its stream expects (or a 503 CONGESTION_ERROR refusal from
the front), every call a worker saw has exactly one final CDR matching that answer, and no
worker dies. Throughput is the benchmark's business, not asserted here."""

from __future__ import annotations

import shutil

import pytest

from exovoice.reference.platform.front import available
from exovoice.reference.sip.endpoint import HAVE_PJSUA2, IMPORT_ERROR

pytestmark = [
    pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp not installed"),
    pytest.mark.skipif(not HAVE_PJSUA2, reason=f"pjsua2 not importable: {IMPORT_ERROR}"),
    pytest.mark.skipif(available() is not None, reason=str(available())),
]


def test_a_short_soak_loses_nothing(no_leaks):
    from bench.soak import quiet, run

    r = run(seconds=6, rate=10, workers=2, progress=quiet)
    assert r["ok"], r["failures"]
    streams = r["streams"]
    assert streams["answered"]["final_answers"].get("200", 0) >= 10, streams["answered"]
    assert streams["busy"]["final_answers"].get("486", 0) >= 1, streams["busy"]
    assert streams["tampered"]["final_answers"].get("403", 0) >= 1, streams["tampered"]
    assert all(r["workers_alive"].values())
    for name, before in r["usage_before"].items():
        after = r["usage_after"][name]
        assert after["threads"] <= before["threads"] + 2, (name, before, after)
        assert after["sockets"] <= before["sockets"] + 4, (name, before, after)
