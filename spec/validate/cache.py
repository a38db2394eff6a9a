"""Compiled tables kept between runs (`exovoice validate --cache-dir DIR`).

Compiling drives python-statemachine once per situation a letter meets (the step memo of
spec.charts.step) and interns every set of configurations a fleet reaches; every process pays
it on a cold run. A fleet is judged again every day on the same spec, so the tables (and the
events each configuration allows, which the explanations read) can be kept: a file per spec,
named by a hash of the spec's source and of python-statemachine's version, so a changed spec
never reads another's tables. Written whole to a temporary file and renamed, so a reader never
sees half of one; any process may write it, merging what the file holds into what it writes
(the steps of each configuration, which are what compiling costs), so what every process of a
run compiled reaches the next run. The CLI keeps it in the user's cache directory unless told
otherwise (`--cache-dir`, `--no-cache`), as pip and pytest keep theirs; the library's
`validate()` writes nothing unless given a directory.
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import tempfile
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from ..charts import model
from .compiled import Tables

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


def load(directory: str | os.PathLike[str], tables: dict[bool, Tables]) -> bool:
    """Fill an empty `tables` from the cache; False when there is none (or it is unreadable:
    then the tables are simply compiled again)."""
    if tables:
        return False
    data = _read(cache_file(directory))
    if data is None:
        return False
    try:
        for callkit, state in data["tables"].items():
            tables[callkit] = Tables.from_state(callkit, state)
        model._ALLOWED.update(data["allowed"])
    except _UNREADABLE:
        tables.clear()
        return False
    return True


def size(tables: dict[bool, Tables]) -> int:
    return sum(t.size() for t in tables.values()) + len(model._ALLOWED)


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


def save(directory: str | os.PathLike[str], tables: dict[bool, Tables]) -> None:
    """Write the tables, with what the file already holds that these do not (another process
    of the same run may have written since this one read it): the configurations' steps are
    merged, so the next run finds what every process compiled. A directory that cannot be
    written is no reason to fail a run."""
    with _locked(directory):
        _save(directory, tables)


def _save(directory: str | os.PathLike[str], tables: dict[bool, Tables]) -> None:
    path = cache_file(directory)
    there = _read(path)
    if there is not None:
        try:
            for callkit, state in there["tables"].items():
                if callkit in tables:
                    tables[callkit].merge(state)
            for k, v in there["allowed"].items():
                model._ALLOWED.setdefault(k, v)
        except _UNREADABLE:
            pass  # a file not as this version writes it: overwritten whole below
    data: dict[str, Any] = {
        "format": FORMAT, "spec": spec_hash(),
        "tables": {callkit: t.state() for callkit, t in tables.items()},
        "allowed": dict(model._ALLOWED),
    }
    try:
        Path(directory).mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tables-", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(data, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except (OSError, UnboundLocalError):
            pass
