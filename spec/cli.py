"""The `exovoice` command.

Exit statuses are a published contract: 0 good, 1 the thing judged does not conform (or a
check failed), 2 unusable input or usage, always with a one-line reason on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from . import __version__

EXIT_OK, EXIT_NONCONFORMANT, EXIT_UNUSABLE = 0, 1, 2

DEFAULT_DIAGRAMS = Path("diagrams")


def _cmd_rules(args: argparse.Namespace) -> int:
    from .charts.index import rule_uses
    from .rules import RULES

    uses = rule_uses()
    if args.format == "json":
        out = [
            {"id": r.id, "section": r.section, "text": r.text, "permissive": r.permissive,
             "used_by": uses[r.id]}
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
    print(f"{len(written)} files in {out}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="exovoice",
        description="The Exotel Voice SDK call flow as an executable specification: its rules, "
        "diagrams drawn from it, and (in later commands) a validator and conformance runner.",
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
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        print("exovoice: interrupted", file=sys.stderr)
        return EXIT_UNUSABLE
