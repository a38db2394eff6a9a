"""One trace judged as a stream: whole blocks decoded at once, line shapes for the rest.

A block of whole lines is decoded in one call into typed line structs (msgspec's
`decode_lines`, a C loop: several times faster than `json.loads` line by line), and the loop
over them reads attributes instead of parsing anything. The structs are strict where the
reference reader is, and stricter: a block with anything they refuse (a line that is not an
object, a kind, name or ErrorType outside the vocabulary, a result off an api line, a key
the format does not define, a `call` that is not a string, a `ts` that is not a finite
number, bad UTF-8, a blank line, a line holding other than one value) is judged line by
line instead, by the interned-shape path (shapes.py), which takes every line it has not
seen through the reference reader. Within a decoded block, the trace's first line and a ts
that goes backwards are handed to that same path, one line, and the block goes on. So every
line the reference reader would refuse reaches the reference reader, and a verdict never
depends on the path.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import isfinite
from typing import IO, Any, Literal, Union

import msgspec

from ..charts.calls import call_ref_problem, detached_refusal
from ..trace.reader import BLANK, MAX_LINE, TraceOrder, Unusable, decode_line
from ..vocabulary import KIND_NAMES, ErrorType, Kind
from .compiled import FAIL, FastJudge, arg_fact, by_value, canon_args
from . import shapes as _shapes
from .shapes import MAX_SHAPES, _SLOTS, Blocks, Shape, learn


_KIND_OF = {n: k.value for k, names in KIND_NAMES.items() if k is not Kind.META for n in names}
"""Names are unique across kinds (the format's vocabulary): a name says its kind."""


class _Error(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    error: Literal[tuple(ErrorType.names())]  # type: ignore[valid-type]


def _line_types() -> tuple[type, ...]:
    """One struct per kind, told apart by `kind` (msgspec's tagged union): what the judge
    reads of a line. A kind or name outside the vocabulary (or meta: only ever a trace's
    first line), a name of another kind, a result off an api line, or a key the format does
    not define, fails the block's decoding, which then goes line by line to the reference
    reader: msgspec skips an unknown key without checking its bytes as json would (its
    UTF-8, its escapes), so only what it decodes whole is taken. The Literals give back the
    vocabulary's own strings, hashed once. `args` stays JSON text (msgspec.Raw, which checks
    no UTF-8 either): the loop looks a text up among those it has decoded, and decodes a
    new one strictly itself, leaving the line to the reference reader when that fails."""
    out = []
    for kind, names in KIND_NAMES.items():
        if kind is Kind.META:
            continue
        fields: list[tuple] = [
            ("name", Literal[tuple(names)]),
            ("call", str, None),
            ("args", msgspec.Raw, None),
            ("ts", Union[int, float], None)]
        if kind is Kind.API:
            fields.append(("result", Union[Literal["ok"], _Error], "ok"))
        out.append(msgspec.defstruct(f"_{kind.name.title()}Line", fields, tag=kind.value,
                                     tag_field="kind", forbid_unknown_fields=True,
                                     gc=False))
    return tuple(out)


_LINE_TYPES = _line_types()
_Line = Union[_LINE_TYPES]  # type: ignore[valid-type]


_NO_TS = float("-inf")  # before every ts: the loop's "no ts yet" without a None test per line

_decode_lines = msgspec.json.Decoder(_Line).decode_lines  # type: ignore[arg-type]
_decode = msgspec.json.Decoder().decode
_decode_args = msgspec.json.Decoder(dict).decode
_BY_RAW = 4096
"""Argument texts kept per name: a fleet repeats a few (an end reason, a log line); a name
whose texts never repeat (a dial message) stops being kept."""
_API = Kind.API.value


@dataclass(eq=False, slots=True)
class _Name:
    """One name of the trace format, as the decoded-block loop judges it."""

    kind: str
    state: bool
    api: bool  # a result is allowed on it
    dial_like: bool  # dial or onIncomingCall: the call id check is not the plain one
    letters: dict  # result, or (result, argument facts) -> (letter, {set id -> Step})
    nxt: dict  # for a state line: set id -> next set id
    by_raw: dict  # (result, the args' JSON text) -> letters' entry, for value-only facts


def _names() -> dict[str, _Name]:
    return {n: _Name(kind=k, state=k == Kind.STATE.value, api=k == _API,
                     dial_like=n in ("dial", "onIncomingCall"), letters={}, nxt={},
                     by_raw={})
            for n, k in _KIND_OF.items()}


def _letter(nm: _Name, name: str, result: str, args: dict, ctx: Any) -> tuple:
    """The name's entry (letter, {set id -> Step}) for a result and decoded arguments."""
    facts = canon_args(args, ctx) if args else ()
    key = (result, facts) if args else result
    lr = nm.letters.get(key)
    if lr is None:
        lr = nm.letters[key] = ((nm.kind, name, result, facts), {})
    return lr


def _one_per_line(data: bytes, values: int) -> bool:
    """The block's lines held one decoded value each. decode_lines reads JSON whitespace,
    newlines included, inside a value and several values on one line; but no valid value
    holds `}` newline `{` (after a value comes `,` or a closing bracket), so when every
    newline sits between `}` and `{` each line ends a value and starts the next, and as many
    values as lines is one per line (else, or with blank lines: line by line)."""
    lines = data.count(b"\n") + 1
    if values != lines:
        return False
    return data.count(b"}\n{") == lines - 1 or data.count(b"}\r\n{") == lines - 1


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


class _Judging:
    """The state of one trace between lines, shared by the two paths."""

    def __init__(self, label: str, fast: FastJudge) -> None:
        self.label = label
        self.fast = fast
        self.out = Outcome()
        self.order = TraceOrder()
        self.t = fast.tables
        self.shapes: dict[Any, Shape | bool] = self.t.shapes if self.t is not None else {}
        self.names: dict[str, _Name] | None = None  # the tables' own, once known
        self.sid = fast.sid
        self.lineno = 0
        self.last_no = 0
        self.last_raw: bytes | None = None
        self.failed = 0
        self.failed_raw: bytes | None = None
        self.last_ts: Any = None  # the trace's latest ts and its line (TraceOrder's, kept here)
        self.last_ts_line = 0

    # --- a block decoded at once ---------------------------------------------------------

    def block(self, data: bytes, open_end: bool) -> bool:
        """Judge one block of whole lines (the last one without its newline when `open_end`);
        False when a line made the trace unusable."""
        pos = 0
        while self.t is None or self.order.first is None:
            # the trace's first line (a meta line, or the tables' mode by default) and its
            # first place: the reference way
            nl = data.find(b"\n", pos)
            if nl < 0:
                return self.line(data[pos:], open_end)
            if not self.line(data[pos:nl], False):
                return False
            pos = nl + 1
        if pos:
            data = data[pos:]
        try:
            objs = _decode_lines(data)
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            objs = None
        if objs is None or not _one_per_line(data, len(objs)):
            return self.lines(data.split(b"\n"), open_end)
        raws: list[bytes] | None = None
        i, n = 0, len(objs)
        while i < n:
            i = self.decoded(objs, i)
            if i >= n:
                break
            if raws is None:
                raws = data.split(b"\n")
            if not self.line(raws[i], open_end and i == n - 1):
                return False
            i += 1
        if self.last_no == self.lineno and self.last_raw is None:
            self.last_raw = data[data.rfind(b"\n") + 1:]
        if self.failed and self.failed_raw is None:
            if raws is None:
                raws = data.split(b"\n")
            self.failed_raw = raws[self.failed - (self.lineno - n) - 1]
        return True

    def decoded(self, objs: list, i0: int) -> int:
        """Judge decoded lines from index i0; the index of the first one this loop leaves to
        the reference path (len(objs) when none). Nothing of a line left there is taken."""
        n = len(objs)
        names = self.names
        assert names is not None
        t = self.t
        assert t is not None
        fast = self.fast
        ctx = fast.ctx
        cov = fast.coverage
        sid = self.sid
        last_ts, ts_at = self.last_ts, -1
        if last_ts is None:
            last_ts = _NO_TS
        base = self.lineno - i0  # objs[i] is line base + i + 1
        failed = self.failed
        stop = n
        for i in range(i0, n):
            o = objs[i]
            nm = names[o.name]
            result = "ok"
            if nm.api:
                result = o.result
                if result.__class__ is not str:
                    result = result.error  # type: ignore[union-attr]
            ts = o.ts
            if ts is not None:
                if ts < last_ts:
                    stop = i
                    break
                last_ts, ts_at = ts, i
            # --- the line is well-formed and in order: it is the trace's now -------------
            if failed:
                continue
            call = o.call
            if nm.state:
                if call is not None and ctx.current_call is not None \
                        and call != ctx.current_call:
                    failed = base + i + 1
                    fast.sid = sid
                    fast._fail(failed)
                    continue
                nsid = nm.nxt.get(sid)
                if nsid is None:
                    nsid = nm.nxt[sid] = t.narrow(sid, o.name)
                if nsid == FAIL:
                    failed = base + i + 1
                    fast.sid = sid
                    fast._fail(failed)
                    continue
                if cov is not None:
                    fast.open_sid = t.narrow_open(sid, o.name)
                sid = nsid
                continue
            # an event line
            if call is not None and (nm.dial_like or call != ctx.current_call):
                if call_ref_problem(o.name, call, result, ctx.current_call,
                                    ctx.past_calls) is not None:
                    failed = base + i + 1
                    fast.sid = sid
                    fast._fail(failed)
                    continue
                if detached_refusal(o.name, call, result, ctx.current_call, ctx.past_calls):
                    continue
            raw = o.args
            args = None
            if raw is None:
                lr = nm.letters.get(result)
                if lr is None:
                    lr = nm.letters[result] = ((nm.kind, o.name, result, ()), {})
            else:
                rk = (result, bytes(raw))
                lr = nm.by_raw.get(rk)
                if lr is None:
                    # args met for the first time (or read from the trace's ids): decoded
                    # strictly here, as the reference reader would (Raw checks no UTF-8)
                    try:
                        args = _decode_args(rk[1])
                    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
                        stop = i
                        break
                    lr = _letter(nm, o.name, result, args, ctx)
                    if len(nm.by_raw) < _BY_RAW and by_value(args):
                        nm.by_raw[rk] = lr
            row = lr[1]
            st = row.get(sid)
            if st is None:
                st = row[sid] = t.step(sid, lr[0])
            if st.__class__ is int:  # FAIL (a Step's == is the dataclass's, slow)
                failed = base + i + 1
                fast.sid = sid
                fast._fail(failed)
                continue
            if cov is not None:
                ck = (t.callkit, (sid, lr[0]), fast.open_sid)
                cov[ck] = cov.get(ck, 0) + 1
                fast.open_sid = st.next_set  # type: ignore[union-attr]
            sid = st.closed  # type: ignore[union-attr]
            if st.effects:  # type: ignore[union-attr]
                ctx.take(st, call, args.get("uuid") if args else None)  # type: ignore[arg-type]
        if stop > i0:
            self.last_no = self.lineno = base + stop
            self.last_raw = None  # the block's loop finds it when the block is done
        if failed and not self.failed:
            self.failed_raw = None  # likewise
        if ts_at >= 0:
            self.last_ts, self.last_ts_line = last_ts, base + ts_at + 1
        self.sid, self.failed = sid, failed
        return stop

    # --- line by line --------------------------------------------------------------------

    def lines(self, raws: list[bytes], open_end: bool) -> bool:
        last = len(raws) - 1
        for i, raw in enumerate(raws):
            if not self.line(raw, open_end and i == last):
                return False
        return True

    def line(self, raw: bytes, is_open: bool) -> bool:
        """One physical line on interned shapes (shapes.py), or the reference reader for a
        shape not seen before; False when the line made the trace unusable."""
        self.lineno += 1
        lineno = self.lineno
        fast = self.fast
        t = self.t
        sid = self.sid
        parts = _SLOTS.split(raw)
        if len(parts) == 1:
            key: Any = raw
            vv: list[bytes] = parts
        else:
            vv = parts[2::3]
            del parts[2::3]
            key = tuple(parts)
        shapes = self.shapes
        sh = shapes.get(key)
        if sh:
            sh = self._values_ok(sh, raw, vv, lineno)
        if sh:
            self.last_raw, self.last_no = raw, lineno
            if self.order.first is None:  # as the reader's order check would have it
                self.order.first = lineno
            if self.failed:
                return True
            self._interned(sh, raw, vv, lineno)
            return True
        # --- a line not seen before: decoded and judged the reference way -------------------
        order = self.order
        order.last_ts, order.last_ts_line = self.last_ts, self.last_ts_line
        # with its newline, as the reference reader reads it (a JSON error's column counts it)
        d = decode_line(raw if is_open else raw + b"\n", lineno, order, self.label,
                        _decode)
        self.last_ts, self.last_ts_line = order.last_ts, order.last_ts_line
        if d is BLANK:
            return True
        if isinstance(d, Unusable):
            self.out.lines = lineno
            self.out.unusable = d
            return False
        self.last_raw, self.last_no = raw, lineno
        if t is None and d["kind"] == "meta":  # type: ignore[index]
            a = d.get("args") or {}  # type: ignore[union-attr]
            self.out.client, self.out.sdk_version = a.get("client"), a.get("sdkVersion")
        if not self.failed:
            fast.sid = sid
            if not fast.feed(lineno, d):  # type: ignore[arg-type]
                self.failed, self.failed_raw = lineno, raw
            else:
                self.sid = fast.sid
            if t is None:
                self.t = t = fast.tables
                assert t is not None
                self.shapes = t.shapes
                if not t.names:
                    t.names.update(_names())
                self.names = t.names
                return True
        if sh is None:  # a shape never seen (not one refused or learned)
            if len(shapes) >= MAX_SHAPES:
                shapes.clear()
            shapes[key] = learn(_SLOTS.split(raw), d) or False  # type: ignore[arg-type]
        return True

    def _values_ok(self, sh: Shape, raw: bytes, vv: list[bytes], lineno: int) -> Shape | bool:
        """The checks decoding a line of this shape would make of its values (UTF-8; a ts
        finite and not less than the one before); the ts taken when they hold."""
        if sh.n:
            if not raw.isascii():
                try:
                    for v in vv:
                        v.decode("utf-8")
                except UnicodeDecodeError:
                    return False
            if sh.ts_i >= 0:
                # as json reads it: an int without . or exponent; only an exponent can
                # overflow (the expression allows 301 digits before the point)
                v = vv[sh.ts_i]
                if b"e" in v or b"E" in v:
                    ts = float(v)
                    if not isfinite(ts):
                        return False
                elif b"." in v:
                    ts = float(v)
                else:
                    ts = int(v)
                if self.last_ts is not None and ts < self.last_ts:
                    return False
                self.last_ts, self.last_ts_line = ts, lineno
        elif sh.ts is not None:
            if self.last_ts is not None and sh.ts < self.last_ts:
                return False
            self.last_ts, self.last_ts_line = sh.ts, lineno
        return sh

    def _interned(self, sh: Shape, raw: bytes, vv: list[bytes], lineno: int) -> None:
        """Judge one line of a known shape on the tables."""
        fast = self.fast
        ctx = fast.ctx
        t = self.t
        assert t is not None
        sid = self.sid
        cov = fast.coverage
        call = sh.call if sh.call_i < 0 else vv[sh.call_i][1:-1].decode("utf-8")
        if sh.state:
            if call is not None and ctx.current_call is not None and call != ctx.current_call:
                return self._fail(lineno, raw)
            nsid = sh.nxt.get(sid)
            if nsid is None:
                nsid = sh.nxt[sid] = t.narrow(sid, sh.name)
            if nsid == FAIL:
                return self._fail(lineno, raw)
            if cov is not None:
                fast.open_sid = t.narrow_open(sid, sh.name)
            self.sid = nsid
            return
        result = sh.result
        if call is not None and (sh.dial_like or call != ctx.current_call):
            if call_ref_problem(sh.name, call, result, ctx.current_call,
                                ctx.past_calls) is not None:
                return self._fail(lineno, raw)
            if detached_refusal(sh.name, call, result, ctx.current_call, ctx.past_calls):
                return
        letter = sh.letter
        if letter is None:
            # the facts the guards read from the values, then the letter they make
            facts = tuple([arg_fact(k, sh.args[k] if i < 0  # type: ignore[index]
                                    else vv[i][1:-1].decode("utf-8"), sh.args, ctx)  # type: ignore[arg-type]
                           for k, i in sh.dyn])
            letter = sh.letters.get(facts)
            if letter is None:
                args = dict(sh.args)  # type: ignore[arg-type]
                for k, i in sh.arg_slots:
                    args[k] = vv[i][1:-1].decode("utf-8")
                letter = sh.letters[facts] = (sh.kind, sh.name, result, canon_args(args, ctx))
            st = t.step(sid, letter)
        else:
            st = sh.nxt.get(sid)
            if st is None:
                st = sh.nxt[sid] = t.step(sid, letter)
        if st.__class__ is int:
            return self._fail(lineno, raw)
        if cov is not None:
            ck = (t.callkit, (sid, letter), fast.open_sid)
            cov[ck] = cov.get(ck, 0) + 1
            fast.open_sid = st.next_set  # type: ignore[union-attr]
        self.sid = st.closed  # type: ignore[union-attr]
        if st.call_effect is not None or st.uuid_effect is not None:  # type: ignore[union-attr]
            ctx.take(st, call, _uuid(sh, vv) if st.uuid_effect is not None else None)  # type: ignore[union-attr, arg-type]

    def _fail(self, lineno: int, raw: bytes) -> None:
        self.failed, self.failed_raw = lineno, raw
        self.fast.sid = self.sid
        self.fast._fail(lineno)


def _uuid(sh: Shape, vals: list[bytes]) -> Any:
    if sh.uuid_i >= 0:
        return vals[sh.uuid_i][1:-1].decode("utf-8")
    return (sh.args or {}).get("uuid")


DECODED = True
"""Blocks decoded whole (False: every line on the interned-shape path, as before)."""


def judge_stream(f: IO[bytes], label: str, fast: FastJudge, *, max_line: int = MAX_LINE,
                 block: int | None = None, decoded: bool | None = None) -> Outcome:
    """Feed every line of one trace to `fast` (a fresh FastJudge); stop at the first unusable
    line, keep reading after the first violation (a later line may still be unusable).
    `decoded=False` judges every block line by line (the path before decoded blocks, kept
    for the benchmark's comparison and the equivalence tests; default: DECODED)."""
    if decoded is None:
        decoded = DECODED
    j = _Judging(label, fast)
    out = j.out
    blocks = Blocks(f, max_line, block or _shapes.BLOCK)
    for data in blocks:
        if data is None:
            j.lineno += 1
            j.order.seen(j.lineno)
            out.lines = j.lineno
            out.unusable = Unusable(label, j.lineno, f"line longer than {max_line} bytes")
            return out
        ok = (j.block(data, blocks.open_end) if decoded
              else j.lines(data.split(b"\n"), blocks.open_end))
        if not ok:
            return out
    fast.sid = j.sid
    if blocks.error is not None:
        out.lines = 0
        out.unusable = Unusable(label, 0, f"cannot read ({blocks.error.strerror or blocks.error})")
        return out
    out.lines = j.last_no
    out.failed, out.failed_raw, out.last_raw = j.failed, j.failed_raw, j.last_raw
    return out
