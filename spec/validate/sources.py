"""Where traces are read from: local paths, standard input, and fsspec URLs.

A fleet's traces often live in object storage; a URL (`file://`, `s3://`, `gs://`, whatever
fsspec has installed) is opened through fsspec, so a Dask worker on another machine reads a
trace where it is stored instead of the client shipping it. fsspec is imported only when a
URL is given: a plain `exovoice validate DIR` never needs it.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import IO, Iterable, Iterator, Literal, Union

from ..trace.reader import iter_trace_files

Trace = Union[Path, str]  # a local Path, "-", or a URL string


def is_url(p: object) -> bool:
    return isinstance(p, str) and "://" in p


def _fsspec():  # type: ignore[no-untyped-def]
    try:
        import fsspec
    except ImportError as e:  # one line, naming the extra
        raise ImportError("reading URLs needs fsspec: pip install 'exovoice[dask]'") from e
    return fsspec


def open_trace(src: Trace | IO[bytes]) -> tuple[IO[bytes], bool]:
    """A binary stream of the trace, and whether the caller must close it."""
    if isinstance(src, (str, os.PathLike)):
        if os.fspath(src) == "-":
            return sys.stdin.buffer, False
        if is_url(src):
            return _fsspec().open(src, "rb").open(), True
        return open(src, "rb"), True
    if isinstance(src, io.TextIOBase):
        buf = getattr(src, "buffer", None)
        if buf is None:
            raise TypeError("a trace is read as bytes: pass a binary stream")
        return buf, False
    return src, False


def trace_size(src: Trace) -> int:
    """Bytes of a trace (0 when unknown: standard input, a missing file), to split work by
    bytes and show progress by bytes."""
    try:
        if src == "-":
            return 0
        if is_url(src):
            return int(_fsspec().core.url_to_fs(src)[0].size(src) or 0)
        return os.stat(src).st_size
    except (OSError, ValueError, ImportError):
        return 0


def list_traces(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Trace | Literal["-"]]:
    """The traces `paths` name, in order: local ones as iter_trace_files gives them; a URL of
    a directory gives its *.jsonl files sorted by name, a URL with a glob its matches, any
    other URL itself (a missing one is reported when it is read)."""
    for p in paths:
        if not is_url(p):
            yield from iter_trace_files([p])
            continue
        url = str(p)
        try:
            fs, root = _fsspec().core.url_to_fs(url)
        except (ValueError, ImportError, OSError):
            yield url  # an unknown protocol, or no fsspec: reported when it is read
            continue
        proto = url.split("://", 1)[0]

        def full(x: str, proto: str = proto) -> str:
            return x if "://" in x else f"{proto}://{x}"

        try:
            if any(c in root for c in "*?["):
                yield from (full(x) for x in sorted(fs.glob(root)))
            elif fs.isdir(root):
                found = sorted(x for x in fs.glob(root.rstrip("/") + "/*.jsonl") if fs.isfile(x))
                yield from (full(x) for x in found)
            else:
                yield url
        except OSError:
            yield url
