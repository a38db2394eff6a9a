"""The validator's hot loop: a trace read in large blocks and judged on interned line shapes.

A fleet's lines repeat: the same dozen calls and callbacks, told apart only by the call id, a
CallKit UUID, a timestamp, a dial message. So a line is cut, by one regular expression, into
its *shape* (the bytes around those few values) and the values themselves. The first line of a
shape is decoded (msgspec, falling back to the reference reader for the exact reason of any
line it refuses), checked, and judged like any other (compiled.FastJudge.feed); the shape then
remembers what that line meant: its kind, name and result, where its values go, and its letter
in the compiled tables. Every later line of that shape costs a split, one dict lookup and the
table step, with its values checked for what decoding them would check (UTF-8; a ts finite
and not less than the one before).

Why it is exact: a shape is kept only when a probe (the line with each value replaced by a
marker) decodes to the line's own value with the markers in the places the shape names; a line
of the same shape differs only in values the expression took as whole JSON strings without
escapes (or whole numbers), so it decodes to the same object with its own values there. The
equivalence tests hold this loop to the reference reader and FastJudge.feed line for line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import IO, Any, Iterator

import msgspec

from ..trace.reader import MAX_LINE
from .compiled import canon_args

BLOCK = 1 << 20
"""Bytes read at a time: large enough that splitting lines is a C loop, small enough that
memory stays bounded whatever the size of the trace."""

MAX_SHAPES = 50_000
"""Shapes kept per process; past it the cache starts again (memory stays bounded on a fleet
of unusual traces, at the price of decoding their lines again)."""

_VALUE_KEYS = ("call", "uuid", "payload", "message", "remoteId", "subscriberName", "time",
               "tag", "description", "ts")
_TOP = frozenset({"call", "ts"})  # where these keys are values: top level; the others: args
_KEYS_RX = rb"|".join(k.encode() for k in _VALUE_KEYS)
_STR_RX = rb'"[^"\\\x00-\x1f]*"'  # a whole JSON string without escapes or control characters
_NUM_RX = rb"-?(?:0|[1-9][0-9]{0,300})(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?"  # within int()'s digits
_SLOTS = re.compile(rb'"(' + _KEYS_RX + rb')":((?<="ts":)' + _NUM_RX + rb'|(?<!"ts":)'
                    + _STR_RX + rb")")
"""A value's key names its type: ts a number, the others strings (a ts that is a string, a
call id that is a number: not cut out, so part of the shape, and judged as such)."""
_QUOTE = 34
_DYNAMIC = frozenset({"uuid", "subscriberName", "message", "remoteId"})
"""Arguments whose letter depends on the value or on the trace's own ids."""

_decode = msgspec.json.Decoder().decode


@dataclass(eq=False)
class Shape:
    """What every line of one shape means, and its steps in the compiled tables."""

    state: bool
    kind: str
    name: str
    result: str
    slots: tuple[tuple[str, bool], ...]  # per value: (key, is a string)
    n: int  # how many values
    call_i: int  # the slot holding `call`, or -1 (then `call` is constant)
    call: str | None
    ts_i: int
    ts: Any
    uuid_i: int
    args: dict[str, Any] | None
    arg_slots: tuple[tuple[str, int], ...]  # (argument, slot) whose value the letter reads
    letter: tuple | None  # None: the letter depends on the values or the trace's ids
    dyn: tuple[tuple[str, int], ...]  # then: (argument, slot or -1) whose fact it depends on
    letters: dict  # facts -> letter
    dial_like: bool  # dial or onIncomingCall: the call id check is not the plain one
    nxt: dict  # set id -> Step (or the next set id, for a state line), in one Tables


def _marker(i: int, is_str: bool) -> bytes:
    return b'"\x7f%d\x7f"' % i if is_str else b"-1234567%d.5e-300" % i


def _marker_value(i: int, is_str: bool) -> Any:
    return f"\x7f{i}\x7f" if is_str else float(f"-1234567{i}.5e-300")


def _value(v: bytes, is_str: bool) -> Any:
    if is_str:
        return v[1:-1].decode("utf-8")
    if b"." in v or b"e" in v or b"E" in v:
        return float(v)
    return int(v)


def learn(parts: list[bytes], d: dict[str, Any]) -> Shape | None:
    """The shape of a line that decoded to `d`, or None when its values cannot be trusted to
    sit where the expression found them (then its lines are always decoded)."""
    kind = d["kind"]
    if kind == "meta":
        return None
    keys = parts[1::3]
    vals = parts[2::3]
    slots = tuple((k.decode(), v[0] == _QUOTE) for k, v in zip(keys, vals))
    probe = list(parts)
    expect: dict[str, Any] = dict(d)
    args = d.get("args")
    expect_args = dict(args) if isinstance(args, dict) else None
    for i, (key, is_str) in enumerate(slots):
        probe[3 * i + 2] = _marker(i, is_str)
        try:
            real = _value(vals[i], is_str)
        except (ValueError, UnicodeDecodeError):
            return None
        if key in _TOP:
            if expect.get(key, ...) != real or type(expect.get(key)) is not type(real):
                return None
            expect[key] = _marker_value(i, is_str)
        else:
            if expect_args is None or key not in expect_args or expect_args[key] != real \
                    or type(expect_args[key]) is not type(real):
                return None
            expect_args[key] = _marker_value(i, is_str)
    if expect_args is not None:
        expect["args"] = expect_args
    try:
        if _decode(_join(probe)) != expect:
            return None
    except (ValueError, RecursionError):
        return None
    index = {key: i for i, (key, _s) in enumerate(slots)}
    if len(index) != len(slots):
        return None
    res = d.get("result", "ok")
    result = res if res == "ok" else res["error"]
    arg_slots = tuple((k, index[k]) for k in sorted(args or {}) if k in index and k not in _TOP)
    dynamic = kind != "state" and bool(args) and (
        "uuid" in args or "subscriberName" in args or any(k in _DYNAMIC for k, _ in arg_slots))
    letter = None
    if kind != "state" and not dynamic:
        letter = (kind, d["name"], result, canon_args(args, None) if args else ())  # type: ignore[arg-type]
    return Shape(
        state=kind == "state", kind=kind, name=d["name"], result=result, slots=slots,
        n=len(slots),
        call_i=index.get("call", -1), call=None if "call" in index else d.get("call"),
        ts_i=index.get("ts", -1), ts=None if "ts" in index else d.get("ts"),
        uuid_i=index.get("uuid", -1), args=args if args else None, arg_slots=arg_slots,
        letter=letter, dyn=tuple((k, index.get(k, -1)) for k in sorted(args or {})
                                 if k in _DYNAMIC) if letter is None else (),
        letters={}, dial_like=d["name"] in ("dial", "onIncomingCall"), nxt={})


def _join(probe: list[bytes]) -> bytes:
    """The line again from its split parts (key names rebuilt around their values)."""
    out = [probe[0]]
    for i in range(1, len(probe), 3):
        out.append(b'"%s":%s' % (probe[i], probe[i + 1]))
        out.append(probe[i + 2])
    return b"".join(out)


class Blocks:
    """The physical lines of a binary stream, a block at a time: each item is a run of whole
    lines joined by newlines (a line longer than `max_line` bytes comes alone, as None, and is
    never held whole)."""

    def __init__(self, f: IO[bytes], max_line: int = MAX_LINE, block: int = BLOCK) -> None:
        self.f = f
        self.max_line = max_line
        self.block = max(block, 1)
        self.error: OSError | None = None
        self.open_end = False  # the last item given is a last line without its newline

    def __iter__(self) -> Iterator[bytes | None]:
        read = self.f.read
        max_line = self.max_line
        tail = b""
        skipping = False
        while True:
            try:
                buf = read(self.block)
            except OSError as e:
                self.error = e
                return
            if not buf:
                break
            if skipping:
                i = buf.find(b"\n")
                if i < 0:
                    continue
                buf = buf[i + 1:]
                skipping = False
            data = tail + buf if tail else buf
            cut = data.rfind(b"\n")
            if cut < 0:
                tail = data
            else:
                tail = data[cut + 1:]
                data = data[:cut]
                if len(data) > max_line:
                    lines = data.split(b"\n")
                    if max(map(len, lines)) > max_line:
                        yield from _around_long(lines, max_line)
                    else:
                        yield data
                else:
                    yield data
            if len(tail) > max_line:
                yield None
                tail = b""
                skipping = True
        if tail:
            self.open_end = True
            yield tail


def _around_long(lines: list[bytes], max_line: int) -> Iterator[bytes | None]:
    run: list[bytes] = []
    for x in lines:
        if len(x) > max_line:
            if run:
                yield b"\n".join(run)
                run = []
            yield None
        else:
            run.append(x)
    if run:
        yield b"\n".join(run)
