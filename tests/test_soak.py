"""The soak (bench/soak.py) in short: 8 s of the whole mix through the Kamailio front to two
workers: sipp callers (answered calls of random length, busy callees, no answer until
max_ringing_duration, callers cancelling, tampered tokens) and reference clients (answered
calls, an RTP outage mid-call, a cancel, no answer, busy). Nothing may be lost: every call
ends with the answer its stream expects (or a 503 CONGESTION_ERROR refusal), every call a
worker saw has exactly one final CDR matching that answer, every reference client's trace is
conformant by `exovoice validate --complete`, no worker dies and no process keeps what a call
took. Throughput is the benchmark's business, not asserted here."""

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

    r = run(seconds=8, rate=10, workers=2, progress=quiet)
    assert r["ok"], r["failures"]
    streams = r["streams"]
    assert streams["answered"]["final_answers"].get("200", 0) >= 10, streams["answered"]
    # the other streams' calls all got a final answer, whether carried or refused
    for name in ("busy", "noanswer", "ringing", "tampered"):
        s = streams[name]
        assert sum(s["final_answers"].values()) == s["calls"], (name, s)
    verdicts = r["verdicts"]
    assert {n: v["conformant"] for n, v in verdicts.items() if n != "exit"} == {
        "dave": True, "paul": True, "nora": True}, verdicts
    # dave's calls went every way ROUNDS sends them, and some were carried to their end
    assert r["client_rounds"] >= 5, r["client_calls"]
    carried = {kind: n for kind, c in r["client_calls"].items() for status, n in c.items()
               if not status.startswith("refused")}
    assert len(carried) >= 3, r["client_calls"]
    assert all(r["workers_alive"].values())
    for name, before in r["usage_before"].items():
        after = r["usage_after"][name]
        assert after["threads"] <= before["threads"] + 2, (name, before, after)
        assert after["sockets"] <= before["sockets"] + 4, (name, before, after)
