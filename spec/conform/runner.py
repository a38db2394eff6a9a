"""`exovoice conform`: run the shipped features against a client and give a verdict per
scenario (passed / failed / not-run), live, and a summary by guide section.

It behaves as a test runner: one line per scenario as it finishes (verdict, time, progress),
`-x` and `--maxfail N` to stop early, `--timeout S` per scenario, `--format json`, colour only
on a terminal and never with NO_COLOR. A client that stops speaking the adapter protocol (no
answer within the driver's answer timeout, exited, wrote what is not a message) fails the
scenario where it happened, and every scenario after it is reported an error with that reason,
without starting the client again (each would only wait out the same timeout); `--keep-going`
starts a fresh client for each scenario anyway. Nothing it is asked for is silently green: an empty
client name or command, a selection that runs no scenario, or a report path it cannot write is
a usage error (exit 2) before anything runs.

Exit status: 0 every scenario passed or was not-run, 1 some scenario failed, 2 unusable
arguments or a client that does not speak the adapter protocol (errors included).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Sequence, TextIO

import pytest

from ..report.terminal import painter
from .outcome import ERROR, FAILED, NOT_RUN, PASSED, Outcome, StepOutcome, section_key
from ..outputs import PathProblem, check_dir, check_file

EXIT_OK, EXIT_FAILED, EXIT_UNUSABLE = 0, 1, 2

DEFAULT_TIMEOUT = 60.0
"""Seconds one scenario may take. The slowest real target, the reference client over SIP,
runs a scenario in a few seconds at most; a scenario that waits on every bounded wait of the
step library stays well under a minute. A client that hangs is stopped here, not at 10 s a
request times the whole suite."""

MARK = {PASSED: "PASS", FAILED: "FAIL", NOT_RUN: "N/R ", ERROR: "ERR "}
COLOUR = {PASSED: "green", FAILED: "red", NOT_RUN: "yellow", ERROR: "red"}


class ClientGone(Exception):
    """Raised instead of starting a scenario once the client stopped speaking the protocol:
    pytest reports the scenario an error (JUnit <error>) with this reason."""


class Collector:
    """pytest plugin: one Outcome per selected scenario, a live line as each one finishes,
    and the JUnit names and failure texts that carry the verdict to a CI."""

    def __init__(self, out: TextIO | None = None, fmt: str = "text", timeout: float = 0.0,
                 on_outcome: Callable[[Outcome], None] | None = None,
                 keep_going: bool = False) -> None:
        self.outcomes: dict[str, Outcome] = {}
        self.collect_errors: list[str] = []
        self.out = out or sys.stdout
        self.fmt = fmt
        self.timeout = timeout
        self.total = 0
        self.finished = 0
        self.session: Any = None
        self.stopped: str = ""  # why the scenarios left were not started (a broken client)
        self.keep_going = keep_going
        self.paint = painter(self.out)
        self.on_outcome = on_outcome

    # --- collection ----------------------------------------------------------------------
    def pytest_sessionstart(self, session: Any) -> None:
        self.session = session

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.collect_errors.append(
                f"{report.nodeid}: {str(report.longrepr).strip().splitlines()[-1]}")

    def pytest_collection_finish(self, session: Any) -> None:
        for item in session.items:
            self.outcomes[item.nodeid] = _new_outcome(item)
        self.total = len(session.items)

    # --- running -------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: Any) -> None:
        if self.stopped:
            raise ClientGone(self.stopped)

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        o = self.outcomes.get(nodeid)
        if o is None:
            return
        o.reached = True
        xml = _junit(self.session)
        if xml is not None:  # JUnit: the feature and the scenario, not bound.py's test_ names
            reporter = xml.node_reporter(nodeid)
            reporter.add_attribute("classname", o.classname)
            reporter.add_attribute("name", o.name)
            reporter.add_attribute("file", o.uri)
            reporter.add_attribute("line", str(o.line))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: Any, call: Any) -> Any:
        outcome = yield
        rep = outcome.get_result()
        o = self.outcomes.get(item.nodeid)
        if o is None:
            o = self.outcomes[item.nodeid] = _new_outcome(item)
        o.duration += rep.duration
        from .context import ProtocolError
        from .plugin import REPORT_KEY, ScenarioTimeout

        info = item.stash.get(REPORT_KEY, {})
        scen = info.get("scenario")
        if scen is not None and rep.when == "call":
            # a step still running when the report is made raised: a skip (not-run, which
            # pytest-bdd's step_error hook never sees) or a failure
            o.steps = _steps(scen, info, "skipped" if rep.skipped else "failed")
        ctx = info.get("ctx")
        if ctx is not None and ctx.started:
            o.callbacks = ctx.callbacks_seen()
            o.callkit_lines = ctx.callkit_seen()
            o.app_calls = ctx.app_calls_seen()
            o.trace = ctx.trace_text()
        verdict = info.get("verdict")
        if verdict is not None:
            o.violation = verdict.violation
            o.unusable_trace = verdict.unusable
        if info.get("protocol_error"):
            o.protocol_error = info["protocol_error"]
            o.client_broken = bool(info.get("client_broken"))
        exc = call.excinfo.value if call.excinfo is not None else None
        if isinstance(exc, ClientGone):
            o.verdict = ERROR
            o.reason = str(exc)
            rep.longrepr = _Reason(o.reason, o.uri, o.line)  # JUnit: <error message=reason>
            return
        if rep.skipped and o.verdict != FAILED:
            o.verdict = NOT_RUN
            reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
            o.reason = reason.replace("Skipped: ", "").removeprefix("not-run: ")
            # JUnit: <skipped message="needs capability pstn">, at the scenario's line
            rep.longrepr = (o.uri, o.line, o.reason)
        elif rep.failed:
            first = o.verdict != FAILED  # a teardown error after a failed call adds nothing
            o.verdict = FAILED
            exc = call.excinfo.value if call.excinfo is not None else None
            if first and isinstance(exc, ScenarioTimeout):
                o.timed_out = True
                o.reason = str(exc)
            elif first:
                crash = getattr(rep.longrepr, "reprcrash", None)
                msg = crash.message if crash is not None else str(rep.longrepr).strip()
                o.reason = _first_line(msg)
            if isinstance(exc, ProtocolError) and not o.protocol_error:
                o.protocol_error = _first_line(str(exc))
                o.client_broken = exc.fatal
            rep.longrepr = Diagnosis(o)
        elif rep.when == "call" and rep.passed:
            o.verdict = PASSED
            o.reason = ""

    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:
        o = self.outcomes.get(nodeid)
        if o is None:
            return
        self.finished += 1
        if self.on_outcome is not None:
            self.on_outcome(o)
        if self.fmt == "json":
            print(json.dumps(o.as_json()), file=self.out, flush=True)
        else:
            width = len(str(self.total))
            where = ",".join(o.sections) or "-"
            line = (self.paint(f"[{self.finished:>{width}}/{self.total}] ", "dim")
                    + self.paint(MARK[o.verdict], COLOUR[o.verdict])
                    + f" [{where}] {o.name}" + self.paint(f"  {o.duration:.2f}s", "dim"))
            if o.verdict in (NOT_RUN, ERROR):
                line += f"  ({o.reason})"
            elif o.verdict == FAILED:  # the rule and section; the whole story comes at the end
                line += "  " + self.paint(o.headline().split(": ", 1)[0], "red")
            print(line, file=self.out, flush=True)
        if o.client_broken and not self.stopped and not self.keep_going:
            # a client that stopped answering (or died) is unusable: the rest of the run would
            # only time the same fault out, scenario after scenario
            self.stopped = (f"not started: the client stopped speaking the adapter protocol "
                            f"in {o.where}: {o.protocol_error}")


class _Reason:
    """A one-line report text (pytest's longrepr) for a scenario that never started."""

    def __init__(self, reason: str, path: str, line: int) -> None:
        self.text = reason

        class _Crash:
            message = reason
            lineno = line

        _Crash.path = path  # type: ignore[attr-defined]
        self.reprcrash = _Crash()

    def __str__(self) -> str:
        return self.text

    def toterminal(self, tw: Any) -> None:
        tw.line(self.text)


class Diagnosis:
    """A failed scenario's report text (pytest's longrepr): JUnit takes `reprcrash.message`
    as the failure's message and str() as its body."""

    def __init__(self, o: Outcome) -> None:
        self.outcome = o

        class _Crash:
            message = o.headline()
            path = o.uri
            lineno = o.line

        self.reprcrash = _Crash()

    def __str__(self) -> str:
        return self.outcome.body()

    def toterminal(self, tw: Any) -> None:
        for line in str(self).splitlines():
            tw.line(line)


def _first_line(text: str) -> str:
    first = next((ln for ln in text.strip().splitlines() if ln.strip()), "")
    return re.sub(r"^(?:[A-Za-z_.]+Error|ProtocolError|Failed): ", "", first)


def _junit(session: Any) -> Any:
    if session is None:
        return None
    try:
        from _pytest.junitxml import xml_key
    except ImportError:  # pragma: no cover - pytest moved it: JUnit keeps pytest's names
        return None
    return session.config.stash.get(xml_key, None)


def _scenario_of(item: Any) -> Any:
    """The rendered pytest-bdd scenario of an item, also for one that never ran."""
    try:
        from pytest_bdd.scenario import scenario_wrapper_template_registry as templates
    except ImportError:  # pragma: no cover - another pytest-bdd: names come from the item
        return None
    template = templates.get(getattr(item, "function", None))
    if template is None:
        return None
    example = getattr(getattr(item, "callspec", None), "params", {}).get(
        "_pytest_bdd_example", {})
    try:
        return template.render(example or {})
    except Exception:  # noqa: BLE001 - a report must not break on a template it cannot render
        return None


def _new_outcome(item: Any) -> Outcome:
    o = Outcome(item.nodeid)
    scen = _scenario_of(item)
    o.sections = sorted({m.name[len("guide-"):] for m in item.iter_markers()
                         if m.name.startswith("guide-")}, key=section_key)
    o.name = (item.function.__doc__ or item.name).split(": ", 1)[-1]
    params = re.search(r"\[(.*)\]$", item.name)
    if scen is not None:
        o.name = scen.name
        feat = scen.feature
        o.feature = feat.name
        o.uri = f"features/{Path(feat.filename).name}"
        o.line = scen.line_number
        o.keyword = (scen.keyword or "Scenario").strip()
        o.description = scen.description or ""
        o.tags = [(t, max(1, scen.line_number - 1)) for t in sorted(scen.tags)]
        o.feature_line = feat.line_number
        o.feature_keyword = (feat.keyword or "Feature").strip()
        o.feature_description = feat.description or ""
        o.feature_tags = [(t, max(1, feat.line_number - 1)) for t in sorted(feat.tags)]
        o.steps = [StepOutcome(st.keyword.strip(), st.name, st.line_number,
                               background=st.background is not None) for st in scen.steps]
    if params and (scen is None or f"[{params.group(1)}]" not in o.name):
        o.name += f" [{params.group(1)}]"
    return o


def _steps(scen: Any, info: dict[str, Any], running: str) -> list[StepOutcome]:
    """Every step of the scenario with what happened to it; steps after a failed or not-run
    one did not run and say so (skipped), never passed."""
    ran = {id(st): status for st, status in info.get("steps", [])}
    took = info.get("durations", {})
    out = []
    for st in scen.steps:
        status = ran.get(id(st), "skipped")
        if status == "running":
            status = running
        out.append(StepOutcome(st.keyword.strip(), st.name, st.line_number, status,
                               took.get(id(st), 0.0), background=st.background is not None))
    return out


def add_conform_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "conform", help="run the guide's features against a client",
        description="Run the features shipped with exovoice against a client through the "
        "adapter protocol; verdict per scenario (passed, failed or not-run), one line as each "
        "finishes, then the failures in full and a summary by guide section.",
        epilog="Exit status: 0 every scenario passed or was not-run, 1 some scenario failed, "
        "2 unusable arguments (an empty client, a selection matching no scenario, a report "
        "that cannot be written) or a client that does not speak the adapter protocol.")
    _add_arguments(p)
    p.set_defaults(func=run_conform)
    return p


def _add_arguments(p: argparse.ArgumentParser) -> None:
    who = p.add_mutually_exclusive_group()
    from .clients import registered

    installed = ", ".join(sorted(registered())) or "none installed"
    who.add_argument("--client", default=None,
                     help=f"an in-process client: an installed one ({installed}; default "
                     "reference; reference-sip is the reference client over real SIP/RTP "
                     "with the platform simulator, which EXOVOICE_SIP_WORKERS=N runs as N "
                     "workers behind the Kamailio front), model, or broken:<fault>")
    who.add_argument("--client-cmd", default=None, metavar="CMD",
                     help="a program speaking the JSON-lines adapter protocol on stdin/stdout")
    p.add_argument("-k", dest="keyword", default=None, metavar="EXPR",
                   help="only scenarios whose name matches this pytest -k expression")
    p.add_argument("--tags", default=None, metavar="EXPR",
                   help="only scenarios whose tags match, e.g. 'guide-4.8 and not needs-callkit'")
    p.add_argument("-x", "--exitfirst", action="store_true",
                   help="stop at the first failed scenario")
    p.add_argument("--maxfail", type=_positive_int, default=0, metavar="N",
                   help="stop after N failed scenarios")
    p.add_argument("--keep-going", action="store_true",
                   help="after the client stopped answering or died, start it for each "
                   "scenario left anyway (default: report each of them an error, unstarted)")
    p.add_argument("--timeout", type=_positive_float, default=DEFAULT_TIMEOUT, metavar="S",
                   help=f"fail a scenario that runs longer than S seconds (default "
                   f"{DEFAULT_TIMEOUT:g})")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="json: one object per scenario per line as each finishes, then a "
                   "{\"summary\": ...} line")
    p.add_argument("--junit-xml", type=Path, default=None, metavar="FILE",
                   help="write JUnit XML: one testcase per scenario, classname the feature")
    p.add_argument("--cucumber-json", type=Path, default=None, metavar="FILE",
                   help="write Cucumber JSON (the shape cucumber-js writes)")
    p.add_argument("--report", type=Path, default=None, metavar="FILE",
                   help="write a self-contained HTML report")
    p.add_argument("--trace-dir", type=Path, default=None, metavar="DIR",
                   help="leave each scenario's trace (trace format v1) in DIR, for exovoice "
                   "validate")


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return n


def _positive_float(text: str) -> float:
    try:
        n = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not n > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds: {text!r}")
    return n


def _fail(msg: str) -> int:
    print(f"exovoice conform: {msg}", file=sys.stderr)
    return EXIT_UNUSABLE


def _selection(args: argparse.Namespace) -> str:
    bits = []
    if args.keyword:
        bits.append(f"-k {shlex.quote(args.keyword)}")
    if args.tags:
        bits.append(f"--tags {shlex.quote(args.tags)}")
    return " ".join(bits) or "(all scenarios)"


def check_arguments(args: argparse.Namespace) -> str | None:
    """Every usage mistake, before any work: the one-line reason, or None."""
    if args.client is not None and not args.client.strip():
        return ("--client is empty (an unset variable?): name a client, or leave --client "
                "out for the reference client")
    if args.client_cmd is not None:
        if not args.client_cmd.strip():
            return "--client-cmd is empty (an unset variable?): give the program to run"
        try:
            if not shlex.split(args.client_cmd):
                return "--client-cmd has no program in it"
        except ValueError as e:
            return f"--client-cmd cannot be split into a command line: {e}"
    for flag, value in (("-k", args.keyword), ("--tags", args.tags)):
        if value is not None and not value.strip():
            return f"{flag} is empty: give an expression, or leave {flag} out to run everything"
    try:
        for flag, path in (("--junit-xml", args.junit_xml), ("--cucumber-json", args.cucumber_json),
                           ("--report", getattr(args, "report", None))):
            if path is not None:
                check_file(path, flag)
        if args.trace_dir is not None:
            check_dir(args.trace_dir, "--trace-dir")
    except PathProblem as e:
        return str(e)
    return None


def run_conform(args: argparse.Namespace) -> int:
    from .adapter import AdapterError, Unavailable
    from .plugin import (
        CLIENT_CMD_ENV,
        CLIENT_ENV,
        TIMEOUT_ENV,
        TRACE_DIR_ENV,
        features_dir,
        make_factory,
    )

    problem = check_arguments(args)
    if problem is not None:
        return _fail(problem)
    try:
        features_dir()
    except FileNotFoundError as e:
        return _fail(str(e))
    try:
        factory, label = make_factory(args.client, args.client_cmd or "")
    except (ValueError, KeyError, ImportError) as e:
        return _fail(f"unusable client: {e}")
    # the handshake first: a client that does not speak the protocol is unusable, not failed
    try:
        adapter = factory()
    except Unavailable as e:
        return _fail(f"client {label} cannot run here: {e}")
    except (AdapterError, OSError, ValueError, TypeError) as e:
        return _fail(f"client {label} does not speak the adapter protocol: {e}")
    try:
        try:
            caps = adapter.hello(callkit=False)
        finally:
            try:
                adapter.close()
            except Exception:  # noqa: BLE001
                pass
        if not isinstance(caps, (set, frozenset)) or "core" not in caps:
            return _fail(f"client {label} does not speak the adapter protocol: its handshake "
                         f"declared {caps!r}, without 'core'")
    except (AdapterError, OSError, ValueError, TypeError) as e:
        return _fail(f"client {label} does not speak the adapter protocol: {e}")

    binding = Path(__file__).with_name("bound.py")
    argv = [str(binding), "-p", "exovoice.spec.conform.plugin", "-p", "exovoice.spec.conform.steps",
            "-p", "no:cacheprovider", "-o", "addopts=",
            "-o", "xfail_strict=false", "-W", "ignore::pytest.PytestAssertRewriteWarning",
            "-p", "no:terminal", "-o", "junit_suite_name=exovoice conform",
            "-o", "junit_family=xunit2", "-o", "console_output_style=classic"]
    if args.keyword:
        argv += ["-k", args.keyword]
    if args.tags:
        argv += ["-m", args.tags]
    if args.exitfirst:
        argv += ["-x"]
    elif args.maxfail:
        argv += [f"--maxfail={args.maxfail}"]
    if args.junit_xml:
        argv += [f"--junit-xml={args.junit_xml}"]
    out = sys.stdout
    started = time.monotonic()
    if args.format == "text":
        print(f"exovoice conform: client {label}, selection {_selection(args)}, "
              f"timeout {args.timeout:g} s a scenario", file=out, flush=True)
    collector = Collector(out, args.format, args.timeout,
                          keep_going=getattr(args, "keep_going", False))
    saved = {k: os.environ.get(k) for k in (CLIENT_ENV, CLIENT_CMD_ENV, TRACE_DIR_ENV, TIMEOUT_ENV)}
    os.environ[CLIENT_ENV] = args.client or "reference"
    os.environ[TIMEOUT_ENV] = repr(float(args.timeout))
    if args.trace_dir:
        os.environ[TRACE_DIR_ENV] = str(args.trace_dir)
    else:
        os.environ.pop(TRACE_DIR_ENV, None)
    if args.client_cmd:
        os.environ[CLIENT_CMD_ENV] = args.client_cmd
    else:
        os.environ.pop(CLIENT_CMD_ENV, None)
    try:
        code = pytest.main(argv, plugins=[collector])
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    if collector.collect_errors:
        for e in collector.collect_errors:
            print(f"exovoice conform: cannot load the features: {e}", file=sys.stderr)
        return EXIT_UNUSABLE
    if code in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR):
        return _fail(f"pytest refused the selection (exit {int(code)}); check -k / --tags: "
                     f"{_selection(args)}")
    if not collector.outcomes:
        return _fail(f"no scenario matches the selection {_selection(args)}; "
                     "`exovoice conform --help` says how to select")
    outcomes = list(collector.outcomes.values())
    try:
        if args.cucumber_json:
            from .cucumber import write_cucumber_json

            write_cucumber_json(args.cucumber_json, outcomes)
        if getattr(args, "report", None):
            Path(args.report).write_text(html_report(outcomes, label), encoding="utf-8")
    except OSError as e:
        return _fail(f"cannot write a report: {e}")
    return report(collector, label, time.monotonic() - started, args.format,
                  selection=_selection(args))


def html_report(outcomes: list[Outcome], label: str) -> str:
    """The HTML report (exovoice.spec.report.html) of a run: every scenario's trace judged
    again with coverage, so the page draws the path each failing one took and the heat of
    them all."""
    from ..report.html import Case, conform_page, judge_text

    fired: dict[str, int] = {}
    cases = []
    for o in outcomes:
        took: dict[str, int] = {}
        if o.trace:
            took = judge_text(o.trace).fired
            for t, n in took.items():
                fired[t] = fired.get(t, 0) + n
        if o.verdict != FAILED:
            continue
        cases.append(Case(f"{o.name}", "failed", o.violation, o.trace.splitlines(),
                          o.sections, took,
                          [(MARK_STEP.get(st.status, "·"), st.text) for st in o.steps],
                          o.callbacks, o.headline(), o.where))
    s = summary(outcomes)
    return conform_page(label, s["by_section"], cases, fired,
                        {PASSED: s["passed"], FAILED: s["failed"], NOT_RUN: s["not_run"],
                         ERROR: s["errors"]})


MARK_STEP = {"passed": "✓", "failed": "✗", "skipped": "·"}


def summary(outcomes: list[Outcome]) -> dict[str, Any]:
    """The counts; `errors` (scenarios not started because the client had stopped answering)
    and each section's `error` were added compatibly."""
    counts = {v: sum(1 for o in outcomes if o.verdict == v and o.reached) for v in MARK}
    unreached = sum(1 for o in outcomes if not o.reached)
    table: dict[str, dict[str, int]] = defaultdict(
        lambda: {PASSED: 0, FAILED: 0, NOT_RUN: 0, ERROR: 0})
    for o in outcomes:
        if o.reached:
            for s in o.sections or ["-"]:
                table[s][o.verdict] += 1
    return {"scenarios": len(outcomes), "passed": counts[PASSED], "failed": counts[FAILED],
            "not_run": counts[NOT_RUN], "errors": counts[ERROR], "not_reached": unreached,
            "by_section": {s: table[s] for s in sorted(table, key=section_key)}}


def report(collector: Collector, label: str, seconds: float = 0.0, fmt: str = "text",
           out: Any = None, selection: str = "") -> int:
    out = out or sys.stdout
    outcomes = list(collector.outcomes.values())
    if not outcomes:
        print(f"no scenario selected (client {label})", file=sys.stderr)
        return EXIT_UNUSABLE
    s = summary(outcomes)
    failed = [o for o in outcomes if o.verdict == FAILED]
    broken = next((o.protocol_error for o in outcomes if o.protocol_error), "")
    code = EXIT_UNUSABLE if broken else EXIT_FAILED if failed else EXIT_OK
    if fmt == "json":
        print(json.dumps({"summary": {"client": label, "selection": selection,
                                      "seconds": round(seconds, 2), **s, "exit": code}}),
              file=out, flush=True)
    else:
        paint = painter(out)
        for o in failed:
            print(paint(f"\n--- FAILED [{','.join(o.sections)}] {o.name}", "red"), file=out)
            print(paint(o.headline(), "bold"), file=out)
            print("  " + o.body().replace("\n", "\n  "), file=out)
        errors = s["errors"] > 0
        print(f"\nclient {label}: by guide section", file=out)
        print(f"  {'section':<9}{'passed':>8}{'failed':>8}{'not-run':>9}"
              + (f"{'error':>7}" if errors else ""), file=out)
        for sec, row in s["by_section"].items():
            print(f"  {sec:<9}{row[PASSED]:>8}{row[FAILED]:>8}{row[NOT_RUN]:>9}"
                  + (f"{row[ERROR]:>7}" if errors else ""), file=out)
        line = (f"\n{s['scenarios']} scenarios: {s['passed']} passed, {s['failed']} failed, "
                f"{s['not_run']} not-run")
        if errors:
            line += f", {s['errors']} errors (not started: the client had stopped answering)"
        if s["not_reached"]:
            line += f", {s['not_reached']} not reached (the run stopped early)"
        print(line + f" in {seconds:.1f} s", file=out)
        if collector.stopped:
            print(f"the client stopped speaking the adapter protocol, so the scenarios after "
                  f"it were not started; --keep-going starts it for each of them anyway",
                  file=out)
    if broken:
        print(f"exovoice conform: client {label} broke the adapter protocol: {broken}",
              file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="exovoice conform")
    _add_arguments(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return EXIT_UNUSABLE if e.code else EXIT_OK
    return run_conform(args)


if __name__ == "__main__":
    sys.exit(main())
