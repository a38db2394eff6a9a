"""`exovoice validate --dask ADDRESS`: the same work units, on a Dask distributed cluster.

The traces are listed here and dealt into the same batches by bytes the local pool uses
(run.batches); each batch is one task (run.judge_batch) a worker runs on its own compiled
tables, reading its traces where they are stored (a local path it can see, or an fsspec URL).
Verdicts come back as data and are given out in the traces' order, so `--format json` is byte
for byte the local run's. A worker lost mid-run loses no verdict: the scheduler runs its tasks
again elsewhere, and each trace's verdict is taken once, by its number.

Imported only for --dask: the rest of exovoice never needs Dask (`exovoice[dask]`).
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from typing import Any, Callable, Iterable, Iterator

from .run import (
    Options,
    Progress,
    TraceVerdict,
    _label,
    batches,
    in_order,
    judge_batch,
    windows,
)
from .sources import is_url


class DaskProblem(Exception):
    """Dask is missing, the address is wrong or the cluster cannot be reached: one line."""


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as e:
        raise DaskProblem("--dask needs Dask distributed: pip install 'exovoice[dask]'") from e
    return distributed


def _client(address: str, stack: ExitStack) -> Any:
    distributed = _distributed()
    if address.startswith("local:"):
        try:
            n = int(address.split(":", 1)[1])
        except ValueError:
            n = 0
        if n < 1:
            raise DaskProblem(f"--dask {address}: local:N needs a number of workers >= 1")
        cluster = stack.enter_context(distributed.LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, silence_logs=50))
        return stack.enter_context(distributed.Client(cluster))
    try:
        return stack.enter_context(distributed.Client(address, timeout="15s"))
    except (OSError, TimeoutError, ValueError) as e:
        raise DaskProblem(f"--dask {address}: cannot reach the scheduler "
                          f"({str(e).splitlines()[0] if str(e) else type(e).__name__})") from e


def _portable(p: Any) -> Any:
    """A path a worker can open: URLs as they are, local paths absolute."""
    return p if is_url(p) else os.path.abspath(p)


def validate_dask(paths: Iterable[str], opts: Options, address: str, *,
                  progress: Callable[[Progress], None] | None = None
                  ) -> Iterator[TraceVerdict]:
    """Judge every trace on the cluster at `address` (or `local:N`), verdicts in order."""
    paths = list(paths)
    if "-" in paths:
        raise DaskProblem("--dask: standard input cannot be spread over a cluster; "
                          "name the files")
    wins = list(windows(paths))
    state = Progress(total_traces=sum(len(w) for w in wins),
                     total_bytes=sum(size for w in wins for *_x, size in w))
    with ExitStack() as stack:
        client = _client(address, stack)
        as_completed = _distributed().as_completed
        for w in wins:
            sizes = {i: size for i, _p, size in w}
            workers = max(len(client.scheduler_info().get("workers", {})), 1)
            work = [[(i, _portable(p), _label(p)) for i, p in b] for b in batches(w, workers)]
            futures = client.map(judge_batch, work, opts=opts, pure=False)
            done = (f.result() for f in as_completed(futures))
            for i, v in in_order(done, w[0][0]):
                state.traces += 1
                state.bytes += sizes[i]
                state.lines += v.lines
                if progress:
                    progress(state)
                yield v
