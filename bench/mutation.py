"""Mutation score of `exovoice conform` and `exovoice explore`: how many deliberately broken
clients (exovoice.spec.conform.mutants, each one realistic violation of one rule) each tool
catches, measured by the tools' own command lines in one run.

    python bench/mutation.py [--only FAULT,...] [--tools conform,explore] [--seed 1]
                             [--generator pairs] [--max-steps 3000] [--modes both] [--shrink]
                             [--jobs 1] [--format text|json] [--strict]

For every mutant, and first for the unmutated reference client (the control, which must pass
both, or the matrix means nothing):

- `exovoice conform --client broken:<fault> --tags "not explored" --format json`, the
  hand-written scenarios: killed when it exits 1 (a scenario failed), survived when it exits
  0; unusable when only protocol errors came. Then `--tags explored` alone, the scenarios
  explore wrote (features/explored.feature): the "explored" column, which shows each fault
  only explore kills caught by conform too once its scenario is kept;
- `exovoice explore --client broken:<fault> --generator G --seed S --max-steps N --no-db
  --format json`, in the mutant's own mode first (with --callkit for a mutant whose fault
  lives in a CallKit app) and, with --modes both (the default), in the other mode when the
  first found nothing: a fault of the call flow shows in either app, and the CallKit app
  reaches paths the plain one does not (and the other way round). The control is explored
  both ways and must pass both. Killed on exit 1 (a spec violation found), survived on 0,
  unusable on 2 or when what it found is the client breaking the adapter protocol (no
  rule). No example database, so no run replays what an earlier one found. When the
  installed exovoice has no `explore` command the column reads "not run", never killed nor
  survived. The defaults (pairs, 3000 steps, both modes) are the ones that killed most in
  the measured runs; a kill needs no shrinking, so the bench asks for none (--shrink to
  get explore's shrunk scenario in the JSON, at several times the cost).

Printed: the kill matrix (mutant, rule, area, conform, explore), each tool's mutation score,
the mutants only explore kills (each needs a feature scenario so conform catches it too),
those only conform kills, those neither kills, and the time each tool took, also as a ratio
to the control's run (the floor: the same tool judging a client with nothing to find).
Targets: explore kills every mutant conform kills and at least 5 more; together they kill
all. Exit status: 0 the run completed (targets met or not, as printed), 1 with --strict and a
target missed, 2 unusable (the control failed a tool, a tool could not run, bad arguments).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from exovoice.spec.conform.mutants import BROKEN  # noqa: E402
from exovoice.spec.explore.walk import GENERATORS  # noqa: E402

CONTROL = "reference"
KILLED, SURVIVED, UNUSABLE, NOT_RUN = "killed", "survived", "unusable", "not run"


@dataclass
class Outcome:
    """What one tool said about one client."""

    verdict: str  # killed, survived, unusable or not run (for the control: killed = failed)
    seconds: float = 0.0
    exit: int | None = None
    detail: str = ""  # the failed scenarios, or the violation explore found, or why unusable
    rules: list[str] = field(default_factory=list)  # the rules the tool's failures cite
    steps: int | None = None  # explore: the steps it took
    gherkin: str | None = None  # explore: the scenario it wrote for what it found
    callkit: bool | None = None  # explore: the app's mode of the run reported
    exploring_seconds: float | None = None  # explore: before the find (the rest: shrinking)


@dataclass
class Row:
    client: str  # "reference" (the control) or "broken:<fault>"
    fault: str
    rule: str
    area: str
    conform: Outcome
    explore: Outcome
    explored: Outcome  # conform on the scenarios explore wrote


def exovoice() -> list[str]:
    """The `exovoice` command of this interpreter's environment."""
    found = Path(sys.executable).with_name("exovoice")
    if found.exists():
        return [str(found)]
    which = shutil.which("exovoice")
    return [which] if which else [sys.executable, "-m", "exovoice.spec"]


def explore_available() -> tuple[bool, str]:
    out = subprocess.run([*exovoice(), "explore", "--help"], capture_output=True, text=True)
    if out.returncode == 0:
        return True, ""
    last = (out.stderr.strip().splitlines() or ["no output"])[-1]
    return False, f"`exovoice explore` is not available: {last}"


def _run(argv: list[str], timeout: float) -> tuple[int | None, str, str, float]:
    t0 = time.perf_counter()
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                             env={**os.environ, "NO_COLOR": "1"})
    except subprocess.TimeoutExpired as e:
        took = time.perf_counter() - t0
        return None, _text(e.stdout), f"timed out after {timeout:g} s", took
    return out.returncode, out.stdout, out.stderr, time.perf_counter() - t0


def _text(b: bytes | str | None) -> str:
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else (b or "")


def run_conform(client: str, timeout: float, tags: str) -> Outcome:
    code, out, err, took = _run([*exovoice(), "conform", "--client", client, "--tags", tags,
                                 "--format", "json"], timeout)
    failed, errors, rules, summary = [], [], [], None
    for line in out.splitlines():
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if "summary" in d:
            summary = d["summary"]
        elif d.get("verdict") == "error":  # the client stopped answering: no verdict
            errors.append(d.get("scenario", "?"))
        elif d.get("verdict") == "failed":
            failed.append(d.get("scenario", "?"))
            v = d.get("violation") or {}
            if v.get("rule") and v["rule"] not in rules:
                rules.append(v["rule"])
    if code == 1 and failed:
        return Outcome(KILLED, took, code, f"{len(failed)} failed: " + "; ".join(failed[:3])
                       + (" ..." if len(failed) > 3 else ""), rules)
    if code == 0 and summary is not None:
        return Outcome(SURVIVED, took, code, f"{summary.get('passed', 0)} passed, "
                       f"{summary.get('not_run', 0)} not-run")
    why = (err.strip().splitlines() or [f"exit {code}, no summary"])[-1]
    if errors:
        why = f"{len(errors)} scenarios ended in a protocol error: " + "; ".join(errors[:3])
    return Outcome(UNUSABLE, took, code, why)


def run_explore(client: str, args: argparse.Namespace, available: tuple[bool, str],
                callkit: bool = False) -> Outcome:
    out = _run_explore(client, args, available, callkit)
    out.callkit = callkit if out.verdict != NOT_RUN else None
    return out


def _run_explore(client: str, args: argparse.Namespace, available: tuple[bool, str],
                 callkit: bool) -> Outcome:
    if not available[0]:
        return Outcome(NOT_RUN, detail=available[1])
    code, out, err, took = _run([*exovoice(), "explore", "--client", client, "--generator",
                                 args.generator, "--seed", str(args.seed), "--max-steps",
                                 str(args.max_steps), "--no-db", "--format", "json",
                                 *([] if args.shrink else ["--no-shrink"]),
                                 *(["--callkit"] if callkit else [])], args.timeout)
    report: dict[str, Any] = {}
    try:
        report = json.loads(out)
    except ValueError:
        for line in out.splitlines():  # a tool that streams progress: its last object
            try:
                report = json.loads(line)
            except ValueError:
                continue
    steps = report.get("steps") if isinstance(report.get("steps"), int) else None
    exploring = report.get("exploring_seconds")
    exploring = float(exploring) if isinstance(exploring, (int, float)) else None
    violation = report.get("violation") or {}
    if code == 1 and report.get("verdict") == "fail" and violation.get("kind") == "protocol":
        # the client broke the adapter protocol: a fault of the harness or of the client
        # under the mutant, not a spec violation the fault was caught by
        return Outcome(UNUSABLE, took, code, f"protocol error: {violation.get('message', '')}",
                       steps=steps, gherkin=report.get("gherkin"))
    if code == 1 and report.get("verdict") == "fail":
        where = f" ({violation.get('section')})" if violation.get("section") else ""
        return Outcome(KILLED, took, code, f"{violation.get('rule', '?')}{where}: "
                       f"{violation.get('message', '')}".strip(),
                       [violation["rule"]] if violation.get("rule") else [], steps,
                       report.get("gherkin"), exploring_seconds=exploring)
    if code == 0 and report.get("verdict") == "pass":
        return Outcome(SURVIVED, took, code, f"no violation in {steps} steps", steps=steps,
                       exploring_seconds=exploring)
    why = (err.strip().splitlines() or [f"exit {code}, verdict {report.get('verdict')!r}"])[-1]
    return Outcome(UNUSABLE, took, code, why, steps=steps)


def measure(client: str, args: argparse.Namespace, available: tuple[bool, str]) -> Row:
    fault = client.split(":", 1)[1] if client.startswith("broken:") else ""
    cls = BROKEN.get(fault)
    conform = (run_conform(client, args.timeout, "not explored") if "conform" in args.tools
               else Outcome(NOT_RUN, detail="not asked for (--tools)"))
    explored = (run_conform(client, args.timeout, "explored") if "conform" in args.tools
                else Outcome(NOT_RUN, detail="not asked for (--tools)"))
    if "explore" not in args.tools:
        explore = Outcome(NOT_RUN, detail="not asked for (--tools)")
    elif cls is None:  # the control: explored without CallKit and with it, both must pass
        runs = [run_explore(client, args, available, ck) for ck in (False, True)]
        bad = [o for o in runs if o.verdict != SURVIVED] or runs
        # the floor of one mutant's explore: what the control took in the same modes
        explore = replace(bad[0], seconds=sum(o.seconds for o in runs) / len(runs)
                          * (2 if args.modes == "both" else 1))
    else:
        explore = run_explore(client, args, available, cls.callkit)
        if args.modes == "both" and explore.verdict in (SURVIVED, UNUSABLE):
            other = run_explore(client, args, available, not cls.callkit)
            took = explore.seconds + other.seconds
            if other.verdict == KILLED or explore.verdict == UNUSABLE:
                explore = replace(other, seconds=took)
            else:
                explore = replace(explore, seconds=took, detail=f"{explore.detail}; in the "
                                  f"other mode {other.verdict}: {other.detail}")
    return Row(client, fault or "(control)", getattr(cls, "rule", ""),
               getattr(cls, "area", ""), conform, explore, explored)


def score(rows: list[Row], tool: str) -> dict[str, Any]:
    outs = [getattr(r, tool) for r in rows]
    judged = [o for o in outs if o.verdict in (KILLED, SURVIVED)]
    killed = sum(o.verdict == KILLED for o in judged)
    return {"killed": killed, "judged": len(judged), "mutants": len(outs),
            "score": round(killed / len(judged), 3) if judged else None,
            "not_run": sum(o.verdict == NOT_RUN for o in outs),
            "unusable": sum(o.verdict == UNUSABLE for o in outs),
            "seconds": round(sum(o.seconds for o in outs), 1)}


def summarize(control: Row, rows: list[Row], took: float) -> dict[str, Any]:
    def kills(r: Row, tool: str) -> bool:
        return getattr(r, tool).verdict == KILLED

    judged = {t: any(getattr(r, t).verdict in (KILLED, SURVIVED) for r in rows)
              for t in ("conform", "explore")}
    explored = judged["conform"] and judged["explore"]
    only_explore = [r.fault for r in rows if kills(r, "explore") and not kills(r, "conform")]
    only_conform = [r.fault for r in rows if kills(r, "conform") and not kills(r, "explore")]
    neither = [r.fault for r in rows if not kills(r, "conform") and not kills(r, "explore")]
    survivors = {t: [r.fault for r in rows if getattr(r, t).verdict == SURVIVED]
                 for t in ("conform", "explore")}
    if not explored:  # a comparison needs both columns
        only_explore = only_conform = neither = None  # type: ignore[assignment]
    control_ok = all(getattr(control, t).verdict in (SURVIVED, NOT_RUN)
                     for t in ("conform", "explore", "explored"))
    targets = None
    kept = None  # explore-only kills conform catches with explore's scenarios kept
    if explored:
        kept = [f for f in only_explore
                if next(r for r in rows if r.fault == f).explored.verdict == KILLED]
        targets = {"explore kills all conform kills": not only_conform,
                   "explore only >= 5": len(only_explore) >= 5,
                   "together kill all": not neither,
                   "explore-only kills kept as scenarios": len(kept) == len(only_explore)}
    floor = {t: getattr(control, t).seconds for t in ("conform", "explore")}
    return {
        "control": asdict(control), "control_passes": control_ok,
        "mutants": [asdict(r) for r in rows],
        "scores": {t: {**score(rows, t), "floor_seconds": round(floor[t], 2),
                       "per_mutant_vs_floor": _ratio(score(rows, t)["seconds"] / len(rows)
                                                     if rows else 0.0, floor[t])}
                   for t in ("conform", "explore")},
        "only_explore": only_explore, "only_conform": only_conform, "neither": neither,
        "only_explore_caught_by_explored_scenarios": kept,
        "conform_with_explored": sum(kills(r, "conform") or kills(r, "explored")
                                     for r in rows),
        "survivors": survivors,
        "targets": targets, "seconds": round(took, 1),
    }


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b > 0 else None


def _mark(o: Outcome) -> str:
    mark = {KILLED: "killed", SURVIVED: "survived", UNUSABLE: "unusable",
            NOT_RUN: "not run"}[o.verdict]
    if o.verdict == KILLED and o.callkit is not None:  # explore: in which app it was found
        mark += " (CallKit)" if o.callkit else " (plain)"
    return mark


def render(s: dict[str, Any]) -> str:
    rows = s["mutants"]
    w = max([len(r["fault"]) for r in rows] + [len("(control) reference")])
    wr = max([len(r["rule"]) for r in rows] + [4])
    lines = [f"{'mutant':<{w}}  {'rule':<{wr}}  {'area':<10}  {'conform':<9}  "
             f"{'explored':<9}  explore", "-" * (w + wr + 60)]
    c = s["control"]
    lines.append(f"{'(control) reference':<{w}}  {'':<{wr}}  {'':<10}  "
                 f"{_control_explore(c['conform']):<9}  {_control_explore(c['explored']):<9}  "
                 f"{_control_explore(c['explore'])}")
    for r in rows:
        lines.append(f"{r['fault']:<{w}}  {r['rule']:<{wr}}  {r['area']:<10}  "
                     f"{_mark(Outcome(**r['conform'])):<9}  "
                     f"{_mark(Outcome(**r['explored'])):<9}  {_mark(Outcome(**r['explore']))}"
                     + (f"  {r['explore']['rules'][0]}" if r["explore"]["rules"] else ""))
    lines.append("")
    for tool in ("conform", "explore"):
        sc = s["scores"][tool]
        if sc["judged"]:
            ratio = sc["per_mutant_vs_floor"]
            lines.append(f"{tool}: killed {sc['killed']} of {sc['judged']} mutants, score "
                         f"{sc['score']:.0%}; {sc['seconds']:.0f} s, "
                         f"{sc['seconds'] / max(len(rows), 1):.1f} s a mutant "
                         f"({ratio if ratio is not None else '?'}x the control's "
                         f"{sc['floor_seconds']:.1f} s)"
                         + (f"; {sc['unusable']} unusable" if sc["unusable"] else ""))
        else:
            lines.append(f"{tool}: not run ({sc['not_run']} mutants)"
                         + (f"; {sc['unusable']} unusable" if sc["unusable"] else ""))
    if s["only_explore"] is None:
        for tool in ("conform", "explore"):
            if s["scores"][tool]["judged"]:
                lines.append(f"{tool} misses: {', '.join(s['survivors'][tool]) or 'none'}")
    else:
        lines.append(f"only explore kills: {', '.join(s['only_explore']) or 'none'}"
                     f" (of them, conform with explore's scenarios kept kills "
                     f"{len(s['only_explore_caught_by_explored_scenarios'])}; conform with "
                     f"them kills {s['conform_with_explored']} of {len(rows)})")
        lines.append(f"only conform kills: {', '.join(s['only_conform']) or 'none'}")
        lines.append(f"neither kills: {', '.join(s['neither']) or 'none'}")
    if s["targets"] is None:
        lines.append("targets: not judged (a tool was not run)")
    else:
        lines.append("targets: " + "; ".join(f"{k}: {'met' if v else 'MISSED'}"
                                             for k, v in s["targets"].items()))
    if not s["control_passes"]:
        lines.append("the control (the unmutated reference client) did not pass: the matrix "
                     "means nothing until it does")
    lines.append(f"took {s['seconds']:.0f} s")
    return "\n".join(lines)


def _control_explore(o: dict[str, Any]) -> str:
    return {SURVIVED: "passes", KILLED: "FAILS", NOT_RUN: "not run", UNUSABLE: "unusable"}[
        o["verdict"]]


def _generator(text: str) -> str:
    bad = [g for g in text.split("+") if g not in GENERATORS]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown generator {', '.join(bad) or repr(text)}")
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python bench/mutation.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", metavar="FAULT,...", help="only these mutants (comma-separated)")
    ap.add_argument("--seed", type=int, default=1, help="explore's seed (default 1)")
    ap.add_argument("--max-steps", type=int, default=3000, metavar="N",
                    help="explore's bound on steps, per mode (default 3000)")
    ap.add_argument("--generator", default="pairs", type=_generator, metavar="G[+G...]",
                    help="explore's generator: pairs (default), " + ", ".join(
                        g for g in GENERATORS if g != "pairs") + ", or several joined by + "
                    "(they take turns)")
    ap.add_argument("--shrink", action="store_true",
                    help="let explore shrink what it finds (its scenario in the JSON is then "
                    "the shortest; several times slower)")
    ap.add_argument("--modes", choices=("own", "both"), default="both",
                    help="explore each mutant in its own mode only (CallKit for a CallKit "
                    "fault), or also in the other when the first finds nothing (default)")
    ap.add_argument("--timeout", type=float, default=900.0, metavar="S",
                    help="give up on one tool's run after S seconds (default 900)")
    ap.add_argument("--jobs", type=int, default=1, metavar="N",
                    help="mutants measured at once (default 1: timings stay comparable)")
    ap.add_argument("--format", choices=("text", "json"), default="text")
    ap.add_argument("--tools", default="conform,explore", metavar="TOOL,...",
                    help="the tools to measure (default conform,explore); the other's column "
                    "reads 'not run'")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    a = ap.parse_args(argv)
    a.tools = {t.strip() for t in a.tools.split(",") if t.strip()}
    if not a.tools or a.tools - {"conform", "explore"}:
        print("mutation.py: --tools takes conform, explore or both", file=sys.stderr)
        return 2
    faults = list(BROKEN)
    if a.only is not None:
        wanted = [f.strip() for f in a.only.split(",") if f.strip()]
        unknown = [f for f in wanted if f not in BROKEN]
        if not wanted or unknown:
            print(f"mutation.py: --only: unknown mutant {', '.join(unknown) or '(none given)'};"
                  f" known: {', '.join(sorted(BROKEN))}", file=sys.stderr)
            return 2
        faults = wanted
    if a.max_steps < 1 or a.jobs < 1 or a.timeout <= 0:
        print("mutation.py: --max-steps, --jobs and --timeout must be positive", file=sys.stderr)
        return 2
    available = explore_available() if "explore" in a.tools else (False, "")
    if "explore" in a.tools and not available[0]:
        print(f"note: {available[1]}; its column reads 'not run'", file=sys.stderr)
    t0 = time.perf_counter()
    control = measure(CONTROL, a, available)
    print(f"[control] reference: conform {control.conform.verdict} "
          f"({control.conform.seconds:.1f} s), explore {control.explore.verdict} "
          f"({control.explore.seconds:.1f} s)", file=sys.stderr, flush=True)
    done = 0

    def one(fault: str) -> Row:
        nonlocal done
        row = measure(f"broken:{fault}", a, available)
        done += 1
        print(f"[{done}/{len(faults)}] {fault}: conform {row.conform.verdict} "
              f"(explored {row.explored.verdict}) "
              f"({row.conform.seconds:.1f} s), explore {row.explore.verdict} "
              f"({row.explore.seconds:.1f} s)", file=sys.stderr, flush=True)
        return row

    with ThreadPoolExecutor(max_workers=a.jobs) as pool:
        rows = list(pool.map(one, faults))
    s = summarize(control, rows, time.perf_counter() - t0)
    print(json.dumps(s) if a.format == "json" else render(s))
    if not s["control_passes"] or UNUSABLE in (control.conform.verdict,
                                                control.explore.verdict):
        return 2
    if a.strict and s["targets"] is not None and not all(s["targets"].values()):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
