"""exovoice conform: the reference client passes, every deliberately broken client fails, a
program that does not speak the adapter protocol is unusable; and the step library's own
rules (Then without When, not-run on a missing capability)."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

from exovoice.spec.conform.adapter import Capability
from exovoice.spec.conform.broken import BROKEN
from exovoice.spec.conform.model_client import ModelAdapter
from exovoice.spec.conform.plugin import then_without_when
from exovoice.spec.conform.runner import main

# The scenario each broken client must fail at least (others may fail too).
CATCHES = {
    "dial-during-pstn": "in_progress",
    "ringing-on-incoming": "never_rings",
    "no-missed-call-during-pstn": "declined_and_reported_as_missed",
    "keeps-voip-after-pstn": "terminates_the_voip_call",
    "callkit-never-fulfils": "dialled_then_started_in_callkit",
    "established-without-answer": "the_app_declines",
    "accepts-rating-9": "outside_1_to_5",
    "silent-on-refused-token": "token_the_platform_refuses",
    "callkit-mute-without-sdk": "mutes_the_call_in_callkit",
}


def test_reference_client_passes_every_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--client", "reference"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "FAIL" not in out
    assert " 0 failed" in out
    assert " 0 not-run" in out and "N/R" not in out  # the platform scenarios run too


def test_platform_scenarios_judge_what_the_platform_answered(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from exovoice.reference.targets.platform_harness import PlatformHarness

    # a platform that issues a token to anyone
    monkeypatch.setattr(PlatformHarness, "_token", lambda self, args: {
        "status": 200, "body": {"subscriber_token": {"refresh_token": "r", "access_token": "a"}}})
    code = main(["--client", "reference", "--tags", "needs-platform", "-k", "refused"])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "4 failed" in out and "answered 200, not 40" in out


def test_a_client_without_platform_gets_not_run(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--client", "model", "--tags", "needs-platform"])
    out = capsys.readouterr().out
    assert code == 0
    assert "PASS" not in out and "(needs capability platform)" in out
    assert "12 not-run" in out


def test_model_client_passes_every_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--client", "model", "--tags", "not needs-platform"]) == 0, capsys.readouterr().out


@pytest.mark.parametrize("fault", sorted(CATCHES))
def test_each_broken_client_fails_a_scenario(fault: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The scenario named for each of the first mutants catches it (tests/test_mutants.py
    shows every mutant's fault on a trace, and bench/mutation.py which tool kills which)."""
    assert fault in BROKEN
    code = main(["--client", f"broken:{fault}", "-k", CATCHES[fault]])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "--- FAILED" in out


def test_a_client_that_omits_the_authentication_failure_of_a_call_fails(
        capsys: pytest.CaptureFixture[str]) -> None:
    """LC-AUTH-CALL can only be broken where the platform refuses the token on a call: the
    trace alone does not say why a call failed. The reference client passes both scenarios
    (a dial, a session take); a client that keeps quiet about the token fails both."""
    assert main(["--client", "reference", "-k", "token_the_platform_refuses"]) == 0
    assert "2 passed" in capsys.readouterr().out
    code = main(["--client", "broken:silent-on-refused-token", "-k", "token_the_platform_refuses"])
    out = capsys.readouterr().out
    assert code == 1 and "2 failed" in out, out
    assert "expected onAuthenticationFailure" in out


def test_a_failure_report_shows_steps_callbacks_and_the_violation(
        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--client", "broken:ringing-on-incoming", "-k", "never_rings"])
    out = capsys.readouterr().out
    assert code == 1
    assert "✓ Given the client is initialized" in out
    assert "callbacks seen: onInitializationSuccess, onIncomingCall, onCallRinging" in out
    assert "spec violation at trace line" in out and "CALL-RINGING" in out


def test_a_program_that_does_not_speak_the_protocol_is_unusable(
        capsys: pytest.CaptureFixture[str]) -> None:
    cmd = f"{sys.executable} -c \"print('hello, I am not an adapter')\""
    assert main(["--client-cmd", cmd]) == 2
    assert "does not speak the adapter protocol" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--client", "nonsense"], ["--bogus"],
                                  ["--client", "reference", "--client-cmd", "x"]])
def test_unusable_arguments(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2


def test_a_then_without_a_when_is_refused() -> None:
    step = lambda t: SimpleNamespace(type=t, name=t, line_number=1)  # noqa: E731
    assert then_without_when([step("given"), step("then")]) is not None
    assert then_without_when([step("given"), step("when"), step("then")]) is None


def test_a_missing_capability_is_not_run(capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    lacking = frozenset(Capability.ALL - {Capability.PSTN})
    monkeypatch.setattr(ModelAdapter.__init__, "__defaults__", (lacking,))
    code = main(["--client", "model", "--tags", "needs-pstn"])
    out = capsys.readouterr().out
    assert code == 0
    assert "PASS" not in out and "(needs capability pstn)" in out


def test_the_node_example_client_passes_through_the_json_lines_protocol(
        capsys: pytest.CaptureFixture[str]) -> None:
    import shutil
    from pathlib import Path

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    client = Path(__file__).resolve().parents[1] / "examples" / "node_client.js"
    code = main(["--client-cmd", f"{node} {client}"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert " 0 failed" in out and " passed" in out
    assert "not-run" in out  # it honestly lacks CallKit, audio, logs, feedback


def test_trace_dir_leaves_every_scenarios_trace_for_the_validator(
        tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    from exovoice.spec.cli import main as exovoice

    from exovoice.spec.conform.plugin import features_dir

    # the scenarios the selection runs, counted from the features themselves (one tag line
    # before each scenario; explore's kept scenarios add to them)
    n = sum(line.split().count("@guide-4.8") for f in features_dir().glob("*.feature")
            for line in f.read_text(encoding="utf-8").splitlines()
            if line.strip().startswith("@"))
    assert n >= 10
    assert main(["--tags", "guide-4.8", "--trace-dir", str(tmp_path)]) == 0
    traces = sorted(tmp_path.glob("*.jsonl"))
    assert len(traces) == n
    capsys.readouterr()
    assert exovoice(["validate", str(tmp_path)]) == 0
    assert f"{n} traces: {n} conformant" in capsys.readouterr().out
