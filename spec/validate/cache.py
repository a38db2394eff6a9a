"""Compiled tables kept between runs (`exovoice validate --cache-dir DIR`).

Compiling drives python-statemachine once per situation a letter meets (the step memo of
spec.charts.step) and interns every set of configurations a fleet reaches; every process pays
it on a cold run. A fleet is judged again every day on the same spec, so the tables (with the
events each configuration allows, which the explanations read, and the step memo's entries,
so a new configuration in a known situation is not fired either) can be kept: a file per spec,
named by a hash of the spec's source and of python-statemachine's version, so a changed spec
never reads another's tables. Written whole to a temporary file and renamed, so a reader never
sees half of one. A run that compiles little (a known fleet's new traces) writes only what it
added, as a delta file beside it that the next reader merges, so each process of the run
writes in milliseconds instead of reading, merging and rewriting the whole file in turn; a
run that compiled much (a first one), or one that finds the deltas piling up, rewrites the
file with everything merged, so what every process of a run compiled reaches the next run.
The CLI keeps it in the user's cache directory unless told otherwise (`--cache-dir`,
`--no-cache`), as pip and pytest keep theirs; the library's `validate()` writes nothing
unless given a directory.
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import tempfile
import time
from contextlib import contextmanager
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any, Iterator

from ..charts import model
from .compiled import Tables, step_memo

FORMAT = 1


_SOURCES = ("charts/*.py", "base.py", "rules.py", "vocabulary.py", "arguments.py",
            "validate/compiled.py", "validate/cache.py")
"""What the tables are made of: the charts and what they import, and the compiler (the rest
of the spec, the readers, the CLI, other commands, may change without touching them)."""


@lru_cache(maxsize=1)
def spec_hash() -> str:
    """Of the tables' sources and the statechart library's version."""
    from importlib.metadata import version

    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256(f"{FORMAT} {version('python-statemachine')}".encode())
    for p in sorted({p for pattern in _SOURCES for p in root.glob(pattern)}):
        h.update(str(p.relative_to(root)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:20]


def default_cache_dir() -> str | None:
    """$EXOVOICE_CACHE_DIR (empty: no cache), else $XDG_CACHE_HOME/exovoice, else
    ~/.cache/exovoice (None when there is no home to put it in)."""
    env = os.environ.get("EXOVOICE_CACHE_DIR")
    if env is not None:
        return env or None
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:
            return None
    return str(Path(base) / "exovoice")


def cache_file(directory: str | os.PathLike[str]) -> Path:
    return Path(directory) / f"tables-{spec_hash()}.pickle"


_UNREADABLE = (OSError, EOFError, pickle.UnpicklingError, AttributeError, KeyError, TypeError,
               ValueError, ImportError)


def _read(path: Path) -> dict[str, Any] | None:
    """The cache file's data when it is this spec's (None: missing, unreadable or another's).
    The collector is off while it is unpickled: the objects it makes are kept for the run,
    and the collections their allocation would trigger (over the whole heap a forked worker
    inherits) took as long as the unpickling itself."""
    was = gc.isenabled()
    gc.disable()
    try:
        with open(path, "rb") as f:
            data = pickle.load(f)
    except _UNREADABLE:
        return None
    finally:
        if was:
            gc.enable()
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("spec") != spec_hash():
        return None
    return data


def _deltas(directory: str | os.PathLike[str]) -> list[Path]:
    """The delta files beside the cache file, oldest first."""
    return sorted(Path(directory).glob(f"delta-{spec_hash()}-*.pickle"))


_ALLOWED_KEPT = [0]
"""How much of model._ALLOWED the files held when this process last read or wrote them."""
_MEMO_KEPT = [0]
"""How many of the step memo's entries (Stepper.learned) the files held then."""


def _take(tables: dict[bool, Tables], data: dict[str, Any]) -> None:
    for callkit, state in data["tables"].items():
        t = tables.get(callkit)
        if t is None:
            tables[callkit] = Tables.from_state(callkit, state)
        else:
            t.merge(state)
    for k, v in data["allowed"].items():
        model._ALLOWED.setdefault(k, v)
    step_memo().learn(data.get("memo", ()))


def _mark(tables: dict[bool, Tables]) -> None:
    for t in tables.values():
        t.kept = t.mark()
    _ALLOWED_KEPT[0] = len(model._ALLOWED)
    _MEMO_KEPT[0] = len(step_memo().learned)


def load(directory: str | os.PathLike[str], tables: dict[bool, Tables]) -> bool:
    """Fill an empty `tables` from the cache file and its deltas; False when there is none
    (or it is unreadable: then the tables are simply compiled again). The deltas are listed
    before the file is read: one a compaction removes in between is in the file it wrote."""
    if tables:
        return False
    deltas = _deltas(directory)
    got = False
    for path in [cache_file(directory), *deltas]:
        data = _read(path)
        if data is None:
            continue
        try:
            _take(tables, data)
        except _UNREADABLE:
            if path == cache_file(directory):
                tables.clear()
                model._ALLOWED.clear()
                return False
            continue  # every entry a delta added before it failed stands on its own
        got = True
    _mark(tables)
    return got


def size(tables: dict[bool, Tables]) -> int:
    return sum(t.size() for t in tables.values()) + len(model._ALLOWED) + len(step_memo().learned)


@contextmanager
def _locked(directory: str | os.PathLike[str]) -> Iterator[None]:
    """The cache directory's lock, held while a process reads, merges and writes the file:
    a run's workers write as they exit, at the same moment, and without it the last one
    would drop what the others compiled. Where there is no flock (or no writable directory)
    the write goes on unlocked: a lost merge costs a later recompile, never a verdict."""
    try:
        import fcntl

        Path(directory).mkdir(parents=True, exist_ok=True)
        f = open(Path(directory) / ".lock", "a")
    except (ImportError, OSError):
        yield
        return
    with f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX)
        except OSError:
            pass
        yield


COMPACT_AT = 8
"""Delta files beside the cache file before a writer folds them into it."""


def save(directory: str | os.PathLike[str], tables: dict[bool, Tables]) -> None:
    """Keep what these tables compiled since they were read. A few new entries (a fleet of
    known clients meeting a few new situations) are written as a delta file of their own, in
    milliseconds; the file itself is rewritten, with every delta folded in, when the new
    entries are many against what it holds (a first run) or the deltas pile up. Either way
    the next run finds what every process of this one compiled. A directory that cannot be
    written is no reason to fail a run."""
    with _locked(directory):
        try:
            _save(directory, tables)
        except OSError:
            pass


def _save(directory: str | os.PathLike[str], tables: dict[bool, Tables]) -> None:
    parts = {callkit: t.delta(t.kept) for callkit, t in tables.items()}
    allowed = dict(islice(model._ALLOWED.items(), _ALLOWED_KEPT[0], None))
    memo = step_memo().learned[_MEMO_KEPT[0]:]
    new = sum(Tables.entries(p) for p in parts.values()) + len(allowed) + len(memo)
    if not new:
        return
    kept = (sum(sum(t.kept.values()) for t in tables.values()) + _ALLOWED_KEPT[0]
            + _MEMO_KEPT[0])
    deltas = _deltas(directory)
    Path(directory).mkdir(parents=True, exist_ok=True)
    if new * 4 <= kept and len(deltas) < COMPACT_AT and cache_file(directory).exists():
        _write(Path(directory), f"delta-{spec_hash()}-{time.time_ns():020d}-{os.getpid()}.pickle",
               {"format": FORMAT, "spec": spec_hash(), "tables": parts, "allowed": allowed,
                "memo": memo})
    else:
        _compact(directory, tables, deltas)
    _mark(tables)


def _compact(directory: str | os.PathLike[str], tables: dict[bool, Tables],
             deltas: list[Path]) -> None:
    """The file rewritten whole: what it and every delta hold merged into these tables (the
    configurations' steps are what compiling costs), the deltas then removed."""
    for path in [cache_file(directory), *deltas]:
        data = _read(path)
        if data is not None:
            try:
                _take(tables, data)
            except _UNREADABLE:
                pass  # a file not as this version writes it: overwritten or removed below
    _write(Path(directory), cache_file(directory).name, {
        "format": FORMAT, "spec": spec_hash(),
        "tables": {callkit: t.state() for callkit, t in tables.items()},
        "allowed": dict(model._ALLOWED),
        "memo": step_memo().learned,
    })
    for path in deltas:
        path.unlink(missing_ok=True)


def _write(directory: Path, name: str, data: dict[str, Any]) -> None:
    """Whole to a temporary file, then renamed: a reader never sees half of one."""
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tables-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(data, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, directory / name)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
        raise
