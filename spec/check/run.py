"""`exovoice check`: explore the composed spec within a bound, hold it to its properties, and
write a shortest counterexample (a trace v1 file) for each property that fails."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .counterexample import write
from .properties import (
    INVARIANTS,
    Facts,
    Finding,
    calls_end,
    determinism,
    every_rule,
    every_state,
    invariant,
    no_deadlock,
    no_livelock,
    obligations_met,
)
from .space import SLICES, Bound, Space, explore, slices_of


@dataclass
class Report:
    bound: Bound
    spaces: list[Space] = field(default_factory=list)
    findings: list[tuple[str, Finding]] = field(default_factory=list)  # (space label, finding)
    choices: dict[str, list[dict]] = field(default_factory=dict)
    checking: dict[str, float] = field(default_factory=dict)  # space label -> its properties' s
    seconds: float = 0.0

    @property
    def held(self) -> bool:
        return all(f.held for _s, f in self.findings)

    def as_json(self) -> dict[str, Any]:
        return {
            "bound": {"calls": self.bound.calls, "pstn": self.bound.pstn,
                      "owed": self.bound.owed},
            "held": self.held,
            "seconds": round(self.seconds, 2),
            "spaces": [{"label": label(sp), "callkit": sp.callkit, "slice": sp.which,
                        "configurations": len(sp.snaps), "nodes": len(sp.nodes),
                        "transitions": sp.transitions, "steps": sp.steps, "fires": sp.fires,
                        "seconds": round(sp.seconds, 2),
                        "checking_seconds": round(self.checking.get(label(sp), 0.0), 2),
                        "steps_per_second": round(sp.steps / sp.seconds) if sp.seconds else 0,
                        "fires_per_second": round(sp.fires / sp.seconds) if sp.seconds else 0}
                       for sp in self.spaces],
            "properties": [{"space": where, "name": f.name, "title": f.title, "held": f.held,
                            "explanation": f.explanation or None,
                            "counterexample": f.counterexample, "notes": f.extra}
                           for where, f in self.findings],
            "choices": self.choices,
        }


def label(sp: Space) -> str:
    return f"{'callkit' if sp.callkit else 'no-callkit'}/{sp.which or 'all'}"


def check(bound: Bound, *, modes: tuple[bool, ...] = (False, True),
          slices: tuple[str | None, ...] = SLICES, out: Path | None = None,
          progress: Callable[[str], None] | None = None, jobs: int = 1) -> Report:
    t0 = time.perf_counter()
    rep = Report(bound)
    all_facts: list[Facts] = []
    for ck in modes:
        for which in slices:
            if which is not None and which not in slices_of(ck):
                continue  # nothing of its own in this mode
            name = f"{'callkit' if ck else 'no-callkit'}/{which or 'all'}"
            tick = (lambda e, n, name=name: progress(f"{name}: {e} expanded, {n} reached")) \
                if progress else None
            sp = explore(ck, bound, which=which, progress=tick, jobs=jobs)
            rep.spaces.append(sp)
            if progress:
                progress(f"{name}: {len(sp.nodes)} nodes, {sp.transitions} transitions in "
                         f"{sp.seconds:.1f} s; checking")
            t1 = time.perf_counter()
            facts = Facts(sp)
            all_facts.append(facts)
            found = [no_deadlock(sp, facts), no_livelock(sp, facts), calls_end(sp, facts),
                     obligations_met(sp, facts)]
            found += [invariant(sp, facts, inv) for inv in INVARIANTS]
            det, groups = determinism(sp, facts)
            found.append(det)
            rep.choices[name] = groups
            for f in found:
                if not f.held and f.node is not None and out is not None:
                    path = out / f"{name.replace('/', '-')}-{f.name}.jsonl"
                    f.counterexample = str(write(sp, f.node, path))
                rep.findings.append((name, f))
            rep.checking[name] = time.perf_counter() - t1
    rep.findings.append(("all", every_rule(rep.spaces)))
    rep.findings.append(("all", every_state(rep.spaces, all_facts)))
    rep.seconds = time.perf_counter() - t0
    return rep


def render_text(rep: Report) -> str:
    lines = [f"bound: {rep.bound.calls} calls, {rep.bound.pstn} PSTN calls, "
             f"{rep.bound.owed} owed answers of a kind"]
    for sp in rep.spaces:
        rate = sp.steps / sp.seconds if sp.seconds else 0.0
        lines.append(f"  {label(sp):22} {len(sp.snaps):7} configurations {len(sp.nodes):8} "
                     f"nodes {sp.transitions:9} transitions  {sp.seconds:6.1f} s "
                     f"({rate:,.0f} steps/s, {sp.fires:,} fired), properties "
                     f"{rep.checking.get(label(sp), 0.0):.1f} s")
    for where, f in rep.findings:
        mark = "held  " if f.held else "FAILED"
        lines.append(f"{mark} {f.name:24} [{where}] {f.title}")
        if not f.held:
            lines.append(f"       {f.explanation}")
            if f.counterexample:
                lines.append(f"       counterexample: {f.counterexample}")
    for name, groups in rep.choices.items():
        if groups:
            lines.append(f"choices the spec leaves ({name}):")
            lines += [f"  {g['cause']}: {' | '.join(g['answers'])} ({', '.join(g['rules'])}; "
                      f"{g['configurations']} configurations)" for g in groups]
    lines.append(f"{'all properties held' if rep.held else 'some properties FAILED'} "
                 f"in {rep.seconds:.1f} s")
    return "\n".join(lines)


def add_parser(sub: Any) -> None:
    c = sub.add_parser(
        "check", help="model-check the spec: explore every configuration within a bound and "
        "hold it to its properties",
        description="Explores the composed client model (with and without CallKit) over its "
        "whole alphabet: every API operation with its argument classes and refused results, "
        "every callback, environment event, CallKit line and unobserved network step, in "
        "six slices explored side by side rather than multiplied: the calls (with CallKit's "
        "actions), the life cycle, the audio route with the phone's devices and network, the "
        "logs, the VoIP push (with CallKit only) and the PSTN call; each holds the others "
        "still but for a small frame (an initialized client; a call that is made and ended; "
        "for the PSTN call every state a call goes through and CallKit's hold). The engine "
        "is fired once per values a letter's step reads, and that step applied to every "
        "configuration that agrees on them. Properties: no deadlock, no livelock, every call "
        "ends, obligations can be met, single call context, no dial during PSTN, ENDED is "
        "terminal, determinism (each choice the spec leaves must be a documented permissive "
        "reading), every rule and every state reachable. A failed property is written as a "
        "trace v1 file that `exovoice validate` accepts. Exit 0: all held; 1: a property "
        "failed; 2: usage.")
    c.add_argument("--calls", type=int, default=3, help="calls started at most: a dial() or a "
                   "relayed push accepted as a call (default 3)")
    c.add_argument("--pstn", type=int, default=2, help="PSTN calls at most (default 2)")
    c.add_argument("--owed", type=int, default=2, help="answers of one kind owed at once at "
                   "most (missed-call reports, log uploads; default 2)")
    c.add_argument("--callkit", choices=("both", "yes", "no"), default="both",
                   help="explore the app with CallKit, without, or both (default)")
    c.add_argument("--jobs", type=int, default=1, help="processes expanding each level of "
                   "the exploration (default 1: each process keeps its own memo of steps "
                   "and sends back every move, so on 2 cores one is faster)")
    c.add_argument("--slice", choices=("sides", *SLICES, "product"), default="sides",
                   help="sides: every slice, each on its own (default); or one slice; "
                   "product: the whole alphabet as one product (far larger)")
    c.add_argument("--out", type=Path, default=None,
                   help="folder for counterexample traces (default: none written)")
    c.add_argument("--format", choices=("text", "json"), default="text")
    c.add_argument("--quiet", action="store_true", help="no progress on stderr")
    c.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    if min(args.calls, args.pstn, args.owed) < 0:
        print("exovoice check: --calls, --pstn and --owed must be 0 or more", file=sys.stderr)
        return 2
    modes = {"both": (False, True), "yes": (True,), "no": (False,)}[args.callkit]
    slices: tuple[str | None, ...] = (SLICES if args.slice == "sides" else (None,)
                                      if args.slice == "product" else (args.slice,))
    if not any(w is None or w in slices_of(ck) for ck in modes for w in slices):
        print(f"exovoice check: the {args.slice} slice has letters only with CallKit "
              "(--callkit yes or both)", file=sys.stderr)
        return 2
    t0 = time.monotonic()

    def progress(msg: str) -> None:
        if not args.quiet:
            print(f"[{time.monotonic() - t0:6.1f} s] {msg}", file=sys.stderr, flush=True)

    rep = check(Bound(args.calls, args.pstn, args.owed), modes=modes, slices=slices,
                out=args.out, progress=progress, jobs=max(1, args.jobs))
    if args.format == "json":
        print(json.dumps(rep.as_json(), indent=2))
    else:
        print(render_text(rep))
    return 0 if rep.held else 1
