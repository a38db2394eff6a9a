"""Benchmark `exovoice explore` against its floor, measured in one run.

    python bench/explore.py [--steps 3000] [--generator quick_random] [--seed 1]
                            [--jsonlines-steps 600] [--format text|json]

For each client form (the reference client in-process, and the same client over the JSON-lines
adapter protocol, as a foreign client is driven):

- explore: `exovoice explore`'s own loop (hypothesis rounds, the generator, the oracle, the
  validator judging every step online), steps per second while exploring;
- floor: the very same steps, session by session, performed on a fresh client through the
  same driver (ScenarioContext and the step library's functions), with nothing chosen and
  nothing judged: the cheapest way to make the client do that work on this machine.

The ratio floor/explore is what exploring costs over driving. Targets (issue 13): at least
2,000 steps/s in-process and 500 over JSON lines; the floor tells how much of that the client
itself allows (the reference client runs the spec's own statechart on every call).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Callable

from exovoice.spec.conform.context import ScenarioContext
from exovoice.spec.conform.jsonlines import JsonLinesAdapter
from exovoice.spec.conform.plugin import make_factory
from exovoice.spec.explore.inputs import INPUTS
from exovoice.spec.explore.run import Options, explore

JSONLINES = [sys.executable, "-m", "exovoice.reference.targets.jsonlines_server"]


def floor(factory: Callable[[], Any], runs: list[list[str]]) -> tuple[int, float]:
    by_phrase = {i.phrase: i for i in INPUTS}
    steps = 0
    t0 = time.perf_counter()
    for run in runs:
        ctx = ScenarioContext(factory, client_label="floor")
        ctx.client()
        try:
            for phrase in run:
                try:
                    by_phrase[phrase].perform(ctx)
                except BaseException:  # noqa: BLE001 - the floor only drives
                    pass
                ctx.drain()
                steps += 1
        finally:
            ctx.close()
    return steps, time.perf_counter() - t0


def measure(label: str, factory: Callable[[], Any], steps: int, generator: str,
            seed: int) -> dict[str, Any]:
    res = explore(factory, label, Options(generator=generator, seed=seed, max_steps=steps,
                                          database=None))
    if res.finding is not None:
        raise SystemExit(f"{label}: explore found a violation: {res.finding}")
    n, secs = floor(factory, res.runs)
    rate = res.steps / res.exploring_seconds
    floor_rate = n / secs
    return {"client": label, "steps": res.steps, "sessions": res.sessions,
            "explore_steps_per_s": round(rate, 1), "floor_steps_per_s": round(floor_rate, 1),
            "explore_over_floor": round(floor_rate / rate, 2),
            "transitions_covered": len(res.covered)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--jsonlines-steps", type=int, default=600)
    ap.add_argument("--generator", default="quick_random")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--format", choices=("text", "json"), default="text")
    args = ap.parse_args()
    factory, label = make_factory("reference")
    rows = [measure("in-process", factory, args.steps, args.generator, args.seed),
            measure("json-lines", lambda: JsonLinesAdapter(JSONLINES), args.jsonlines_steps,
                    args.generator, args.seed)]
    load = os.getloadavg()
    if args.format == "json":
        print(json.dumps({"rows": rows, "load": load}, indent=2))
        return 0
    print(f"exovoice explore against the floor (same steps, same driver, nothing chosen or "
          f"judged); load {load[0]:.2f}")
    for r in rows:
        target = 2000 if r["client"] == "in-process" else 500
        print(f"  {r['client']:11} explore {r['explore_steps_per_s']:8.1f} steps/s  floor "
              f"{r['floor_steps_per_s']:8.1f} steps/s  floor/explore "
              f"{r['explore_over_floor']:5.2f}x  ({r['steps']} steps, {r['sessions']} "
              f"sessions, {r['transitions_covered']} transitions; target {target} steps/s: "
              f"{'met' if r['explore_steps_per_s'] >= target else 'MISSED'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
