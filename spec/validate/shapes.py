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
from math import isfinite
from typing import IO, Any, Iterator

import msgspec

from ..charts.calls import call_ref_problem, detached_refusal
from ..trace.reader import BLANK, MAX_LINE, TraceOrder, Unusable, decode_line
from .compiled import FAIL, FastJudge, arg_fact, canon_args

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


@dataclass
class Outcome:
    """What the loop found in one trace; run.py turns it into a TraceVerdict."""

    lines: int = 0  # the last line that held something (or the unusable one)
    unusable: Unusable | None = None
    failed: int = 0
    failed_raw: bytes | None = None
    last_raw: bytes | None = None
    client: str | None = None
    sdk_version: str | None = None


def judge_stream(f: IO[bytes], label: str, fast: FastJudge, *, max_line: int = MAX_LINE,
                 block: int | None = None) -> Outcome:
    """Feed every line of one trace to `fast` (a fresh FastJudge); stop at the first unusable
    line, keep reading after the first violation (a later line may still be unusable)."""
    out = Outcome()
    order = TraceOrder()
    shapes: dict[Any, Shape | bool] = {}
    split = _SLOTS.split
    cov = fast.coverage
    ctx = fast.ctx
    lineno = last_no = 0
    last_raw: bytes | None = None
    failed_raw: bytes | None = None
    failed = 0
    t = fast.tables
    if t is not None:
        shapes = t.shapes
    sid = fast.sid
    last_ts: Any = None  # the trace's latest ts and its line (TraceOrder's, kept local here)
    last_ts_line = 0
    blocks = Blocks(f, max_line, block or BLOCK)
    for data in blocks:
        if data is None:
            lineno += 1
            order.seen(lineno)
            out.lines = lineno
            out.unusable = Unusable(label, lineno, f"line longer than {max_line} bytes")
            return out
        ascii_ = data.isascii()
        raws = data.split(b"\n")
        open_line = raws[-1] if blocks.open_end else None
        for raw in raws:
            lineno += 1
            parts = split(raw)
            if len(parts) == 1:
                key: Any = raw
                vv: list[bytes] = parts
            else:
                vv = parts[2::3]
                del parts[2::3]
                key = tuple(parts)
            sh = shapes.get(key)
            # --- the interned path ---------------------------------------------------------
            if sh:
                if sh.n:
                    if not ascii_ and not raw.isascii():
                        try:
                            for v in vv:
                                v.decode("utf-8")
                        except UnicodeDecodeError:
                            sh = False
                    if sh and sh.ts_i >= 0:
                        # as json reads it: an int without . or exponent; only an exponent
                        # can overflow (the expression allows 301 digits before the point)
                        v = vv[sh.ts_i]
                        if b"e" in v or b"E" in v:
                            ts = float(v)
                            if not isfinite(ts):
                                sh = False
                        elif b"." in v:
                            ts = float(v)
                        else:
                            ts = int(v)
                        if sh and (last_ts is None or ts >= last_ts):
                            last_ts, last_ts_line = ts, lineno
                        else:
                            sh = False
                elif sh.ts is not None:
                    if last_ts is None or sh.ts >= last_ts:
                        last_ts, last_ts_line = sh.ts, lineno
                    else:
                        sh = False
                if sh:
                    last_raw, last_no = raw, lineno
                    if failed:
                        continue
                    call = sh.call if sh.call_i < 0 else vv[sh.call_i][1:-1].decode("utf-8")
                    if sh.state:
                        if call is not None and ctx.current_call is not None \
                                and call != ctx.current_call:
                            failed, failed_raw = lineno, raw
                            fast.sid = sid
                            fast._fail(lineno)
                            continue
                        nsid = sh.nxt.get(sid)
                        if nsid is None:
                            skey = (sid, sh.name)
                            nsid = t.state_filter.get(skey)  # type: ignore[union-attr]
                            if nsid is None:
                                nsid = t.state_filter[skey] = t.narrow(sid, sh.name)  # type: ignore[union-attr]
                            sh.nxt[sid] = nsid
                        if nsid == FAIL:
                            failed, failed_raw = lineno, raw
                            fast.sid = sid
                            fast._fail(lineno)
                            continue
                        if cov is not None:
                            fast.open_sid = t.narrow_open(sid, sh.name)  # type: ignore[union-attr]
                        sid = nsid
                        continue
                    # an event line
                    result = sh.result
                    if call is not None and (sh.dial_like or call != ctx.current_call):
                        name = sh.name
                        if call_ref_problem(name, call, result, ctx.current_call,
                                            ctx.past_calls) is not None:
                            failed, failed_raw = lineno, raw
                            fast.sid = sid
                            fast._fail(lineno)
                            continue
                        if detached_refusal(name, call, result, ctx.current_call,
                                            ctx.past_calls):
                            continue
                    letter = sh.letter
                    if letter is None:
                        # the facts the guards read from the values, then the letter they make
                        facts = tuple([arg_fact(k, sh.args[k] if i < 0  # type: ignore[index]
                                                else vv[i][1:-1].decode("utf-8"), sh.args, ctx)
                                       for k, i in sh.dyn])
                        letter = sh.letters.get(facts)
                        if letter is None:
                            args = dict(sh.args)  # type: ignore[arg-type]
                            for k, i in sh.arg_slots:
                                args[k] = vv[i][1:-1].decode("utf-8")
                            letter = sh.letters[facts] = (sh.kind, sh.name, result,
                                                          canon_args(args, ctx))
                        skey = (sid, letter)
                        st = t.steps.get(skey)  # type: ignore[union-attr]
                        if st is None:
                            st = t.steps[skey] = t.step(*skey)  # type: ignore[union-attr]
                    else:
                        st = sh.nxt.get(sid)
                        if st is None:
                            skey = (sid, letter)
                            st = t.steps.get(skey)  # type: ignore[union-attr]
                            if st is None:
                                st = t.steps[skey] = t.step(*skey)  # type: ignore[union-attr]
                            sh.nxt[sid] = st
                    if st.__class__ is int:  # FAIL (a Step's == is the dataclass's, slow)
                        failed, failed_raw = lineno, raw
                        fast.sid = sid
                        fast._fail(lineno)
                        continue
                    if cov is not None:
                        ck = (t.callkit, (sid, letter), fast.open_sid)  # type: ignore[union-attr]
                        cov[ck] = cov.get(ck, 0) + 1
                        fast.open_sid = st.next_set  # type: ignore[union-attr]
                    sid = st.closed  # type: ignore[union-attr]
                    if st.call_effect is not None or st.uuid_effect is not None:  # type: ignore[union-attr]
                        ctx.take(st, call,  # type: ignore[arg-type]
                                 _uuid(sh, vv) if st.uuid_effect is not None else None)  # type: ignore[union-attr]
                    continue
            # --- a line not seen before: decoded and judged the reference way ---------------
            order.last_ts, order.last_ts_line = last_ts, last_ts_line
            # with its newline, as the reference reader reads it (a JSON error's column counts it)
            d = decode_line(raw if raw is open_line else raw + b"\n", lineno, order, label,
                            _decode)
            last_ts, last_ts_line = order.last_ts, order.last_ts_line
            if d is BLANK:
                continue
            if isinstance(d, Unusable):
                out.lines = lineno
                out.unusable = d
                return out
            last_raw, last_no = raw, lineno
            if t is None and d["kind"] == "meta":  # type: ignore[index]
                a = d.get("args") or {}  # type: ignore[union-attr]
                out.client, out.sdk_version = a.get("client"), a.get("sdkVersion")
            if not failed:
                fast.sid = sid
                if not fast.feed(lineno, d):  # type: ignore[arg-type]
                    failed, failed_raw = lineno, raw
                else:
                    sid = fast.sid
                if t is None:
                    t = fast.tables
                    shapes = t.shapes  # type: ignore[union-attr]
                    continue
            if sh is None:  # a shape never seen (not one refused or learned)
                if len(shapes) >= MAX_SHAPES:
                    shapes.clear()
                shapes[key] = learn(split(raw), d) or False  # type: ignore[arg-type]
    fast.sid = sid
    if blocks.error is not None:
        out.lines = 0
        out.unusable = Unusable(label, 0, f"cannot read ({blocks.error.strerror or blocks.error})")
        return out
    out.lines = last_no
    out.failed, out.failed_raw, out.last_raw = failed, failed_raw, last_raw
    return out


def _uuid(sh: Shape, vals: list[bytes]) -> Any:
    if sh.uuid_i >= 0:
        return vals[sh.uuid_i][1:-1].decode("utf-8")
    return (sh.args or {}).get("uuid")


