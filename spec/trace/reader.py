"""Read a trace line by line, never the whole file, and never with a traceback.

Two readers share one line splitter and one set of checks (`exovoice.spec.trace.model.line_problem`
plus the trace-level order checks below), so they agree on every line and give the same
reasons:

- `read_trace`: each line validated into its pydantic model (the documented contract), as a
  `Line`; for tools and tests.
- `iter_raw`: each line as the plain dict `json.loads` made of it; the reference the
  validator's interned loop (exovoice.spec.validate.shapes) is held to, line for line, and
  through `decode_line` the path every line that loop has not seen takes.

A malformed line comes out as an `Unusable`, whose `str()` is one line such as
`trace.jsonl:12: not JSON (Expecting ',' delimiter at column 17)`; reading goes on after it, so
a caller can report every problem, but a trace with any `Unusable` is unusable.

Reading decisions: only "\\n" ends a physical line (a trailing "\\r" is JSON whitespace); a
line holding only JSON whitespace is blank and skipped but counted; the last line needs no
newline; a UTF-8 byte order mark at the very start of the input is skipped; NaN, Infinity and
-Infinity are not JSON and make the line unusable; a line longer than `max_line` bytes
(default 1 MiB) is reported and skipped without being held in memory; a line nested deeper
than Python's recursion limit is "nested too deeply".
"""

from __future__ import annotations

import io
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Iterable, Iterator, Literal, Union

from pydantic import ValidationError

from ..vocabulary import Kind
from .model import (
    ApiLine,
    CallbackLine,
    CallKitLine,
    EnvLine,
    MetaLine,
    StateLine,
    line_problem,
    parse_line,
    pydantic_reason,
    result_code,
    show,
)

MAX_LINE = 1 << 20  # bytes of one line, without its newline
_SKIP_CHUNK = 1 << 16
_JSON_SPACE = " \t\r\n"
_META = Kind.META.value

Source = Union[str, "os.PathLike[str]", IO[bytes]]
LineModel = Union[MetaLine, ApiLine, CallbackLine, StateLine, EnvLine, CallKitLine]


@dataclass(frozen=True)
class Unusable:
    """A line (or, with lineno 0, a whole input) that makes the trace unusable."""

    path: str
    lineno: int
    reason: str

    def __str__(self) -> str:
        if self.lineno:
            return f"{self.path}:{self.lineno}: {self.reason}"
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class Line:
    """One well-formed line: its physical line number and its validated model."""

    lineno: int
    data: LineModel

    @property
    def kind(self) -> str:
        return self.data.kind

    @property
    def name(self) -> str:
        return self.data.name

    @property
    def call(self) -> str | None:
        return self.data.call

    @property
    def args(self) -> dict[str, Any]:
        """The arguments as a dict (a meta line's with its defaults filled in)."""
        args = self.data.args
        return args if isinstance(args, dict) else args.model_dump(exclude_none=True)

    @property
    def result(self) -> str:
        """"ok" or the ErrorType of a refused api call (always "ok" for other kinds)."""
        return result_code(getattr(self.data, "result", "ok"))

    @property
    def ts(self) -> int | float | None:
        return self.data.ts


class TraceOrder:
    """The trace-level rules: meta only as the first non-blank line; ts non-decreasing."""

    def __init__(self) -> None:
        self.first: int | None = None  # line number of the first non-blank line
        self.last_ts: int | float | None = None
        self.last_ts_line = 0

    def seen(self, lineno: int) -> None:
        """A non-blank line that is unusable still takes the first place."""
        if self.first is None:
            self.first = lineno

    def check(self, lineno: int, obj: dict[str, Any]) -> str | None:
        """For a well-formed line: why its place in the trace is wrong, or None."""
        first = self.first
        if first is None:
            self.first = first = lineno
        if obj["kind"] == _META and first != lineno:
            return f"meta line must be the first line of the trace (line {first} came first)"
        ts = obj.get("ts")
        if ts is not None:
            if self.last_ts is not None and ts < self.last_ts:
                return (f"ts {show(ts)} is less than ts {show(self.last_ts)} "
                        f"on line {self.last_ts_line}")
            self.last_ts, self.last_ts_line = ts, lineno
        return None


class _NotJSONConstant(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _NotJSONConstant(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


_BLANK = object()


def _decode(raw: bytes, bom: bool) -> tuple[Any, str | None]:
    """(value, None) or (None, reason); (_BLANK, None) for a blank line."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, f"not UTF-8 (byte 0x{raw[e.start]:02x} at column {e.start + 1})"
    if text.startswith("\ufeff"):
        if not bom:
            return None, "not JSON (a byte order mark is allowed only at the start of the trace)"
        text = text[1:]
    if not text.strip(_JSON_SPACE):
        return _BLANK, None
    try:
        return _DECODER.decode(text), None
    except json.JSONDecodeError as e:
        msg = e.msg[:-3] if e.msg.endswith(" at") else e.msg  # "Unterminated string starting at"
        return None, f"not JSON ({msg} at column {e.colno})"
    except _NotJSONConstant as e:
        return None, f"not JSON ({e})"
    except RecursionError:
        return None, "nested too deeply"
    except ValueError as e:  # e.g. an integer over the interpreter's digit limit
        return None, f"not JSON ({str(e).split(':')[0]})"


class _Input:
    """Opens a source (path, "-", binary stream) and names it for reports."""

    def __init__(self, source: Source, name: str | None) -> None:
        self.source = source
        self.close = False
        if isinstance(source, (str, os.PathLike)):
            if os.fspath(source) == "-":
                self.name = name or "<stdin>"
            else:
                self.name = name or os.fspath(source)
        else:
            default = getattr(source, "name", None)
            self.name = name or (default if isinstance(default, str) else "<stream>")

    def open(self) -> IO[bytes]:
        src = self.source
        if isinstance(src, (str, os.PathLike)):
            if os.fspath(src) == "-":
                return sys.stdin.buffer
            self.close = True
            return open(src, "rb")
        if isinstance(src, io.TextIOBase):
            buf = getattr(src, "buffer", None)
            if buf is None:
                raise TypeError("a trace is read as bytes: pass a binary stream")
            return buf
        if isinstance(src, io.RawIOBase):
            return io.BufferedReader(src)
        return src


def _os_reason(e: Exception) -> str:
    return getattr(e, "strerror", None) or str(e) or type(e).__name__


def decode_line(raw: bytes, lineno: int, order: TraceOrder, name: str,
                decode: Any = _DECODER.decode) -> dict[str, Any] | Unusable | object:
    """One physical line (without its newline) as the checked dict, an `Unusable` with its
    reason, or `BLANK`; `order` carries the trace-level checks from line to line. Every reader
    (this module's and the validator's interned one) takes a line it has not seen through here,
    so they cannot disagree. `decode` may be a faster decoder (orjson) that gives the same
    value as `json` or raises: anything it refuses is decoded again here for the exact reason."""
    try:
        obj = decode(raw) if decode is not _DECODER.decode else decode(raw.decode("utf-8"))
        if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raise ValueError
    except (ValueError, RecursionError, TypeError):
        obj, reason = _decode(raw, bom=lineno == 1)
        if obj is _BLANK:
            return _BLANK
        if reason is not None:
            order.seen(lineno)
            return Unusable(name, lineno, reason)
    reason = line_problem(obj)
    if reason is None:
        reason = order.check(lineno, obj)
    else:
        order.seen(lineno)
    if reason is not None:
        return Unusable(name, lineno, reason)
    return obj


BLANK = _BLANK
"""What `decode_line` gives for a line holding only JSON whitespace (skipped, but counted)."""


def iter_raw(source: Source, *, name: str | None = None, max_line: int = MAX_LINE
             ) -> Iterator[tuple[int, dict[str, Any] | Unusable]]:
    """The fast path: (lineno, the line's dict as json.loads made it) or (lineno, Unusable).

    A well-formed dict is guaranteed to validate as `exovoice.spec.trace.model.TraceLine`; `args` and
    `result` may be absent (use `exovoice.spec.trace.model.result_code(d.get("result"))`).

    A line that json decodes cleanly takes no detour; anything else (blank, BOM, bad UTF-8,
    NaN...) goes through `_decode` for its exact reason. `read_trace` builds on it, and the
    validator's interned loop decodes every line it has not seen through `decode_line`, so
    the readers cannot disagree.
    """
    inp = _Input(source, name)
    order = TraceOrder()
    try:
        f = inp.open()
    except (OSError, TypeError) as e:
        yield 0, Unusable(inp.name, 0, f"cannot read ({_os_reason(e)})")
        return
    decode = _DECODER.decode
    readline = f.readline
    limit = max_line + 1
    lineno = 0
    try:
        while True:
            try:
                raw = readline(limit)
            except OSError as e:
                yield 0, Unusable(inp.name, 0, f"cannot read ({_os_reason(e)})")
                return
            if not raw:
                return
            lineno += 1
            if len(raw) > max_line and not raw.endswith(b"\n"):
                while True:
                    more = readline(_SKIP_CHUNK)
                    if not more or more.endswith(b"\n"):
                        break
                order.seen(lineno)
                yield lineno, Unusable(inp.name, lineno, f"line longer than {max_line} bytes")
                continue
            out = decode_line(raw, lineno, order, inp.name, decode)
            if out is not _BLANK:
                yield lineno, out  # type: ignore[misc]
    finally:
        if inp.close:
            f.close()


def read_trace(source: Source, *, name: str | None = None, max_line: int = MAX_LINE
               ) -> Iterator[Line | Unusable]:
    """Each non-blank line of a trace as a validated `Line`, or an `Unusable`.

    `source` is a path, "-" for standard input, or a binary stream (a text stream with a
    `.buffer`, such as sys.stdin, is read through it). `name` overrides the path in reports.
    """
    label = _Input(source, name).name
    for lineno, obj in iter_raw(source, name=name, max_line=max_line):
        if isinstance(obj, Unusable):
            yield obj
            continue
        try:
            yield Line(lineno, parse_line(obj))
        except ValidationError as e:  # the fast check missed something: still one line
            yield Unusable(label, lineno, pydantic_reason(e))


def iter_trace_files(paths: Iterable[str | os.PathLike[str]]
                     ) -> Iterator[Path | Literal["-"]]:
    """Paths to read: "-" stays "-" (stdin), a directory gives its *.jsonl files sorted by
    name, anything else is given back as a Path (a missing one is reported by the reader)."""
    for p in paths:
        if os.fspath(p) == "-":
            yield "-"
            continue
        path = Path(p)
        if path.is_dir():
            yield from sorted(q for q in path.glob("*.jsonl") if q.is_file())
        else:
            yield path
