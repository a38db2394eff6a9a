"""Benchmark the validator against its two baselines, measured in one run on one corpus.

    python bench/validator.py [--dir DIR] [--files 1000] [--lines-per-file 1000]
                              [--replay-lines 50000] [--jobs N] [--format text|json]

- parse-only: read every file and json.loads every line, in this process (the floor any
  validator reading JSON pays);
- python-statemachine replay: feed the lines of a sample of the files, one by one, to the
  reference judge, which drives the composed StateChart per line (with the unobserved network
  steps); its rate is extrapolated from the sample, since replaying a million lines takes
  minutes;
- exovoice validate: the compiled tables over all files, spread over --jobs processes.

Targets (issue 3): validator >= 0.5x parse-only and >= 30x the python-statemachine replay.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.corpus import generate, self_check  # noqa: E402
from exovoice.spec.base import SpecViolation  # noqa: E402
from exovoice.spec.charts.model import ClientModel  # noqa: E402
from exovoice.spec.validate.run import Options, validate  # noqa: E402
from exovoice.spec.vocabulary import INTERNAL_EVENTS  # noqa: E402


def parse_only(files: list[Path]) -> int:
    n = 0
    loads = json.loads
    for f in files:
        with open(f, "rb") as fh:
            for raw in fh:
                if raw.strip():
                    loads(raw)
                    n += 1
    return n


def replay(files: list[Path], max_lines: int) -> int:
    """The naive way: one ClientModel per trace, each line fired into python-statemachine;
    when a line does not fit, the unobserved network steps are tried first (greedily). It
    is the cheapest honest replay, so the ratio against it is not flattered."""
    n = 0
    for f in files:
        m: ClientModel | None = None
        with open(f, "rb") as fh:
            for raw in fh:
                d = json.loads(raw)
                n += 1
                if d["kind"] == "meta":
                    m = ClientModel(callkit=bool(d.get("args", {}).get("callkit")))
                    continue
                if m is None:
                    m = ClientModel()
                if d["kind"] == "state":
                    continue
                res = d.get("result", "ok")
                kw = dict(result=res if res == "ok" else res["error"], params=d.get("args"),
                          call=d.get("call"))
                try:
                    m._fire(d["name"], **kw)
                except SpecViolation:
                    for ev in INTERNAL_EVENTS:
                        try:
                            m._fire(ev)
                            m._fire(d["name"], **kw)
                            break
                        except SpecViolation:
                            continue
                    else:
                        break  # non-conformant: a replay stops at the first line that fails
        if n >= max_lines:
            break
    return n


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="validator benchmark (see module docstring)")
    p.add_argument("--dir", type=Path, help="corpus directory (generated when missing/empty)")
    p.add_argument("--files", type=int, default=1000)
    p.add_argument("--lines-per-file", type=int, default=1000)
    p.add_argument("--replay-lines", type=int, default=50_000)
    p.add_argument("--jobs", type=int, default=None)
    p.add_argument("--format", choices=("text", "json"), default="text")
    a = p.parse_args(argv)

    tmp = None
    corpus = a.dir
    if corpus is None:
        tmp = tempfile.TemporaryDirectory(prefix="exovoice-bench-")
        corpus = Path(tmp.name)
    files = sorted(corpus.glob("*.jsonl"))
    if not files:
        print(f"generating {a.files} files in {corpus} ...", file=sys.stderr, flush=True)
        self_check()
        generate(corpus, a.files, a.lines_per_file, seed=1)
        files = sorted(corpus.glob("*.jsonl"))

    for f in files:  # the same page cache for every contender: read everything once first
        f.read_bytes()

    print("parse-only ...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    lines = parse_only(files)
    t_parse = time.perf_counter() - t0

    print("exovoice validate ...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    verdicts = list(validate([str(corpus)], Options(), jobs=a.jobs))
    t_val = time.perf_counter() - t0
    bad = sum(1 for v in verdicts if v.conformant is False)

    print("python-statemachine replay (sample) ...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    n_replay = replay(files, a.replay_lines)
    t_replay = time.perf_counter() - t0

    r_parse, r_val, r_replay = lines / t_parse, lines / t_val, n_replay / t_replay
    result = {
        "files": len(files), "lines": lines, "non_conformant_files": bad,
        "parse_only_lines_per_s": round(r_parse), "validator_lines_per_s": round(r_val),
        "replay_lines_per_s": round(r_replay), "replay_sample_lines": n_replay,
        "validator_vs_parse_only": round(r_val / r_parse, 2),
        "validator_vs_replay": round(r_val / r_replay, 1),
        "targets_met": r_val / r_parse >= 0.5 and r_val / r_replay >= 30,
    }
    if a.format == "json":
        print(json.dumps(result))
    else:
        print(f"corpus: {len(files)} files, {lines} lines, {bad} non-conformant")
        print(f"parse-only (json module)     {r_parse:>12,.0f} lines/s")
        print(f"python-statemachine replay   {r_replay:>12,.0f} lines/s  ({n_replay} line sample)")
        print(f"exovoice validate            {r_val:>12,.0f} lines/s")
        print(f"validator / parse-only = {r_val / r_parse:.2f}x (target >= 0.5x); "
              f"validator / replay = {r_val / r_replay:.1f}x (target >= 30x)")
    if tmp is not None:
        tmp.cleanup()
    return 0 if result["targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
