"""The `exovoice` command.

Exit statuses are a published contract: 0 good, 1 the thing judged does not conform (or a
check failed), 2 unusable input or usage, always with a one-line reason on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Sequence

from . import __version__
from .outputs import PathProblem, check_dir, check_file

EXIT_OK, EXIT_NONCONFORMANT, EXIT_UNUSABLE = 0, 1, 2

DEFAULT_DIAGRAMS = Path("diagrams")


def _cmd_rules(args: argparse.Namespace) -> int:
    from .charts.index import rule_uses
    from .rules import RULES

    uses = rule_uses()
    if args.format == "json":
        out = [
            {"id": r.id, "section": r.section, "text": r.text, "permissive": r.permissive,
             "quote": getattr(r, "quote", None), "used_by": uses[r.id]}
            for r in RULES.values()
        ]
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    for r in RULES.values():
        where = f"§{r.section}" if r.section[0].isdigit() else r.section
        print(f"{r.id:<22} {where:<7} {r.text}")
        if r.permissive:
            print(f"{'':<22} {'':<7} permissive: {r.permissive}")
    print(f"\n{len(RULES)} rules; `exovoice rules --format json` lists the transitions using each.")
    return EXIT_OK


def _cmd_diagrams(args: argparse.Namespace) -> int:
    from .diagrams import GraphvizMissing, check_fresh, write_diagrams

    out: Path = args.out
    if not args.check:
        try:
            check_dir(out, "--out")
        except PathProblem as e:
            print(f"exovoice: {e}", file=sys.stderr)
            return EXIT_UNUSABLE
    try:
        if args.check:
            stale = check_fresh(out)
            if stale:
                print(f"exovoice: stale diagrams in {out}: {', '.join(stale)}; "
                      f"run `exovoice diagrams --out {out}`", file=sys.stderr)
                return EXIT_NONCONFORMANT
            print(f"{out}: diagrams are up to date with the spec")
            return EXIT_OK
        print(f"drawing the spec's charts into {out} ...", flush=True)
        written = write_diagrams(out)
        for path in written:
            print(f"wrote {path}")
    except GraphvizMissing as e:
        print(f"exovoice: {e}", file=sys.stderr)
        return EXIT_UNUSABLE
    except OSError as e:
        print(f"exovoice: --out {out}: cannot write ({e.strerror or e})", file=sys.stderr)
        return EXIT_UNUSABLE
    print(f"{len(written)} files in {out}")
    return EXIT_OK


def _colour(stream: object) -> Callable[[str, str], str]:
    from .report.terminal import painter

    return painter(stream)


def _cmd_validate(args: argparse.Namespace) -> int:
    from .validate.cache import default_cache_dir
    from .validate.run import Options, validate
    from .validate.summary import Fleet, ProgressLine

    if args.report is not None:
        try:
            check_file(args.report, "--report")
        except PathProblem as e:
            print(f"exovoice: {e}", file=sys.stderr)
            return EXIT_UNUSABLE
    opts = Options(callkit=args.callkit, complete=args.complete,
                   coverage=args.coverage or args.summary or args.report is not None,
                   allow_empty=args.allow_empty,
                   cache_dir=None if args.no_cache else (args.cache_dir or default_cache_dir()))
    kept: list = []  # the verdicts, for --report
    paint = _colour(sys.stdout)
    fleet = Fleet()
    progress = ProgressLine(sys.stderr) if sys.stderr.isatty() else None
    problems: tuple[type[Exception], ...] = ()
    if args.dask is not None:
        from .validate.dask_run import DaskProblem, validate_dask

        problems = (DaskProblem,)
        verdicts = validate_dask(args.paths, opts, args.dask, progress=progress)
    else:  # nothing of Dask is imported without --dask
        verdicts = validate(args.paths, opts, jobs=args.jobs, progress=progress)
    try:
        for v in verdicts:
            if args.report is not None:
                kept.append(v)
            fleet.add(v)
            if v.unusable is not None:
                print(f"exovoice: {v.unusable}", file=sys.stderr)
            if args.summary:
                continue
            if args.format == "json":
                print(json.dumps(v.as_json(args.coverage)), flush=True)
                continue
            if v.conformant is False:
                for x in v.violations:
                    print(paint(f"{v.trace}:{x.line}: ", "bold") + paint("violation: ", "red")
                          + x.message)
                    if x.source:
                        print(paint(f"  {x.line:>5} | ", "dim") + x.source)
    except KeyboardInterrupt:
        print("exovoice: interrupted", file=sys.stderr)
        return EXIT_UNUSABLE
    except problems as e:
        print(f"exovoice: {e}", file=sys.stderr)
        return EXIT_UNUSABLE
    finally:
        if progress is not None:
            progress.done()
    total = fleet.traces
    if args.summary:
        if args.format == "json":
            print(json.dumps({"summary": fleet.as_json()}))
        else:
            print(fleet.text())
    elif args.coverage:
        _print_coverage(fleet.fired, fleet.states, args.format)
    if args.report is not None and total:
        from .report.html import validate_report

        try:
            Path(args.report).write_text(validate_report(kept, fleet.fired), encoding="utf-8")
        except OSError as e:
            print(f"exovoice: --report {args.report}: cannot write ({e.strerror or e})",
                  file=sys.stderr)
            return EXIT_UNUSABLE
        if args.format == "text":
            print(f"report: {args.report}")
    if args.format == "text" and not args.summary:
        print(f"{total} traces: {fleet.conformant} conformant, "
              f"{fleet.nonconformant} non-conformant, {fleet.unusable} unusable")
    if total == 0:
        print("exovoice: no trace files found in " + " ".join(args.paths), file=sys.stderr)
        return EXIT_UNUSABLE
    if fleet.unusable:
        return EXIT_UNUSABLE
    return EXIT_NONCONFORMANT if fleet.nonconformant else EXIT_OK


def _print_coverage(fired: dict[str, int], states: set[str], fmt: str) -> None:
    from .validate.summary import coverage_report

    report = coverage_report(fired, states)
    if fmt == "json":
        print(json.dumps({"summary": {"coverage": report}}))
        return
    for what in ("states", "transitions"):
        ex, nv = report[what]["exercised"], report[what]["never"]
        print(f"coverage: {len(ex)}/{len(ex) + len(nv)} {what} exercised")
        if nv:
            print("  never: " + ", ".join(nv))
    hit = report["rules"]["exercised"]
    print(f"coverage: {len(hit)} rules exercised on transitions; never: "
          + (", ".join(report["rules"]["never_on_a_transition"]) or "none"))


SCHEMA_ID = "urn:exovoice:schema:trace-line:1"


def _schemas() -> dict[str, dict]:
    from .conform.protocol import adapter_json_schema
    from .export.schemas import SCHEMAS
    from .trace.model import trace_json_schema

    trace = trace_json_schema()
    return {"trace": {"$id": SCHEMA_ID, **trace}, "adapter": adapter_json_schema(), **SCHEMAS}


def _cmd_schema(args: argparse.Namespace) -> int:
    what = args.what
    if getattr(args, "adapter", False):
        if what not in (None, "adapter"):
            print(f"exovoice schema: --adapter and {what!r} name two schemas; give one",
                  file=sys.stderr)
            return EXIT_UNUSABLE
        what = "adapter"
    what = what or "trace"
    schemas = _schemas()
    doc = schemas if what == "all" else schemas[what]
    json.dump(doc, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return EXIT_OK


def _cmd_export(args: argparse.Namespace) -> int:
    from .export import write_exports

    try:
        check_dir(args.out, "--out")
        written = write_exports(args.out, args.format)
    except PathProblem as e:
        print(f"exovoice: {e}", file=sys.stderr)
        return EXIT_UNUSABLE
    except OSError as e:
        print(f"exovoice: --out {args.out}: cannot write ({e.strerror or e})", file=sys.stderr)
        return EXIT_UNUSABLE
    for path in written:
        print(f"wrote {path}")
    print(f"{len(written)} {args.format} files in {args.out}")
    return EXIT_OK


# the guide beside a checkout (the repository's ../shared/guide); pass --guide elsewhere
CHECKOUT_GUIDE = Path(__file__).resolve().parents[2] / "shared" / "guide" / "integration-guide.txt"


def _cmd_fidelity(args: argparse.Namespace) -> int:
    from .conform.fidelity import render

    guide = args.guide or CHECKOUT_GUIDE
    if not guide.is_file():
        print(f"exovoice fidelity: {guide}: no integration guide there; give --guide FILE",
              file=sys.stderr)
        return EXIT_UNUSABLE
    text = render(guide)
    if args.check is not None:
        try:
            current = args.check.read_text(encoding="utf-8")
        except OSError as e:
            print(f"exovoice fidelity: --check {args.check}: cannot read ({e.strerror or e})",
                  file=sys.stderr)
            return EXIT_UNUSABLE
        if current != text:
            print(f"{args.check} is stale: run exovoice fidelity --out {args.check}")
            return EXIT_NONCONFORMANT
        return EXIT_OK
    if args.out is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        args.out.write_text(text, encoding="utf-8")
    except OSError as e:
        print(f"exovoice fidelity: --out {args.out}: cannot write ({e.strerror or e})",
              file=sys.stderr)
        return EXIT_UNUSABLE
    print(f"wrote {args.out}")
    return EXIT_OK


def _cmd_demo(argv: Sequence[str]) -> int:
    """The demo lives with the reference client, which spec/ must never import: it is found
    through the `exovoice.commands` entry point group and owns its own arguments."""
    from importlib.metadata import entry_points

    found = [ep for ep in entry_points(group="exovoice.commands") if ep.name == "demo"]
    if not found:
        print("exovoice: the demo is not installed (no 'demo' in the exovoice.commands entry "
              "points); install exovoice with its reference package", file=sys.stderr)
        return EXIT_UNUSABLE
    try:
        run = found[0].load()
    except Exception as e:  # noqa: BLE001 - one line, whatever broke the import
        print(f"exovoice: cannot load the demo ({found[0].value}): {type(e).__name__}: {e}",
              file=sys.stderr)
        return EXIT_UNUSABLE
    return int(run(list(argv)))


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Every command's parser; when `command` is one of the light ones, only as much as it
    needs (a validate run does not wait for the conformance runner's imports)."""
    p = argparse.ArgumentParser(
        prog="exovoice",
        description="The Exotel Voice SDK call flow as an executable specification: its rules, "
        "diagrams drawn from it, a validator for recorded traces, and a conformance runner.",
        epilog="Exit status: 0 good, 1 non-conformant or stale, 2 unusable input or usage.",
    )
    p.add_argument("--version", action="version", version=f"exovoice {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    r = sub.add_parser("rules", help="list every rule of the spec with its guide section",
                       description="List every rule of the spec: its stable id, the guide "
                       "section (or FACTS) it comes from, its text, and where the sources "
                       "conflict, the permissive reading the spec takes.")
    r.add_argument("--format", choices=("text", "json"), default="text",
                   help="json adds the transitions and refusals that use each rule")
    r.set_defaults(func=_cmd_rules)

    d = sub.add_parser("diagrams", help="draw the spec's charts (SVG, PNG, DOT, Mermaid)",
                       description="Write, for each chart (call state, client lifecycle, PSTN "
                       "rules, CallKit lifecycle, composed model), SVG and PNG rendered by "
                       "Graphviz plus DOT and Mermaid text. Output is byte-identical on a rerun.")
    d.add_argument("--out", type=Path, default=DEFAULT_DIAGRAMS, metavar="DIR",
                   help="directory to write (default: diagrams/)")
    d.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if DIR differs from what the spec draws now")
    d.set_defaults(func=_cmd_diagrams)

    v = sub.add_parser(
        "validate", help="judge recorded traces (trace format v1) against the spec",
        description="Judge each trace: does some run of the spec, with unobserved network "
        "steps between lines, produce it? Each violation names the line, the rule and guide "
        "section, what happened, what the spec allowed there and the states the client could "
        "have been in. A trace is judged up to its first violation.",
        epilog="Exit status: 0 every trace conforms, 1 some trace does not, 2 some input is "
        "unusable (a one-line reason names the file and line; other files are still judged).")
    v.add_argument("paths", nargs="+", metavar="PATH",
                   help="a trace file, a directory of *.jsonl files, - for standard input, or "
                   "an fsspec URL of a file, a directory or a glob (needs exovoice[dask])")
    v.add_argument("--complete", action="store_true",
                   help="also require every call ended, every CallKit action answered and "
                   "every obligation met by the end of the trace")
    v.add_argument("--callkit", action="store_true",
                   help="apply the CallKit rules to traces without a meta line saying so")
    v.add_argument("--coverage", action="store_true",
                   help="report which states, transitions and rules the traces exercised")
    v.add_argument("--allow-empty", action="store_true",
                   help="judge a trace with no line as conformant (by default an empty trace "
                   "is unusable, exit 2: a client that wrote nothing has shown nothing)")
    v.add_argument("--format", choices=("text", "json"), default="text",
                   help="json: one object per trace per line")
    v.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="processes to spread the traces over, by bytes (default: one per core)")
    v.add_argument("--summary", action="store_true",
                   help="instead of each trace's findings, the fleet report: traces judged, "
                   "conformant, non-conformant, unusable; violations by rule (traces, guide "
                   "section, a sample trace and line); by client and sdkVersion (from the meta "
                   "line); the states, transitions and rules the fleet never exercised "
                   "(--format json: one object)")
    v.add_argument("--cache-dir", metavar="DIR", default=None,
                   help="keep the tables compiled from the spec in DIR between runs, one file "
                   "per spec version, so a fleet judged again skips the compilation a first run "
                   "pays in every process (default: $EXOVOICE_CACHE_DIR, else "
                   "$XDG_CACHE_HOME/exovoice, else ~/.cache/exovoice)")
    v.add_argument("--no-cache", action="store_true",
                   help="compile the tables in this run only: read no cache, write none")
    v.add_argument("--dask", metavar="ADDRESS", default=None,
                   help="judge on a Dask distributed cluster: a scheduler address "
                   "(tcp://host:8786) or local:N for a local cluster of N worker processes; "
                   "PATHs may then be fsspec URLs (file://, s3://, ...) the workers read. "
                   "Same verdicts, same order as a local run (needs exovoice[dask])")
    v.add_argument("--report", type=Path, default=None, metavar="FILE",
                   help="also write a self-contained HTML report: verdicts by guide section, "
                   "each violation on the call-state diagram beside its trace, coverage as a "
                   "heat-map, violations by rule")
    v.set_defaults(func=_cmd_validate)

    dm = sub.add_parser(
        "demo", add_help=False,
        help="place one real call on this machine and watch it (`exovoice demo --help`)",
        description="Start the customer backend, the platform simulator and two reference "
        "clients on 127.0.0.1; alice calls bob through the exophone, live progress of both "
        "sides, then both traces' verdicts and the call detail record.")
    dm.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    dm.set_defaults(func=lambda a: _cmd_demo(a.args))

    ex = sub.add_parser(
        "export", help="write the charts for other statechart tools (SCXML, XState)",
        description="Write every chart (call state, client lifecycle, PSTN, CallKit, the "
        "composed model) as W3C SCXML (*.scxml) or as XState v5 machine configurations "
        "(*.xstate.json). Guards are the spec's, by name: the host supplies g_<guard> with "
        "each event (SCXML: the event's data; XState: a guard named `spec`).")
    ex.add_argument("--format", choices=("scxml", "xstate"), required=True)
    ex.add_argument("--out", type=Path, required=True, metavar="DIR",
                    help="directory to write (created if missing)")
    ex.set_defaults(func=_cmd_export)

    fi = sub.add_parser(
        "fidelity", help="the guide section by section, with its rules and scenarios",
        description="A Markdown table of every section of the integration guide with the "
        "rules that hold it and the feature scenarios tagged with it; sections with neither "
        "are marked. Exit 1 with --check when the file differs.")
    fi.add_argument("--guide", type=Path, default=None, metavar="FILE",
                    help="the integration guide (default: the checkout's ../shared/guide)")
    fi.add_argument("--out", type=Path, default=None, metavar="FILE", help="write it to FILE")
    fi.add_argument("--check", type=Path, default=None, metavar="FILE",
                    help="exit 1 when FILE is stale")
    fi.set_defaults(func=_cmd_fidelity)

    sc = sub.add_parser("schema", help="print a JSON Schema",
                        description="Print a JSON Schema (each with an $id): a trace line "
                        "(format v1), the adapter protocol's JSON-lines messages, the "
                        "--format json output of validate, conform or rules, or all of them "
                        "as one object by name.")
    sc.add_argument("what", nargs="?", default=None,
                    choices=("trace", "adapter", "validate", "conform", "rules", "all"),
                    help="which schema (default: trace)")
    sc.add_argument("--adapter", action="store_true",
                    help="the adapter protocol's messages, generated from their models "
                    "(the same as `adapter`; docs/adapter-protocol.schema.json)")
    sc.set_defaults(func=_cmd_schema)
    if command in sub.choices:
        return p  # the commands below import the conformance runner and pytest: not for this
    from .conform.runner import add_conform_parser

    add_conform_parser(sub)

    from .check.run import add_parser as add_check_parser
    from .explore.run import add_parser as add_explore_parser
    from .probe.cli import add_probe_parser

    add_probe_parser(sub)
    add_check_parser(sub)
    add_explore_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["demo"]:  # its options are the demo's own, --help included
        try:
            return _cmd_demo(argv[1:])
        except KeyboardInterrupt:
            print("exovoice: interrupted", file=sys.stderr)
            return EXIT_UNUSABLE
    parser = build_parser(argv[0] if argv else None)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        print("exovoice: interrupted", file=sys.stderr)
        return EXIT_UNUSABLE
