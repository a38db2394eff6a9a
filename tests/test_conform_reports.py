"""What `exovoice conform` gives a CI and a person: no silent green (an empty client, a
selection matching nothing, a report path it cannot write are usage errors, exit 2, before
anything runs), JUnit XML and Cucumber JSON that carry the verdict and its diagnosis and
validate against the formats' schemas, and a runner that behaves as one: a live line per
scenario, -x, --maxfail, --timeout, --format json, colour only on a terminal without
NO_COLOR."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lxml import etree

from exovoice.spec.conform.adapter import Capability
from exovoice.spec.conform.model_client import ModelAdapter
from exovoice.spec.conform.runner import main

from node_tools import run_node

HERE = Path(__file__).resolve().parent
XSD = etree.XMLSchema(etree.parse(str(HERE / "data" / "junit.xsd")))
# one scenario a broken client fails, one it passes, and PSTN ones a client without pstn skips
FAILING = ["--client", "broken:ringing-on-incoming", "-k", "never_rings or dialled_then"]


def _lacking_pstn(monkeypatch: pytest.MonkeyPatch) -> None:
    lacking = frozenset(Capability.ALL - {Capability.PSTN})
    monkeypatch.setattr(ModelAdapter.__init__, "__defaults__", (lacking,))


# --- 1. no silent green ----------------------------------------------------------------------
@pytest.mark.parametrize("argv, says", [
    (["--client", ""], "--client is empty"),
    (["--client", "   "], "--client is empty"),
    (["--client-cmd", ""], "--client-cmd is empty"),
    (["--client-cmd", "   "], "--client-cmd is empty"),
    (["--client-cmd", "'unclosed"], "--client-cmd cannot be split"),
    (["-k", ""], "-k is empty"),
    (["--tags", " "], "--tags is empty"),
    (["--timeout", "0"], None),
    (["--maxfail", "0"], None),
])
def test_empty_or_meaningless_arguments_are_usage_errors(
        argv: list[str], says: str | None, capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert time.monotonic() - started < 5  # before any scenario ran
    if says is not None:
        assert err.startswith("exovoice conform: " + says) and "\n" not in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize("argv", [["-k", "no_scenario_is_called_this"],
                                  ["--tags", "guide-99.9"],
                                  ["--tags", "guide-4.8", "-k", "nothing_here"]])
def test_a_selection_that_runs_nothing_is_exit_2_with_the_selection_echoed(
        argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("exovoice conform: no scenario matches the selection ")
    for bit in argv[1::2]:
        assert bit in err


@pytest.mark.parametrize("flag", ["--junit-xml", "--cucumber-json", "--report"])
def test_a_report_that_cannot_be_written_is_found_before_the_run(
        flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    for bad, why in ((a_file / "report.out", "is a file, not a directory"),
                     (tmp_path, "is a directory, not a file")):
        started = time.monotonic()
        assert main([flag, str(bad)]) == 2
        err = capsys.readouterr().err.strip()
        assert time.monotonic() - started < 5
        assert err == f"exovoice conform: {flag} {bad}: " + (
            why if bad == tmp_path else f"{a_file} {why}"), err


def test_a_trace_dir_that_is_a_file_is_a_usage_error_not_a_failing_client(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "traces"
    a_file.write_text("x")
    assert main(["--trace-dir", str(a_file), "--tags", "guide-4.8"]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == f"exovoice conform: --trace-dir {a_file}: is a file, not a " \
        "directory"
    assert "FAIL" not in captured.out


# --- 2. CI reports that carry the verdict ----------------------------------------------------
def test_junit_names_features_and_scenarios_and_carries_the_diagnosis(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "junit.xml"
    assert main([*FAILING, "--junit-xml", str(out)]) == 1
    capsys.readouterr()
    doc = etree.parse(str(out))
    assert XSD.validate(doc), XSD.error_log
    cases = doc.findall(".//testcase")
    assert {c.get("classname") for c in cases} == {"features.incoming", "features.callkit"}
    by_name = {c.get("name"): c for c in cases}
    assert set(by_name) == {"An incoming call never rings as an outgoing one",
                            "An outgoing call is dialled, then started in CallKit"}
    failure = by_name["An incoming call never rings as an outgoing one"].find("failure")
    message = failure.get("message")
    assert message.startswith("CALL-RINGING (guide §4.5): the SDK called onCallRinging while "
                              "client initialized, call INCOMING")
    assert "\n" not in message and message.count("CALL-RINGING") == 1
    body = failure.text
    assert "✓ When a push from \"bob\" is relayed" in body
    assert "✗ And the app gets no onCallRinging" in body
    assert "· And the call is still INCOMING" in body  # not run, and not shown as passed
    assert "callbacks seen: onInitializationSuccess, onIncomingCall, onCallRinging" in body
    assert '>    6 | {"kind":"callback","name":"onCallRinging","call":"c1"}' in body
    assert "Traceback" not in body and "site-packages" not in body


def test_junit_not_run_is_skipped_with_the_capability_it_needs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    _lacking_pstn(monkeypatch)
    out = tmp_path / "junit.xml"
    assert main(["--client", "model", "--tags", "needs-pstn", "--junit-xml", str(out)]) == 0
    capsys.readouterr()
    doc = etree.parse(str(out))
    assert XSD.validate(doc), XSD.error_log
    cases = doc.findall(".//testcase")
    assert cases and all(c.find("skipped") is not None for c in cases)
    assert {c.find("skipped").get("message") for c in cases} == {"needs capability pstn"}
    assert {c.get("classname") for c in cases} >= {"features.pstn"}


def _cucumber_js_schema_errors(report: list) -> list:
    """cucumber-js's own JSON formatter's shape, as @cucumber/cucumber-json-converter ships
    it, checked by its own validator (ajv) under Node."""
    script = r"""
      const fs = require('fs');
      const Ajv = require('ajv');
      // the schema file itself: the package's exports do not list it, so by its path
      const schema = require(require('path').join(process.env.NODE_PATH,
        '@cucumber/cucumber-json-converter/dist/cjs/src/cucumber-js/CucumberJsSchema.js')).default;
      const { convert } = require('@cucumber/cucumber-json-converter');
      const report = JSON.parse(fs.readFileSync(0, 'utf8'));
      const validate = new Ajv({allErrors: true}).compile(schema);
      const errors = validate(report) ? [] : validate.errors;
      convert(report);  // throws when no cucumber implementation's schema recognises it
      process.stdout.write(JSON.stringify(errors));
    """
    return run_node(script, report)  # type: ignore[return-value]


def test_cucumber_json_has_every_scenario_and_no_false_green(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    _lacking_pstn(monkeypatch)
    out = tmp_path / "cucumber.json"
    assert main(["--client", "model", "--tags", "guide-4.8", "--cucumber-json", str(out),
                 "--format", "json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    summary = lines[-1]["summary"]
    report = json.loads(out.read_text())
    elements = [e for f in report for e in f["elements"]]
    assert len(elements) == summary["scenarios"] == len(lines) - 1
    assert summary["not_run"] > 0
    for e, line in zip(elements, lines):
        statuses = [s["result"]["status"] for s in e["steps"]]
        assert e["name"] == line["scenario"]
        if line["verdict"] == "not-run":  # never a passed step after the one that did not run
            assert "skipped" in statuses
            first = statuses.index("skipped")
            assert set(statuses[first:]) == {"skipped"}, (e["name"], statuses)
        assert len(e["steps"]) == len(line["steps"])
    assert _cucumber_js_schema_errors(report) == []


def test_cucumber_json_failing_step_carries_the_diagnosis(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cucumber.json"
    assert main([*FAILING, "--cucumber-json", str(out)]) == 1
    capsys.readouterr()
    report = json.loads(out.read_text())
    assert sorted(f["uri"] for f in report) == ["features/callkit.feature",
                                                "features/incoming.feature"]
    scenario = next(e for f in report for e in f["elements"] if "never rings" in e["name"])
    statuses = [s["result"]["status"] for s in scenario["steps"]]
    assert statuses == ["passed", "passed", "passed", "failed", "skipped"]
    failed = scenario["steps"][3]["result"]["error_message"]
    assert failed.startswith("CALL-RINGING (guide §4.5): ")
    assert "callbacks seen:" in failed and '>    6 | {"kind":"callback"' in failed
    assert _cucumber_js_schema_errors(report) == []


# --- 3. a test runner's manners --------------------------------------------------------------
def test_one_live_line_per_scenario_with_progress_and_time(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--tags", "guide-4.8"]) == 0
    out = capsys.readouterr().out.splitlines()
    live = [x for x in out if x.startswith("[")]
    n = len(live)
    assert n > 3
    width = len(str(n))
    for i, line in enumerate(live, 1):
        assert line.startswith(f"[{i:>{width}}/{n}] PASS [4.8"), line
        assert re.search(r"  \d+\.\d\ds$", line), line
    assert f"{n} scenarios: {n} passed, 0 failed, 0 not-run in " in out[-1]


def test_exitfirst_and_maxfail_stop_the_run(capsys: pytest.CaptureFixture[str]) -> None:
    sel = ["--client", "broken:dial-during-pstn", "--tags", "guide-4.8 or guide-4.9"]
    assert main([*sel]) == 1
    full = capsys.readouterr().out
    failures = full.count("] FAIL [")
    assert failures >= 2
    assert main([*sel, "-x"]) == 1
    out = capsys.readouterr().out
    assert out.count("] FAIL [") == 1 and "not reached (the run stopped early)" in out
    assert main([*sel, "--maxfail", "2"]) == 1
    assert capsys.readouterr().out.count("] FAIL [") == 2


HANGS = r"""
import json, sys, time
for raw in sys.stdin:
    msg = json.loads(raw)
    if msg["op"] == "hello":
        print(json.dumps({"id": msg["id"], "capabilities": ["core", "network", "pstn"]}), flush=True)
    elif msg["op"] == "close":
        break
    else:
        time.sleep(3600)  # answered hello, then hangs
"""


def test_timeout_bounds_a_scenario_whose_client_hangs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "hangs.py"
    script.write_text(HANGS)
    started = time.monotonic()
    code = main(["--client-cmd", f"{sys.executable} {script}", "--tags", "guide-4.8",
                 "-k", "in_progress", "--timeout", "1"])
    took = time.monotonic() - started
    out = capsys.readouterr().out
    assert code == 1, out
    assert "timeout: the scenario ran longer than 1 s (--timeout)" in out
    n = out.count("] FAIL [")
    assert n >= 1 and took < n * 8, (n, took)  # each bounded near 1 s, not the 10 s reply wait


def test_format_json_is_one_object_per_scenario_then_a_summary(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*FAILING, "--format", "json"]) == 1
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    *scenarios, last = lines
    assert [s["verdict"] for s in scenarios].count("failed") == 1
    failed = next(s for s in scenarios if s["verdict"] == "failed")
    assert failed["violation"]["rule"] == "CALL-RINGING"
    assert failed["diagnosis"]["message"].startswith("CALL-RINGING (guide §4.5)")
    assert last["summary"]["failed"] == 1 and last["summary"]["exit"] == 1


def _on_a_terminal(env: dict[str, str]) -> str:
    """exovoice conform's output when its stdout is a real terminal (a pty)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "exovoice.spec", "conform", "--tags",
                             "guide-4.8", "-k", "in_progress"], stdout=slave,
                            stderr=subprocess.DEVNULL, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(master)
    return b"".join(chunks).decode()


def test_colour_on_a_terminal_and_never_with_no_color() -> None:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    coloured = _on_a_terminal(env)
    assert "\x1b[32mPASS\x1b[0m" in coloured
    plain = _on_a_terminal({**env, "NO_COLOR": "1"})
    assert "PASS [4.8" in plain and "\x1b[" not in plain
