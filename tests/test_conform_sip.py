"""exovoice conform --client reference-sip: the guide's features against the reference client
over real SIP/RTP (the platform simulator as a process, the customer backend, a far SIP
party), the push-driven incoming call included.

Every scenario must pass except the ones the real stack cannot give a stimulus for, which
must be reported not-run with their reason: this list is the contract, so a scenario that
starts failing, or silently becomes not-run, breaks the test."""

from __future__ import annotations

import re
import threading

import pytest

from exovoice.reference.sip.endpoint import HAVE_PJSUA2, IMPORT_ERROR

pytestmark = pytest.mark.skipif(not HAVE_PJSUA2, reason=f"pjsua2 not importable: {IMPORT_ERROR}")

# scenario name -> what the real stack cannot do (a fragment of the not-run reason)
EXPECTED_NOT_RUN = {
    "In CONNECTING the calling screen shows the guide's message [CONNECTING-Connecting]":
        "CONNECTING lasts from the 200 to the ACK",
    "A call the network drops ends with onCallEnded":
        "a final response cannot end an answered call",
}


def test_every_feature_over_real_sip(capsys: pytest.CaptureFixture[str]) -> None:
    from exovoice.reference.targets.sip import close_world
    from exovoice.spec.conform.runner import main

    before = set(threading.enumerate())
    try:
        code = main(["--client", "reference-sip"])
    finally:
        close_world()
    out = capsys.readouterr().out
    assert code == 0, out
    assert "FAIL" not in out, out
    not_run = dict(re.findall(r"^\[\s*\d+/\d+\] N/R  \[[\d.]+\] (.*?)  [\d.]+s  \((.*)\)$",
                              out, re.M))
    assert set(not_run) == set(EXPECTED_NOT_RUN), not_run
    for name, why in EXPECTED_NOT_RUN.items():
        assert why in not_run[name], (name, not_run[name])
    summary = re.search(r"(\d+) scenarios: (\d+) passed, 0 failed, (\d+) not-run", out)
    assert summary is not None, out
    total, passed, skipped = map(int, summary.groups())
    assert skipped == len(EXPECTED_NOT_RUN) and passed == total - skipped
    assert total >= 128
    # the incoming call came from a real push: its scenarios ran, not just the outgoing ones
    live = r"^\[\s*\d+/\d+\] PASS "  # the live line: progress, verdict, sections, name, time
    assert re.search(live + r"\[4\.3\.2\] The app answers an incoming call  [\d.]+s$", out,
                     re.M), out
    assert re.search(live + r"\[9\.2\] A push for a call that is already over is a missed "
                     r"call  [\d.]+s$", out, re.M), out
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not leaked, f"threads left running: {leaked}"
