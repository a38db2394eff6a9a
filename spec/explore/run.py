"""`exovoice explore`: drive a client down paths generated from the spec, judge every step
online, and shrink a failure with hypothesis to the shortest run that still fails.

Every session (one hypothesis example) is a fresh client instance. hypothesis draws the
session's length (a flag before each step) and, at each step, one of the inputs the generator
offers (random: every enabled one; quick_random, tour and pairs: their own preferred few), so
shrinking the draws shortens the run and steers it to the generator's first choice. The
generators' memory (transitions covered, inputs tried) grows between rounds of sessions and
is frozen within one (a hypothesis run), so every session, and every replay of a failing one
while it is shrunk, is a function of the draws alone. hypothesis's example database replays the failure first on
the next run with the same client, mode and generator.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..charts.model import REGION_OF, ClientModel, transitions_of
from ..conform.plugin import make_factory
from ..rules import RULES
from .gherkin import feature, scenario
from .walk import GENERATORS, WAIT, Finding, Memory, Session, minimize, remember


@dataclass
class Options:
    generator: str = "quick_random"
    seed: int = 0
    max_steps: int = 500
    session_steps: int = 40
    seconds: float | None = None
    coverage: float | None = None  # stop at this % of the transitions
    rule_coverage: float | None = None
    callkit: bool = False
    wait: float = WAIT
    database: Path | None = None
    shrink: bool = True


@dataclass
class Result:
    client: str
    options: Options
    steps: int = 0
    sessions: int = 0
    seconds: float = 0.0
    covered: set[str] = field(default_factory=set)
    states: set[str] = field(default_factory=set)
    tried: int = 0
    finding: Finding | None = None
    unsupported: set[str] = field(default_factory=set)
    gherkin: str = ""
    flaky: str | None = None  # the client answered a replay differently (not shrunk)
    shrink_steps: int = 0  # steps replayed while shrinking a failure
    runs: list[list[str]] = field(default_factory=list)  # each generated session's steps
    found_after: float | None = None  # seconds until the failure was found (before shrinking)
    generator_steps: dict[str, int] = field(default_factory=dict)  # steps each generator took

    @property
    def exploring_seconds(self) -> float:
        return self.found_after if self.found_after is not None else self.seconds

    @property
    def verdict(self) -> str:
        return "fail" if self.finding else "pass"


def transition_rules(callkit: bool) -> dict[str, str]:
    """Every tagged transition of the composed chart a client in this mode can take, with its
    rule (the CallKit regions' only with CallKit)."""
    from ..base import transition_id

    apple = {s for s, region in REGION_OF.items() if region in ("callkit", "pushkit")}
    out: dict[str, str] = {}
    for t, spec in transitions_of(ClientModel):
        if not callkit and t.source.value in apple:
            continue
        out[transition_id(t)] = spec.rule.id
    return out


def explore(factory: Callable[[], Any], label: str, opts: Options,
            progress: Callable[[str], None] | None = None) -> Result:
    from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
    from hypothesis import strategies as st
    from hypothesis.database import DirectoryBasedExampleDatabase
    from hypothesis.errors import Flaky

    global _MORE
    if _MORE is None:
        _MORE = _more()
    res = Result(label, opts)
    last_note = [time.monotonic()]
    # "quick_random+tour": the generators take turns, a round of sessions each, sharing one
    # memory (GraphWalker chains generators the same way, each with its own stop condition)
    names = opts.generator.split("+")
    universe = transition_rules(opts.callkit)
    all_rules = set(universe.values())
    memory = Memory()
    unsupported: set[str] = set()
    t0 = time.monotonic()

    def done() -> bool:
        if res.steps >= opts.max_steps:
            return True
        if opts.seconds is not None and time.monotonic() - t0 >= opts.seconds:
            return True
        covered = memory.covered & universe.keys()
        if opts.coverage is not None and 100 * len(covered) / len(universe) >= opts.coverage:
            return True
        if opts.rule_coverage is not None:
            rules = {universe[t] for t in covered}
            if 100 * len(rules) / len(all_rules) >= opts.rule_coverage:
                return True
        return False

    db = None
    if opts.database is not None:
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{label}-{'ck' if opts.callkit else 'plain'}-"
                      f"{opts.generator}")
        db = DirectoryBasedExampleDatabase(str(opts.database / slug))
    phases = [Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if opts.shrink else [])
    round_no = 0
    stale = 0
    while not done() and res.finding is None:
        # one round: the generators' memory is frozen for its sessions, so each session is
        # a function of hypothesis's draws (and replays the same while it shrinks)
        frozen_mem = memory.copy()
        frozen_gone = set(unsupported)
        gathered = Memory()
        learned: set[str] = set()
        per_round = max(1, min(10, (opts.max_steps - res.steps) // max(1, opts.session_steps // 2)))
        before = (len(memory.covered), len(memory.tried), res.steps)
        replaying = [False]
        name = names[round_no % len(names)]
        chooser = GENERATORS[name]

        @seed(opts.seed * 1000 + round_no)
        @settings(max_examples=per_round, deadline=None, database=db, phases=phases,
                  suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet,
                  report_multiple_bugs=False, print_blob=False, derandomize=False)
        @given(st.data())
        def session(data: Any) -> None:
            mem = frozen_mem.copy()
            s = Session(factory, callkit=opts.callkit, label=label,
                        unsupported=set(frozen_gone), wait=opts.wait)
            steps = 0
            try:
                for _ in range(opts.session_steps):
                    # a flag before each step, as hypothesis's own lists draw: shrinking can
                    # delete a step (its flag and its choice) and keep the rest of the run
                    if not data.draw(_MORE, label="another step"):
                        break
                    enabled = s.enabled()
                    if not enabled:
                        break
                    options = chooser(s, enabled, mem)
                    if not options:
                        break
                    inp = data.draw(st.sampled_from(options), label="step")
                    sid = s.sid
                    try:
                        took = s.step(inp)
                    except Finding:
                        if not replaying[0]:
                            res.found_after = time.monotonic() - t0
                        replaying[0] = True  # every later session of this round is a replay
                        raise
                    if took:
                        remember(mem, sid, inp, s.sid, s.covered, s.pairs)
                        steps += 1
            finally:
                s.close()
                if not replaying[0]:
                    res.steps += steps
                    res.generator_steps[name] = res.generator_steps.get(name, 0) + steps
                    res.runs.append([i.phrase for i in s.steps])
                else:
                    res.shrink_steps += steps
                res.sessions += 1
                gathered.merge(mem)
                learned.update(s.unsupported - frozen_gone)
                res.states.update(_seen_states(s))

        try:
            session()
        except Finding as f:
            res.finding = f
        except Flaky as e:
            # the client answered the same run differently: report what was found, unshrunk
            res.flaky = str(e).splitlines()[0]
        memory.merge(gathered)
        unsupported |= learned
        round_no += 1
        now = time.monotonic()
        if progress is not None and now - last_note[0] >= 2.0:
            last_note[0] = now
            progress(f"{res.steps} steps in {res.sessions} sessions, "
                     f"{len(memory.covered & universe.keys())}/{len(universe)} transitions, "
                     f"{res.steps / max(now - t0, 1e-9):.0f} steps/s")
        if (len(memory.covered), len(memory.tried), res.steps) == before:
            stale += 1
            if stale >= 3:
                break  # nothing new can be reached: the sessions end at once
        else:
            stale = 0
    if res.finding is not None and opts.shrink:
        gone = set(unsupported)
        res.finding = minimize(
            lambda: Session(factory, callkit=opts.callkit, label=label, unsupported=set(gone),
                            wait=opts.wait), res.finding.steps, res.finding)
    res.seconds = time.monotonic() - t0
    res.covered = memory.covered & universe.keys()
    res.tried = len(memory.tried)
    res.unsupported = unsupported
    if res.finding is not None:
        f = res.finding
        owed = None
        if f.kind == "quiescence":
            m = re.search(r"owes (\w+)", f.message)
            owed = m.group(1) if m else None
        res.gherkin = feature([scenario(f.steps, callkit=f.callkit, rule=f.rule,
                                        message=f.message, owed=None if f.then else owed,
                                        then=f.then)])
    return res


def _generator(text: str) -> str:
    parts = text.split("+")
    bad = [p for p in parts if p not in GENERATORS]
    if bad or not text:
        raise argparse.ArgumentTypeError(
            f"unknown generator {', '.join(bad) or repr(text)} (choose from "
            f"{', '.join(sorted(GENERATORS))}, or several joined by +)")
    return text


# another step? False first, so shrinking ends a run early; True fifteen times in sixteen, so
# a generated session runs about sixteen steps before a fresh client starts
_MORE: Any = None


def _more() -> Any:
    from hypothesis import strategies as st

    return st.sampled_from((False,) + (True,) * 15)


def _seen_states(s: Session) -> set[str]:
    """The leaf states of the configurations the session's trace may have been in."""
    t = s.judge.tables
    if t is None or s.sid < 0:
        return set()
    out: set[str] = set()
    for k in t.set_keys[s.sid]:
        out.update(_LEAVES.get(k) or _leaves(t, k))
    return out


_LEAVES: dict[Any, tuple[str, ...]] = {}


def _leaves(t: Any, k: Any) -> tuple[str, ...]:
    got = _LEAVES[k] = tuple(t.load(k).leaf_states())
    return got


def as_json(res: Result) -> dict[str, Any]:
    universe = transition_rules(res.options.callkit)
    rules = {universe[t] for t in res.covered}
    all_rules = set(universe.values())
    f = res.finding
    return {
        "client": res.client,
        "verdict": res.verdict,
        "generator": res.options.generator,
        "generator_steps": res.generator_steps,
        "seed": res.options.seed,
        "callkit": res.options.callkit,
        "steps": res.steps,
        "sessions": res.sessions,
        "seconds": round(res.seconds, 3),
        "exploring_seconds": round(res.exploring_seconds, 3),
        "shrink_steps": res.shrink_steps,
        "steps_per_second": (round(res.steps / res.exploring_seconds, 1)
                             if res.exploring_seconds else None),
        "coverage": {
            "transitions": {"covered": len(res.covered), "total": len(universe),
                            "percent": round(100 * len(res.covered) / len(universe), 1)},
            "rules": {"covered": len(rules), "total": len(all_rules),
                      "percent": round(100 * len(rules) / len(all_rules), 1)},
            "states": sorted(res.states),
            "explored_pairs_tried": res.tried,
        },
        "unsupported": sorted(res.unsupported),
        "violation": None if f is None else {
            "kind": f.kind, "rule": f.rule, "section": f.section, "message": f.message,
            "line": f.line, "steps": f.steps, "trace": f.trace},
        "gherkin": res.gherkin or None,
    }


def render_text(res: Result) -> str:
    j = as_json(res)
    cov = j["coverage"]
    lines = [f"explored {res.client} ({'CallKit' if res.options.callkit else 'no CallKit'}, "
             f"{res.options.generator}, seed {res.options.seed}): {res.steps} steps in "
             f"{res.sessions} sessions, {res.exploring_seconds:.1f} s "
             f"({j['steps_per_second'] or 0:,.0f} steps/s)"
             + (f"; shrunk in {res.seconds - res.exploring_seconds:.1f} s "
                f"({res.shrink_steps} steps replayed)" if res.finding else ""),
             f"  transitions {cov['transitions']['covered']}/{cov['transitions']['total']} "
             f"({cov['transitions']['percent']}%), rules {cov['rules']['covered']}/"
             f"{cov['rules']['total']} ({cov['rules']['percent']}%), "
             f"{len(cov['states'])} states"]
    if res.unsupported:
        lines.append(f"  the client declined: {', '.join(sorted(res.unsupported))}")
    f = res.finding
    if f is None:
        lines.append("no violation found")
    else:
        r = RULES.get(f.rule)
        lines.append(f"FAILED: {r.cite if r else f.rule} [{f.kind}]: {f.message}")
        lines.append(f"  shortest run ({len(f.steps)} steps):")
        lines += [f"    {n + 1}. {p}" for n, p in enumerate(f.steps)]
        lines.append("  as a scenario:")
        lines += ["    " + line for line in res.gherkin.splitlines()]
    return "\n".join(lines)


def add_parser(sub: Any) -> None:
    e = sub.add_parser(
        "explore", help="model-based testing: drive a client down paths generated from the "
        "spec, judge every step, shrink a failure to the shortest run",
        description="Drives a client (the same adapter protocol and capability handshake as "
        "`conform`) through runs generated from the spec: each step is one of the step "
        "library's When steps the spec enables here, judged online by the validator, "
        "including what the spec owes after a network happening (a callback that does not "
        "come within --wait is a violation). A failure is shrunk by hypothesis to the "
        "shortest run that still fails and reported with the rule, a trace v1 file and a "
        "ready Gherkin scenario. Exit 0: no violation found; 1: a violation; 2: unusable.")
    who = e.add_mutually_exclusive_group()
    who.add_argument("--client", help="an in-process client, as for conform: reference "
                     "(default), reference-sip, model, broken:<fault>")
    who.add_argument("--client-cmd", help="a command speaking the JSON-lines adapter protocol")
    e.add_argument("--callkit", action="store_true", help="the app integrates CallKit")
    e.add_argument("--generator", type=_generator, default="quick_random",
                   metavar="{" + ",".join(sorted(GENERATORS)) + "}[+...]",
                   help="random: any enabled step; quick_random: steer to a transition not "
                   "yet covered (default); tour: try every step from every set of "
                   "configurations reached, walking back to untried ones; pairs: "
                   "quick_random, and in a live call each accepted step followed by one "
                   "that has not followed it yet (a second mute, media lost again); G1+G2: the "
                   "generators take turns, a round of sessions each, sharing what they "
                   "covered (quick_random+tour: the uncovered transitions first, the tour's "
                   "breadth between)")
    e.add_argument("--seed", type=int, default=0, help="the same seed replays the same run")
    e.add_argument("--max-steps", type=int, default=500, help="steps in all (default 500)")
    e.add_argument("--session-steps", type=int, default=40,
                   help="steps at most before a fresh client starts (default 40)")
    e.add_argument("--time", type=float, default=None, help="stop after this many seconds")
    e.add_argument("--coverage", type=float, default=None,
                   help="stop at this percentage of the transitions covered")
    e.add_argument("--rule-coverage", type=float, default=None,
                   help="stop at this percentage of the rules covered")
    e.add_argument("--wait", type=float, default=WAIT,
                   help=f"seconds to wait for a callback the spec owes (default {WAIT:g})")
    e.add_argument("--db", type=Path, default=Path(".hypothesis/exovoice-explore"),
                   help="hypothesis's example database: a failure found is replayed first "
                   "next time (default .hypothesis/exovoice-explore)")
    e.add_argument("--no-db", action="store_true", help="keep no example database")
    e.add_argument("--no-shrink", action="store_true", help="report the failure as found")
    e.add_argument("--out", type=Path, default=None,
                   help="folder for the failing run's trace (.jsonl) and scenario (.feature)")
    e.add_argument("--format", choices=("text", "json"), default="text")
    e.add_argument("--quiet", action="store_true", help="no progress on stderr")
    e.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    if args.max_steps < 1 or args.session_steps < 1 or args.wait <= 0:
        print("exovoice explore: --max-steps and --session-steps must be 1 or more, --wait "
              "more than 0", file=sys.stderr)
        return 2
    try:  # the same clients as conform: installed ones, model, broken:<fault>, a command
        factory, label = make_factory(args.client, args.client_cmd)
    except ValueError as e:
        print(f"exovoice explore: {e}", file=sys.stderr)
        return 2
    opts = Options(args.generator, args.seed, args.max_steps, args.session_steps, args.time,
                   args.coverage, args.rule_coverage, args.callkit, args.wait,
                   None if args.no_db else args.db, not args.no_shrink)
    t0 = time.monotonic()

    def progress(msg: str) -> None:
        if not args.quiet:
            print(f"[{time.monotonic() - t0:6.1f} s] {msg}", file=sys.stderr, flush=True)

    res = explore(factory, label, opts, progress)
    f = res.finding
    if f is not None and f.kind == "handshake":
        print(f"exovoice explore: unusable: {f.message}", file=sys.stderr)
        return 2
    if f is None and res.steps == 0:
        # no green for a run that did nothing: every input declined or none enabled
        print("exovoice explore: unusable: the client took no step (declined: "
              f"{', '.join(sorted(res.unsupported)) or 'nothing'})", file=sys.stderr)
        return 2
    if f is not None and args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "explore-failure.jsonl").write_text(f.trace, encoding="utf-8")
        (args.out / "explore-failure.feature").write_text(res.gherkin, encoding="utf-8")
    if args.format == "json":
        print(json.dumps(as_json(res), indent=2))
    else:
        print(render_text(res))
    return 1 if f is not None else 0
