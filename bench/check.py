"""Benchmark `exovoice check`: the size of the explored state space, the time it takes and its
rate, against the floor, measured in one run.

    python bench/check.py [--calls 3] [--pstn 2] [--owed 2] [--callkit both|yes|no]
                          [--jobs N] [--format text|json]

The floor is the statechart engine itself: the same letters fired on the same configurations
(python-statemachine's send, restoring each configuration first), with nothing interned,
bounded, recorded or checked, timed on a sample of the explored moves. Every step of check
costs at least that, so check's rate over the floor's says what the exploration adds.
Target (issue 13): the default bound explored in under a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time

from exovoice.spec.base import SpecViolation
from exovoice.spec.charts.model import ClientModel
from exovoice.spec.check.run import check
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
        "fires": fires, "fires_per_second": round(fires / explore_s),
        "floor_fires_per_second": round(floor),
        "floor_over_check": round(floor / (fires / explore_s), 2),
        "load": os.getloadavg(),
        "spaces": [{"space": f"{'callkit' if sp.callkit else 'plain'}/{sp.which}",
                    "nodes": len(sp.nodes), "transitions": sp.transitions,
                    "seconds": round(sp.seconds, 1)} for sp in rep.spaces],
    }
    if args.format == "json":
        print(json.dumps(out, indent=2))
        return 0
    print(f"exovoice check, bound {args.calls} calls, {args.pstn} PSTN, {args.owed} owed; "
          f"load {out['load'][0]:.2f}")
    for s in out["spaces"]:
        print(f"  {s['space']:18} {s['nodes']:8} nodes {s['transitions']:9} transitions "
              f"{s['seconds']:7.1f} s")
    print(f"  total {out['nodes']} nodes, {out['transitions']} transitions, {fires} fires: "
          f"exploring {out['exploring_seconds']} s ({out['fires_per_second']} fires/s), "
          f"properties {out['checking_seconds']} s, wall {out['wall_seconds']} s "
          f"(target < 60 s: {'met' if wall < 60 else 'MISSED'})")
    print(f"  floor: the engine alone {out['floor_fires_per_second']} fires/s; "
          f"floor/check {out['floor_over_check']}x; all properties "
          f"{'held' if rep.held else 'did NOT all hold'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
