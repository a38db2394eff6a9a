"""Benchmark `exovoice validate --dask`: lines/s on a Dask distributed cluster of 1 and 2
workers on this machine, against the local run (one process, and the local pool), in one run.

    python bench/dask_fleet.py [--dir DIR] [--files 1000] [--lines-per-file 1000]
                               [--format text|json]

The cluster is real: `dask scheduler` and `dask worker` processes on 127.0.0.1 (one thread
each), started before the clock runs; its start-up is reported apart. Each worker compiles the
tables it needs, as a worker on another machine would (a cold start, like the local run's).
The overhead is the Dask run's time over the local pool's with as many processes.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.corpus import generate, self_check  # noqa: E402
from exovoice.spec.validate.dask_run import validate_dask  # noqa: E402
from exovoice.spec.charts import model  # noqa: E402
from exovoice.spec.validate import compiled  # noqa: E402
from exovoice.spec.validate.run import _TABLES, Options, validate  # noqa: E402


def cold() -> None:
    """This process as a new one: no tables, no step memo, no allowed events kept (the local
    pool's workers are forked from it and would inherit them)."""
    _TABLES.clear()
    compiled._STEPPERS.clear()
    model._ALLOWED.clear()


class Cluster:
    """A scheduler and N workers as processes on loopback."""

    def __init__(self, workers: int, tmp: Path) -> None:
        dask = str(Path(sys.executable).with_name("dask"))
        sched_file = tmp / f"scheduler-{workers}.json"
        t0 = time.perf_counter()
        self.procs = [subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(sched_file)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]
        for i in range(workers):
            self.procs.append(subprocess.Popen(
                [dask, "worker", "--scheduler-file", str(sched_file), "--host", "127.0.0.1",
                 "--nthreads", "1", "--nworkers", "1", "--no-dashboard", "--name", f"w{i}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        while not sched_file.exists():
            time.sleep(0.1)
        self.address = json.loads(sched_file.read_text())["address"]
        from distributed import Client

        with Client(self.address, timeout=60) as c:
            c.wait_for_workers(workers, timeout=120)
        self.startup = time.perf_counter() - t0

    def close(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(20)


def timed(run) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    lines = sum(v.lines for v in run())
    return time.perf_counter() - t0, lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", type=Path, help="corpus directory (generated when missing/empty)")
    p.add_argument("--files", type=int, default=1000)
    p.add_argument("--lines-per-file", type=int, default=1000)
    p.add_argument("--format", choices=("text", "json"), default="text")
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="exovoice-dask-") as tmp:
        corpus = a.dir or Path(tmp) / "corpus"
        if not sorted(corpus.glob("*.jsonl")):
            self_check()
            generate(corpus, a.files, a.lines_per_file, seed=1)
        for f in corpus.glob("*.jsonl"):
            f.read_bytes()
        paths = [str(corpus)]
        rows = []
        for jobs in (1, 2):
            cold()  # as every Dask worker starts
            spent, lines = timed(lambda: validate(paths, Options(), jobs=jobs))
            rows.append({"run": f"local, {jobs} process{'es' if jobs > 1 else ''}",
                         "workers": jobs, "seconds": round(spent, 2),
                         "lines_per_s": round(lines / spent), "lines": lines})
        for workers in (1, 2):
            cluster = Cluster(workers, Path(tmp))
            try:
                spent, lines = timed(lambda: validate_dask(paths, Options(), cluster.address))
            finally:
                cluster.close()
            local = rows[workers - 1]["seconds"]
            rows.append({"run": f"dask, {workers} worker{'s' if workers > 1 else ''}",
                         "workers": workers, "seconds": round(spent, 2),
                         "lines_per_s": round(lines / spent), "lines": lines,
                         "cluster_startup_s": round(cluster.startup, 1),
                         "overhead_vs_local": round(spent / local - 1, 3)})
    if a.format == "json":
        print(json.dumps(rows))
        return 0
    for r in rows:
        extra = (f"  overhead vs local {r['overhead_vs_local']:+.0%}, cluster start "
                 f"{r['cluster_startup_s']} s" if "overhead_vs_local" in r else "")
        print(f"{r['run']:<22} {r['lines_per_s']:>10,} lines/s  {r['seconds']:>7} s{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
