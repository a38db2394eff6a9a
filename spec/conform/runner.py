"""`exovoice conform`: run the shipped features against a client and give a verdict per
scenario (passed / failed / not-run) and a summary by guide section.

Exit status: 0 every scenario passed or was not-run, 1 some scenario failed, 2 unusable
arguments or a client that does not speak the adapter protocol.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import pytest

EXIT_OK, EXIT_FAILED, EXIT_UNUSABLE = 0, 1, 2


@dataclass
class Outcome:
    nodeid: str
    name: str = ""
    feature: str = ""
    sections: list[str] = field(default_factory=list)
    verdict: str = "passed"  # passed | failed | not-run
    reason: str = ""
    steps: list[tuple[str, str]] = field(default_factory=list)
    callbacks: list[str] = field(default_factory=list)
    violation: str = ""
    protocol_error: str = ""


class Collector:
    """pytest plugin: one Outcome per scenario."""

    def __init__(self) -> None:
        self.outcomes: dict[str, Outcome] = {}
        self.collect_errors: list[str] = []

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.collect_errors.append(f"{report.nodeid}: {str(report.longrepr).strip().splitlines()[-1]}")

    def _item_outcome(self, item: Any) -> Outcome:
        o = self.outcomes.get(item.nodeid)
        if o is None:
            o = self.outcomes[item.nodeid] = Outcome(item.nodeid)
            o.sections = sorted({m.name[len("guide-"):] for m in item.iter_markers()
                                 if m.name.startswith("guide-")}, key=_section_key)
            o.name = (item.function.__doc__ or item.name).split(": ", 1)[-1]
            params = re.search(r"\[(.*)\]$", item.name)
            if params:
                o.name += f" [{params.group(1)}]"
        return o

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: Any, call: Any) -> Any:
        outcome = yield
        rep = outcome.get_result()
        o = self._item_outcome(item)
        from .plugin import REPORT_KEY

        info = item.stash.get(REPORT_KEY, {})
        scen = info.get("feature")
        if scen is not None:
            o.feature = getattr(scen, "name", "")
        o.steps = [(f"{s.keyword} {s.name}", status) for s, status in info.get("steps", [])]
        ctx = info.get("ctx")
        if ctx is not None and ctx.started:
            o.callbacks = ctx.callbacks_seen()
        verdict = info.get("verdict")
        if verdict is not None and (verdict.violation is not None or verdict.unusable):
            o.violation = verdict.explain()
        if info.get("protocol_error"):
            o.protocol_error = info["protocol_error"]
        if rep.skipped and o.verdict != "failed":
            o.verdict = "not-run"
            reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
            o.reason = reason.replace("Skipped: ", "")
        elif rep.failed:
            o.verdict = "failed"
            crash = getattr(rep.longrepr, "reprcrash", None)
            msg = crash.message if crash is not None else str(rep.longrepr).strip().splitlines()[-1]
            o.reason = o.reason or msg
            if "ProtocolError" in msg and not o.protocol_error:
                o.protocol_error = msg


def _section_key(s: str) -> tuple:
    return tuple(int(p) if p.isdigit() else 0 for p in s.split("."))


def add_conform_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "conform", help="run the guide's features against a client",
        description="Run the features shipped with exovoice against a client through the "
        "adapter protocol; verdict per scenario: passed, failed or not-run.")
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
                     "with the platform simulator), model, or broken:<fault>")
    who.add_argument("--client-cmd", default=None, metavar="CMD",
                     help="a program speaking the JSON-lines adapter protocol on stdin/stdout")
    p.add_argument("-k", dest="keyword", default=None, metavar="EXPR",
                   help="only scenarios whose name matches this pytest -k expression")
    p.add_argument("--tags", default=None, metavar="EXPR",
                   help="only scenarios whose tags match, e.g. 'guide-4.8 and not needs-callkit'")
    p.add_argument("--junit-xml", type=Path, default=None, metavar="FILE")
    p.add_argument("--cucumber-json", type=Path, default=None, metavar="FILE")
    p.add_argument("--trace-dir", type=Path, default=None, metavar="DIR",
                   help="leave each scenario's trace (trace format v1) in DIR, for exovoice "
                   "validate")


def _fail(msg: str) -> int:
    print(f"exovoice conform: {msg}", file=sys.stderr)
    return EXIT_UNUSABLE


def run_conform(args: argparse.Namespace) -> int:
    from .adapter import AdapterError, Unavailable
    from .plugin import CLIENT_CMD_ENV, CLIENT_ENV, TRACE_DIR_ENV, features_dir, make_factory

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
            "-p", "no:terminal"]
    if args.keyword:
        argv += ["-k", args.keyword]
    if args.tags:
        argv += ["-m", args.tags]
    if args.junit_xml:
        argv += [f"--junit-xml={args.junit_xml}"]
    if args.cucumber_json:
        argv += [f"--cucumberjson={args.cucumber_json}"]
    collector = Collector()
    saved = {k: os.environ.get(k) for k in (CLIENT_ENV, CLIENT_CMD_ENV, TRACE_DIR_ENV)}
    os.environ[CLIENT_ENV] = args.client or "reference"
    if args.trace_dir:
        os.environ[TRACE_DIR_ENV] = str(args.trace_dir)
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
        return _fail(f"pytest refused the selection (exit {int(code)}); check -k / --tags")
    return report(collector, label)


def report(collector: Collector, label: str, out: Any = None) -> int:
    out = out or sys.stdout
    outcomes = list(collector.outcomes.values())
    if not outcomes:
        print(f"no scenario selected (client {label})", file=out)
        return EXIT_OK
    mark = {"passed": "PASS", "failed": "FAIL", "not-run": "N/R "}
    for o in outcomes:
        where = ",".join(o.sections) or "-"
        line = f"{mark[o.verdict]} [{where}] {o.name}"
        if o.verdict == "not-run":
            line += f"  ({o.reason})"
        print(line, file=out)
    failed = [o for o in outcomes if o.verdict == "failed"]
    for o in failed:
        print(f"\n--- FAILED [{','.join(o.sections)}] {o.name}", file=out)
        for text, status in o.steps:
            print(f"  {'✓' if status == 'passed' else '✗' if status == 'failed' else '·'} {text}",
                  file=out)
        print(f"  why: {o.reason}", file=out)
        if o.callbacks:
            print(f"  callbacks seen: {', '.join(o.callbacks)}", file=out)
        if o.violation:
            print("  " + o.violation.replace("\n", "\n  "), file=out)
    table: dict[str, dict[str, int]] = defaultdict(lambda: {"passed": 0, "failed": 0, "not-run": 0})
    for o in outcomes:
        for s in o.sections or ["-"]:
            table[s][o.verdict] += 1
    print(f"\nclient {label}: by guide section", file=out)
    print(f"  {'section':<9}{'passed':>8}{'failed':>8}{'not-run':>9}", file=out)
    for s in sorted(table, key=_section_key):
        row = table[s]
        print(f"  {s:<9}{row['passed']:>8}{row['failed']:>8}{row['not-run']:>9}", file=out)
    n = {v: sum(1 for o in outcomes if o.verdict == v) for v in mark}
    print(f"\n{len(outcomes)} scenarios: {n['passed']} passed, {n['failed']} failed, "
          f"{n['not-run']} not-run", file=out)
    if any(o.protocol_error for o in outcomes):
        print(f"exovoice conform: client {label} broke the adapter protocol: "
              f"{next(o.protocol_error for o in outcomes if o.protocol_error)}", file=sys.stderr)
        return EXIT_UNUSABLE
    return EXIT_FAILED if failed else EXIT_OK


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
