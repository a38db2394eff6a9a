"""Benchmark `exovoice check`: the size of the explored state space, the time it takes and its
rate, against the floor, measured in one run.

    python bench/check.py [--calls 3] [--pstn 2] [--owed 2] [--callkit both|yes|no]
                          [--jobs N] [--format text|json]

The floor is the statechart engine itself: the same letters fired on the same configurations
(python-statemachine's send, restoring each configuration first), with nothing interned,
bounded, recorded or checked, timed on a sample of the explored moves. Check judges every
letter it tries in every configuration (its steps); firing each of them would cost steps /
floor rate, so check's steps per second over the floor's fires per second is what its step
memo (one fire per values a step reads) gains over driving the engine for each.
Target: the default bound explored and checked, both modes, in under a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time

from exovoice.spec.base import SpecViolation
from exovoice.spec.charts.model import ClientModel
from exovoice.spec.check.run import check, label
from exovoice.spec.check.space import Bound


def floor_rate(rep, sample: int = 3000) -> float:
    """Fires per second of the bare engine on moves the exploration made."""
    rng = random.Random(1)
    pairs = []
    for sp in rep.spaces:
        for idx, moves in sp.moves.items():
            for mv in moves:
                pairs.append((sp.callkit, sp.snaps[idx], sp.letters[mv.letter]))
    rng.shuffle(pairs)
    pairs = pairs[:sample]
    machines = {ck: ClientModel(callkit=ck) for ck in (False, True)}
    t0 = time.perf_counter()
    for ck, snap, letter in pairs:
        m = machines[ck]
        m.restore(snap)
        try:
            m._fire(letter.name, result=letter.result, params=letter.params)
        except SpecViolation:
            pass
    return len(pairs) / (time.perf_counter() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=3)
    ap.add_argument("--pstn", type=int, default=2)
    ap.add_argument("--owed", type=int, default=2)
    ap.add_argument("--callkit", choices=("both", "yes", "no"), default="both")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--format", choices=("text", "json"), default="text")
    args = ap.parse_args()
    modes = {"both": (False, True), "yes": (True,), "no": (False,)}[args.callkit]
    t0 = time.perf_counter()
    rep = check(Bound(args.calls, args.pstn, args.owed), modes=modes, jobs=args.jobs)
    wall = time.perf_counter() - t0
    fires = sum(sp.fires for sp in rep.spaces)
    steps = sum(sp.steps for sp in rep.spaces)
    explore_s = sum(sp.seconds for sp in rep.spaces)
    floor = floor_rate(rep)
    out = {
        "bound": {"calls": args.calls, "pstn": args.pstn, "owed": args.owed},
        "held": rep.held, "wall_seconds": round(wall, 1),
        "exploring_seconds": round(explore_s, 1),
        "checking_seconds": round(wall - explore_s, 1),
        "configurations": sum(len(sp.snaps) for sp in rep.spaces),
        "nodes": sum(len(sp.nodes) for sp in rep.spaces),
        "transitions": sum(sp.transitions for sp in rep.spaces),
        "steps": steps, "fires": fires,
        "steps_per_second": round(steps / explore_s) if explore_s else 0,
        "floor_fires_per_second": round(floor),
        "floor_seconds_for_the_steps": round(steps / floor, 1),
        "check_over_floor": round((steps / explore_s) / floor, 1) if explore_s else 0.0,
        "load": os.getloadavg(),
        "spaces": [{"space": f"{'callkit' if sp.callkit else 'plain'}/{sp.which}",
                    "configurations": len(sp.snaps), "nodes": len(sp.nodes),
                    "transitions": sp.transitions, "steps": sp.steps, "fires": sp.fires,
                    "seconds": round(sp.seconds, 2),
                    "checking_seconds": round(rep.checking[label(sp)], 2)}
                   for sp in rep.spaces],
        "modes": {("callkit" if ck else "plain"): round(sum(
            sp.seconds + rep.checking[label(sp)] for sp in rep.spaces if sp.callkit == ck), 1)
            for ck in modes},
    }
    if args.format == "json":
        print(json.dumps(out, indent=2))
        return 0
    print(f"exovoice check, bound {args.calls} calls, {args.pstn} PSTN, {args.owed} owed; "
          f"load {out['load'][0]:.2f}")
    for sp_ in out["spaces"]:
        print(f"  {sp_['space']:18} {sp_['configurations']:6} configurations {sp_['nodes']:7} "
              f"nodes {sp_['transitions']:8} transitions {sp_['steps']:8} steps "
              f"{sp_['fires']:5} fired {sp_['seconds']:6.2f} s, properties "
              f"{sp_['checking_seconds']:5.2f} s")
    print("  by mode (exploring and properties): " + ", ".join(
        f"{mode} {s} s" for mode, s in out["modes"].items()))
    print(f"  total {out['nodes']} nodes, {out['transitions']} transitions, {steps} steps "
          f"({fires} fired): exploring {out['exploring_seconds']} s "
          f"({out['steps_per_second']} steps/s), properties {out['checking_seconds']} s, "
          f"wall {out['wall_seconds']} s (target < 60 s: {'met' if wall < 60 else 'MISSED'})")
    print(f"  floor: the engine alone {out['floor_fires_per_second']} fires/s, so "
          f"{out['floor_seconds_for_the_steps']} s for the same steps; check "
          f"{out['check_over_floor']}x the floor's rate; all properties "
          f"{'held' if rep.held else 'did NOT all hold'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
