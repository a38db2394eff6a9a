"""Judge many traces: the work split by bytes over processes (or a Dask cluster, dask_run.py),
each trace judged on the compiled tables, and every finding explained by the reference judge
so the report is as precise as the spec.

Returns data (one TraceVerdict per input); only the CLI turns it into text or JSON.
"""

from __future__ import annotations

import gc
import json
import os
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from multiprocessing.util import Finalize
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from ..trace.reader import Unusable, _os_reason, iter_raw
from .compiled import FastJudge, Tables, memo_closure
from .engine import Judge, Violation
from .stream import judge_stream
from .sources import list_traces, open_trace, trace_size


@dataclass
class TraceVerdict:
    trace: str
    conformant: bool | None  # None: unusable
    violations: list[Violation] = field(default_factory=list)
    unusable: str | None = None
    lines: int = 0
    fired: dict[str, int] = field(default_factory=dict)  # transition id -> count (--coverage)
    states: list[str] = field(default_factory=list)
    client: str | None = None  # the meta line's client and sdkVersion, for the fleet report
    sdk_version: str | None = None

    def as_json(self, with_coverage: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "trace": self.trace,
            "conformant": self.conformant,
            "violations": [v.as_json() for v in self.violations],
            "coverage": ({"transitions": self.fired, "states": self.states}
                         if with_coverage else None),
        }
        if self.unusable is not None:
            out["unusable"] = self.unusable
        return out


@dataclass(frozen=True)
class Options:
    callkit: bool = False
    complete: bool = False
    coverage: bool = False
    allow_empty: bool = False
    cache_dir: str | None = None  # keep the compiled tables there between runs (cache.py)


_TABLES: dict[bool, Tables] = {}  # per process: compiled lazily, shared by every trace


def _label(src: Path | str) -> str:
    return "<stdin>" if src == "-" else str(src)


def _explain(fast: FastJudge, opts: Options, line: int, d: dict | None) -> Violation:
    """Explain a finding of the compiled engine with the reference judge, started from the
    configurations the compiled engine had reached, so only the failing step is re-run."""
    judge = Judge(callkit=opts.callkit, complete=opts.complete)
    judge.closure = memo_closure
    callkit, configs = fast.seed()
    judge.seed(callkit, configs, fast.tables.m if fast.tables is not None else None)
    if d is not None:
        res = d.get("result", "ok")
        v = judge.feed(line, d["kind"], d["name"], d.get("call"), d.get("args"),
                       res if res == "ok" else res["error"])
        if v is not None:
            return v
    else:
        judge._last_line = line
        done = judge.finish()
        if done:
            return done[0]
    return Violation(line=line, rule="ENGINE", section="-",
                     message="the compiled tables refused this line but the reference judge "
                     "allows it: please report this exovoice bug with the trace (ENGINE)")


def _source(d: dict | None) -> str | None:
    """The trace line a violation is about, as the reader parsed it (standard input cannot
    be read twice, so the text is rebuilt from the parsed line)."""
    return None if d is None else json.dumps(d, separators=(",", ":"), ensure_ascii=False)


def judge_file(src: Path | str, opts: Options, *, label: str | None = None) -> TraceVerdict:
    """Judge one trace (a path, an fsspec URL, "-" or a binary stream): read in large
    blocks and judged on interned line shapes (shapes.py), every finding explained by the
    reference judge. `label` names it in the verdict (default: the path as given)."""
    label = label if label is not None else _label(src)
    coverage: dict | None = {} if opts.coverage else None
    fast = FastJudge(_TABLES, callkit=opts.callkit, complete=opts.complete, coverage=coverage)
    try:
        f, close = open_trace(src)
    except (OSError, TypeError, ValueError, ImportError) as e:
        return TraceVerdict(trace=label, conformant=None, lines=0,
                            unusable=f"{label}: cannot read ({_os_reason(e)})")
    try:
        out = judge_stream(f, label, fast)
    finally:
        if close:
            f.close()
    if out.unusable is not None:
        lines = out.lines if out.unusable.lineno else 0
        verdict = TraceVerdict(trace=label, conformant=None, unusable=str(out.unusable),
                               lines=lines)
    else:
        verdict = _verdict(label, fast, opts, out.lines, out.failed, _line(out.failed_raw),
                           out.last_raw, coverage)
    verdict.client, verdict.sdk_version = out.client, out.sdk_version
    return verdict


def judge_lines(src: Path | str, opts: Options, *, label: str | None = None) -> TraceVerdict:
    """The same verdict, the plain way: every line decoded by the reference reader
    (iter_raw) and fed to FastJudge.feed. The interned loop is held to it by the tests."""
    label = label if label is not None else _label(src)
    coverage: dict | None = {} if opts.coverage else None
    fast = FastJudge(_TABLES, callkit=opts.callkit, complete=opts.complete, coverage=coverage)
    failed, lines = 0, 0
    failed_line: dict | None = None
    last: dict | None = None
    for lineno, d in iter_raw(src, name=label):
        lines = lineno
        if isinstance(d, Unusable):
            return TraceVerdict(trace=label, conformant=None, unusable=str(d), lines=lineno)
        last = d
        if not failed and not fast.feed(lineno, d):
            failed, failed_line = lineno, d
    return _verdict(label, fast, opts, lines, failed, failed_line, last, coverage)


def _line(raw: bytes | None) -> dict | None:
    """A line the reader already found well-formed, decoded again (the reference way)."""
    return None if raw is None else json.loads(raw.decode("utf-8-sig"))


def _verdict(label: str, fast: FastJudge, opts: Options, lines: int, failed: int,
             failed_line: dict | None, last: dict | bytes | None,
             coverage: dict | None) -> TraceVerdict:
    verdict = TraceVerdict(trace=label, conformant=True, lines=lines)
    if lines == 0 and not opts.allow_empty:
        return TraceVerdict(trace=label, conformant=None, lines=0,
                            unusable=f"{label}: empty trace (no line to judge; "
                            "--allow-empty judges it as conformant)")
    if failed:
        verdict.conformant = False
        v = _explain(fast, opts, failed, failed_line)
        verdict.violations.append(replace(v, source=_source(failed_line)))
    elif not fast.finish():
        verdict.conformant = False
        v = _explain(fast, opts, lines, None)
        if isinstance(last, bytes):
            last = _line(last)
        verdict.violations.append(replace(v, source=_source(last)))
    if coverage is not None:
        fired: dict[str, int] = {}
        states: set[str] = set()
        for (mode, key, open_sid), n in coverage.items():
            t = _TABLES[mode]
            took, leaves = t.covered(key, open_sid)
            for tid in took:
                fired[tid] = fired.get(tid, 0) + n
            states.update(leaves)
        verdict.fired = dict(sorted(fired.items()))
        verdict.states = sorted(states)
    return verdict


@dataclass
class Progress:
    """How far a run is, for a progress line: traces and bytes judged of the total."""

    traces: int = 0
    total_traces: int = 0
    bytes: int = 0
    total_bytes: int = 0
    lines: int = 0


Batch = list[tuple]
"""(number, trace) or (number, trace, label): a Dask worker gets absolute paths, the verdicts
keep the names the traces were given by."""

WINDOW = 4096
"""Traces scheduled together: within a window the largest go first and the verdicts wait to
be given back in order, so memory does not grow with the number of traces."""


def batches(items: list[tuple[int, Path | str, int]], workers: int) -> list[Batch]:
    """Work split by bytes, not by file count: the traces, largest first, dealt into batches
    of about total/(workers*8) bytes each, so a worker that drew a huge trace is not handed
    more while the others idle, and small traces travel together."""
    total = sum(size for _i, _p, size in items) or 1
    target = max(total // (max(workers, 1) * 8), 1)
    out: list[Batch] = []
    cur: Batch = []
    acc = 0
    for i, p, size in sorted(items, key=lambda x: -x[2]):
        cur.append((i, p))
        acc += size
        if acc >= target or len(cur) >= 64:
            out.append(cur)
            cur, acc = [], 0
    if cur:
        out.append(cur)
    return out


def judge_batch(batch: Batch, opts: Options, *, keep: bool = True
                ) -> list[tuple[int, TraceVerdict]]:
    """One unit of work, here or on a Dask worker: each trace of the batch judged. `keep`:
    write what it compiled to the cache now (a Dask worker has no end to wait for); a worker
    of validate()'s own pool writes once, as it exits (_pool_worker)."""
    before = _cache_in(opts)
    out = [(i, judge_file(p, opts, label=rest[0] if rest else None)) for i, p, *rest in batch]
    if keep:
        _cache_out(opts, before)
    elif opts.cache_dir is not None:
        _UNSAVED.setdefault(opts.cache_dir, (opts, before))
    return out


_CACHES_READ: set[str] = set()


def _cache_in(opts: Options) -> int:
    """With --cache-dir: this process's tables read from the cache once; their size now."""
    if opts.cache_dir is None:
        return 0
    from . import cache

    if opts.cache_dir not in _CACHES_READ:
        _CACHES_READ.add(opts.cache_dir)
        if cache.load(opts.cache_dir, _TABLES) and _POOL_WORKER:
            gc.freeze()  # the tables live as long as the worker: no collection walks them again
    return cache.size(_TABLES)


_POOL_WORKER = False
"""True in a process of validate()'s own pool: one that only judges, so the collector may
leave alone what it holds (gc.freeze), which a library call in someone's process must not do."""


_UNSAVED: dict[str, tuple[Options, int]] = {}
"""Cache directories a pool worker has judged with, and the size its tables had when read."""


def _pool_worker(opts: Options | None = None) -> None:
    global _POOL_WORKER
    _POOL_WORKER = True
    # the cache written once, when the pool lets the worker go (close, join), not after each
    # batch: on a fleet that meets new configurations every batch compiles something
    Finalize(None, _save_unsaved, exitpriority=10)
    if opts is not None:
        try:
            _cache_in(opts)  # the kept tables read while validate() still lists the traces
        except Exception:  # noqa: BLE001 - a pool whose initializer raises starts workers
            pass  # forever: a cache that cannot be read is compiled around instead


def _save_unsaved() -> None:
    for opts, before in _UNSAVED.values():
        _cache_out(opts, before)
    _UNSAVED.clear()


def _cache_out(opts: Options, before: int) -> None:
    """With a cache directory: the tables written back whenever this work compiled something
    new (whole, about 12 ms a MB), so the next run finds everything this one compiled."""
    if opts.cache_dir is None:
        return
    from . import cache

    if cache.size(_TABLES) > before:
        cache.save(opts.cache_dir, _TABLES)


def _job(args: tuple[Batch, Options]) -> list[tuple[int, TraceVerdict]]:
    return judge_batch(*args, keep=False)


def in_order(results: Iterable[list[tuple[int, TraceVerdict]]], start: int
             ) -> Iterator[tuple[int, TraceVerdict]]:
    """Verdicts given back in the order of the traces, whatever order they were judged in."""
    waiting: dict[int, TraceVerdict] = {}
    nxt = start
    for chunk in results:
        for i, v in chunk:
            waiting[i] = v
        while nxt in waiting:
            yield nxt, waiting.pop(nxt)
            nxt += 1


def windows(paths: Iterable[str], *, window: int | None = None
            ) -> Iterator[list[tuple[int, Path | str, int]]]:
    """The traces `paths` name, numbered in order, with their sizes, a window at a time."""
    window = window or WINDOW
    cur: list[tuple[int, Path | str, int]] = []
    for i, p in enumerate(list_traces(paths)):
        cur.append((i, p, trace_size(p)))
        if len(cur) >= window:
            yield cur
            cur = []
    if cur:
        yield cur


def _pool(jobs: int, opts: Options) -> Any:
    """validate()'s worker processes, each reading the kept tables as it starts."""
    if opts.cache_dir is not None:
        from . import cache

        cache.spec_hash()  # hashed here once (over ten milliseconds), not in every worker
    ctx = get_context("fork") if hasattr(os, "fork") else get_context()
    return ctx.Pool(jobs, initializer=_pool_worker,
                    initargs=(opts if opts.cache_dir is not None else None,))


def validate(paths: Iterable[str], opts: Options, *, jobs: int | None = None,
             progress: Callable[[Progress], None] | None = None) -> Iterator[TraceVerdict]:
    """Judge every trace named by `paths` (files, directories of *.jsonl, "-", fsspec URLs),
    giving the verdicts in order. With more than one job the traces are judged in forked
    processes from the first one on (each compiles the tables it needs): both cores busy,
    no warm-up in this process while a core idles. Given a directory or several paths, the
    workers are started first, and read the kept tables while this process lists the
    traces and their sizes."""
    paths = list(paths)
    jobs = jobs if jobs is not None else (os.cpu_count() or 1)
    early = None
    if jobs > 1 and "-" not in paths and (len(paths) > 1 or any(os.path.isdir(p) for p in paths)):
        early = _pool(jobs, opts)  # its workers start (and read the cache) while this lists
    try:
        wins = list(windows(paths))
    except BaseException:
        if early is not None:
            early.terminate()
        raise
    state = Progress(total_traces=sum(len(w) for w in wins),
                     total_bytes=sum(size for w in wins for *_x, size in w))
    serial = jobs <= 1 or state.total_traces < 2 or any(p == "-" for w in wins for _i, p, _s in w)
    if serial and early is not None:
        early.terminate()  # one trace after all: judged here
        early = None

    def told(v: TraceVerdict, size: int) -> TraceVerdict:
        state.traces += 1
        state.bytes += size
        state.lines += v.lines
        if progress:
            progress(state)
        return v

    if serial:
        before = _cache_in(opts)
        try:
            for w in wins:
                for _i, p, size in w:
                    yield told(judge_file(p, opts), size)
        finally:
            _cache_out(opts, before)
        return
    with early or _pool(min(jobs, state.total_traces), opts) as pool:
        for w in wins:
            sizes = {i: size for i, _p, size in w}
            work = [(b, opts) for b in batches(w, jobs)]
            for i, v in in_order(pool.imap_unordered(_job, work), w[0][0]):
                yield told(v, sizes[i])
        pool.close()
        pool.join()  # the workers exit, writing what they compiled (a run stopped early
        # terminates them instead, and the next run compiles it again)
