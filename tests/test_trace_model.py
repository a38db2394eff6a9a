"""The trace format v1 (TRACE-FORMAT.md): models, JSON Schema, and the streaming readers."""

from __future__ import annotations

import io
import json
import re
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from exovoice.spec.trace import (
    MAX_LINE,
    Line,
    Unusable,
    iter_raw,
    iter_trace_files,
    line_problem,
    parse_line,
    read_trace,
    trace_json_schema,
)
from exovoice.spec.vocabulary import KIND_NAMES, CallEndReason, ErrorType, Kind

DESIGN = Path(__file__).resolve().parents[2] / "shared" / "design" / "TRACE-FORMAT.md"

# The example of TRACE-FORMAT.md, verbatim.
EXAMPLE = """\
{"kind":"meta","name":"trace","args":{"version":1,"callkit":false}}
{"kind":"api","name":"initialize","args":{"subscriberName":"alice"}}
{"kind":"callback","name":"onInitializationSuccess"}
{"kind":"api","name":"dial","call":"c1","args":{"remoteId":"sip:08040408080","message":"order:42"}}
{"kind":"callback","name":"onCallInitiated","call":"c1"}
{"kind":"callback","name":"onCallRinging","call":"c1"}
{"kind":"callback","name":"onCallEstablished","call":"c1"}
{"kind":"api","name":"hangup","call":"c1"}
{"kind":"callback","name":"onCallEnded","call":"c1","args":{"endReason":"LOCAL_HANGUP"}}
"""

META = '{"kind":"meta","name":"trace","args":{"version":1}}'


def _read(data: bytes | str, **kw: Any) -> list[Line | Unusable]:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return list(read_trace(io.BytesIO(data), name="t.jsonl", **kw))


def _raw(data: bytes | str, **kw: Any) -> list[tuple[int, dict | Unusable]]:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return list(iter_raw(io.BytesIO(data), name="t.jsonl", **kw))


def _pydantic_ok(obj: Any) -> bool:
    try:
        parse_line(obj)
    except ValidationError:
        return False
    return True


# --- the example ---------------------------------------------------------------------------

def test_example_parses() -> None:
    out = _read(EXAMPLE)
    assert all(isinstance(x, Line) for x in out), [str(x) for x in out]
    assert [x.lineno for x in out] == list(range(1, 10))
    assert out[0].kind == "meta" and out[0].args["callkit"] is False
    dial = out[3]
    assert (dial.kind, dial.name, dial.call, dial.result) == ("api", "dial", "c1", "ok")
    assert dial.args == {"remoteId": "sip:08040408080", "message": "order:42"}
    assert out[-1].args == {"endReason": "LOCAL_HANGUP"}
    assert [d for _, d in _raw(EXAMPLE)] == [json.loads(s) for s in EXAMPLE.splitlines()]


@pytest.mark.skipif(not DESIGN.exists(), reason="design notes not present")
def test_example_is_the_published_one() -> None:
    published = DESIGN.read_text(encoding="utf-8").split("## Example", 1)[1].split("```")[1]
    assert published.strip() == EXAMPLE.strip()


# --- malformed lines: one line, the right number --------------------------------------------

MALFORMED = [
    ('{"kind":"api" "name":"dial"}', "not JSON (Expecting ',' delimiter at column 15)"),
    ('{"kind":"api","name":"dial",}', "not JSON (Expecting property name enclosed in double "
                                      "quotes at column 29)"),
    ("[1, 2]", "not a JSON object (a line is an array)"),
    ('"hello"', 'not a JSON object (a line is "hello")'),
    ("null", "not a JSON object (a line is null)"),
    ('{"name":"dial"}', "no kind"),
    ('{"kind":"API","name":"dial"}',
     'unknown kind "API" (expected meta, api, callback, state, env or callkit)'),
    ('{"kind":3,"name":"dial"}',
     "unknown kind 3 (expected meta, api, callback, state, env or callkit)"),
    ('{"kind":["api"],"name":"dial"}',
     "unknown kind an array (expected meta, api, callback, state, env or callkit)"),
    ('{"kind":"api"}', "no name"),
    ('{"kind":"api","name":"Dial"}', 'unknown api name "Dial" (did you mean "dial"?)'),
    ('{"kind":"callback","name":"dial"}', 'unknown callback name "dial" ("dial" is an api name)'),
    ('{"kind":"state","name":"connected"}', 'unknown state name "connected"'),
    ('{"kind":"state","name":"established"}',
     'unknown state name "established" (did you mean "ESTABLISHED"?)'),
    ('{"kind":"api","name":5}', "name must be a string, not number"),
    ('{"kind":"api","name":"hangup","call":1}', "call must be a string, not number"),
    ('{"kind":"api","name":"hangup","call":null}', "call must be a string, not null"),
    ('{"kind":"api","name":"dial","args":["x"]}', "args must be an object, not array"),
    ('{"kind":"api","name":"dial","args":null}', "args must be an object, not null"),
    ('{"kind":"api","name":"dial","ts":"12"}', "ts must be a number, not string"),
    ('{"kind":"api","name":"dial","ts":true}', "ts must be a number, not boolean"),
    ('{"kind":"api","name":"dial","ts":1e999}', "ts must be a finite number, not Infinity"),
    ('{"kind":"api","name":"dial","result":"OK"}',
     'result must be "ok" or {"error": <ErrorType>}, not "OK"'),
    ('{"kind":"api","name":"dial","result":{"err":"NETWORK_ERROR"}}',
     'result must be "ok" or {"error": <ErrorType>}, not an object'),
    ('{"kind":"api","name":"dial","result":{"error":"OOPS"}}',
     'result.error "OOPS" is not an ErrorType'),
    ('{"kind":"api","name":"dial","result":{"error":7}}', "result.error 7 is not an ErrorType"),
    ('{"kind":"callback","name":"onCallFailed","result":"ok"}',
     "result is allowed on api lines only"),
    ('{"kind":"api","name":"dial","ts":NaN}', "not JSON (NaN is not JSON)"),
    ('{"kind":"api","name":"dial","ts":-Infinity}', "not JSON (-Infinity is not JSON)"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"kind":"api","args":{"a":' + "[" * 5000 + "]" * 5000 + "}}", "nested too deeply"),
    ('{"kind":"env","name":"pstnRinging","ts":' + "9" * 5000 + "}",
     "not JSON (Exceeds the limit (4300 digits) for integer string conversion)"),
    ('{"kind":"meta","name":"header","args":{"version":1}}', 'unknown meta name "header"'),
]


@pytest.mark.parametrize(("text", "reason"), MALFORMED)
def test_malformed_line_gives_one_line_reason_with_its_number(text: str, reason: str) -> None:
    data = META + "\n\n" + text + "\n" + '{"kind":"env","name":"networkLost"}\n'
    out = _read(data)
    assert [type(x) for x in out] == [Line, Unusable, Line]
    bad = out[1]
    assert isinstance(bad, Unusable)
    assert bad.lineno == 3
    assert str(bad) == f"t.jsonl:3: {reason}"
    assert "\n" not in str(bad)
    raw = _raw(data)
    assert [n for n, _ in raw] == [1, 3, 4]
    assert raw[1][1] == bad


META_MALFORMED = [
    ('{"kind":"meta","name":"trace"}', "meta line has no args.version"),
    ('{"kind":"meta","name":"trace","args":{}}', "meta line has no args.version"),
    ('{"kind":"meta","name":"trace","args":{"version":2}}',
     "unsupported trace version 2 (this reader reads version 1)"),
    ('{"kind":"meta","name":"trace","args":{"version":true}}',
     "meta args.version must be the integer 1, not true"),
    ('{"kind":"meta","name":"trace","args":{"version":1.0}}',
     "meta args.version must be the integer 1, not 1.0"),
    ('{"kind":"meta","name":"trace","args":{"version":1,"callkit":"yes"}}',
     'meta args.callkit must be true or false, not "yes"'),
    ('{"kind":"meta","name":"trace","args":{"version":1,"client":1}}',
     "meta args.client must be a string, not number"),
    ('{"kind":"meta","name":"trace","args":{"version":1,"sdkVersion":null}}',
     "meta args.sdkVersion must be a string, not null"),
]


@pytest.mark.parametrize(("text", "reason"), META_MALFORMED)
def test_malformed_meta(text: str, reason: str) -> None:
    out = _read("\n" + text + "\n")
    assert len(out) == 1 and isinstance(out[0], Unusable)
    assert str(out[0]) == f"t.jsonl:2: {reason}"


def test_meta_only_first_and_defaults() -> None:
    out = _read('\n\n{"kind":"meta","name":"trace","args":{"version":1,"client":"x","v":2}}\n')
    assert isinstance(out[0], Line) and out[0].lineno == 3
    assert out[0].args == {"version": 1, "callkit": False, "client": "x"}
    out = _read('{"kind":"env","name":"networkLost"}\n' + META + "\n")
    assert str(out[1]) == ("t.jsonl:2: meta line must be the first line of the trace "
                           "(line 1 came first)")
    # an unusable first line still takes the first place
    out = _read("oops\n" + META + "\n")
    assert [x.lineno for x in out if isinstance(x, Unusable)] == [1, 2]
    out = _read(META + "\n" + META + "\n")
    assert isinstance(out[0], Line) and isinstance(out[1], Unusable)


def test_ts_non_decreasing() -> None:
    lines = [META, '{"kind":"env","name":"networkLost","ts":1}',
             '{"kind":"env","name":"networkRestored"}',
             '{"kind":"env","name":"networkLost","ts":1.0}',
             '{"kind":"env","name":"networkLost","ts":0.5}',
             '{"kind":"env","name":"networkLost","ts":2}']
    out = _read("\n".join(lines))
    assert [type(x).__name__ for x in out] == ["Line"] * 4 + ["Unusable", "Line"]
    assert str(out[4]) == "t.jsonl:5: ts 0.5 is less than ts 1.0 on line 4"


def test_encoding_and_line_ends() -> None:
    out = _read(b'{"kind":"env","name":"\xff"}\n\xef\xbb\xbf{}\n')
    assert [str(x) for x in out] == ["t.jsonl:1: not UTF-8 (byte 0xff at column 23)",
                                     "t.jsonl:2: not JSON (a byte order mark is allowed only "
                                     "at the start of the trace)"]
    # a byte order mark at the very start, CRLF line ends and whitespace-only lines are fine
    out = _read(b"\xef\xbb\xbf" + META.encode() + b"\r\n \t\r\n"
                + b'{"kind":"env","name":"networkLost"}\r\n')
    assert [(type(x), x.lineno) for x in out] == [(Line, 1), (Line, 3)]
    # a form feed is not JSON whitespace
    assert str(_read("\f\n")[0]).startswith("t.jsonl:1: not JSON (Expecting value")


def test_truncated_last_line() -> None:
    whole = _read(META + '\n{"kind":"env","name":"networkLost"}')
    assert [type(x) for x in whole] == [Line, Line]
    cut = _read(META + '\n{"kind":"env","name":"netw')
    assert str(cut[1]) == "t.jsonl:2: not JSON (Unterminated string starting at column 22)"


# --- values the guide does not allow are the spec's business, not the reader's ---------------

OUT_OF_RANGE = [
    '{"kind":"api","name":"postFeedback","call":"c1","args":{"rating":7,"issue":"LOUD"}}',
    '{"kind":"api","name":"postFeedback","call":"c1","args":{"rating":"five"}}',
    '{"kind":"api","name":"dial","call":"c1","args":{"remoteId":"x","message":"hi there!"}}',
    '{"kind":"api","name":"initialize","args":{"subscriberName":"' + "a" * 20 + '"}}',
    '{"kind":"callback","name":"onCallEnded","call":"c1","args":{"endReason":"EXPLODED"}}',
    '{"kind":"callback","name":"onCallFailed","call":"c1","args":{"error":"NOPE"}}',
    '{"kind":"callback","name":"onMissedCall","args":{"remoteId":5,"time":null}}',
    '{"kind":"api","name":"sendDtmf","call":"","args":{"digit":"x"}}',
    '{"kind":"state","name":"ENDED","call":"nobody","ts":-3}',
    '{"kind":"callkit","name":"actionFulfilled","args":{}}',
    '{"kind":"api","name":"dial","result":{"error":"NETWORK_ERROR","message":"no route"}}',
    '{"kind":"env","name":"pstnRinging","whatever":[1,{"deep":NaN}]}'.replace("NaN", "null"),
]


@pytest.mark.parametrize("text", OUT_OF_RANGE)
def test_value_out_of_range_is_usable(text: str) -> None:
    out = _read(META + "\n" + text + "\n")
    assert all(isinstance(x, Line) for x in out), [str(x) for x in out]


def test_unknown_enum_values_in_args_are_usable_but_not_in_result() -> None:
    for reason in CallEndReason.names() + ("EXPLODED",):
        assert line_problem({"kind": "callback", "name": "onCallEnded",
                             "args": {"endReason": reason}}) is None
    for err in ErrorType.names():
        line = {"kind": "api", "name": "dial", "result": {"error": err}}
        assert line_problem(line) is None
        assert _read(json.dumps(line))[0].result == err
    assert line_problem({"kind": "api", "name": "dial", "result": {"error": "EXPLODED"}})


# --- the fast path and the pydantic models agree -------------------------------------------

ALL_NAMES = sorted({n for names in KIND_NAMES.values() for n in names})
ABSENT = object()
json_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8))
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=8,
)


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(ABSENT), strategy)


meta_args = st.fixed_dictionaries({}, optional={
    "version": st.sampled_from([1, 2, 0, True, 1.0, "1", None]),
    "callkit": st.sampled_from([True, False, 0, 1, "true", None]),
    "client": st.one_of(st.text(max_size=5), st.integers(), st.none()),
    "sdkVersion": st.one_of(st.text(max_size=5), st.none(), st.booleans()),
    "extra": json_value,
})
results = st.one_of(
    st.sampled_from(["ok", "OK", "", None, 1, True, [], {}]),
    st.fixed_dictionaries(
        {"error": st.one_of(st.sampled_from(ErrorType.names() + ("OOPS", "network_error")),
                            json_scalar)},
        optional={"message": json_value}),
)


def _mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]
            ) -> st.SearchStrategy[Any]:
    """Absent or well-formed most of the time, so that every later check gets exercised."""
    return st.integers(0, 9).flatmap(
        lambda i: st.just(ABSENT) if i < 4 else good if i < 8 else bad)


valid_meta_args = st.fixed_dictionaries({"version": st.just(1)}, optional={
    "callkit": st.booleans(), "client": st.text(max_size=4), "sdkVersion": st.text(max_size=4),
    "extra": json_value})
valid_result = st.one_of(st.just("ok"), st.fixed_dictionaries(
    {"error": st.sampled_from(ErrorType.names())}, optional={"message": json_value}))


@st.composite
def lines(draw: st.DrawFn) -> Any:
    """Dicts that are right in all fields but (usually) one, and now and then anything."""
    if draw(st.integers(0, 20)) == 0:
        return draw(json_value)
    kind = draw(st.one_of(st.sampled_from(Kind.names()), st.just(ABSENT),
                          st.sampled_from(["API", "", "foo", "Meta"]), json_scalar)
                if draw(st.integers(0, 9)) == 0 else st.sampled_from(Kind.names()))
    own = list(KIND_NAMES[Kind(kind)]) if kind in Kind.names() else ALL_NAMES
    name = draw(st.one_of(st.just(ABSENT), st.sampled_from(ALL_NAMES), st.sampled_from(
        ["Dial", "trace", "TRACE", "", "none", "established"]), json_scalar)
                if draw(st.integers(0, 9)) == 0 else st.sampled_from(own))
    fields = {
        "kind": kind,
        "name": name,
        "call": draw(_mostly(st.text(max_size=4), json_value)),
        "args": draw(_mostly(valid_meta_args if kind == "meta" else st.dictionaries(
            st.text(max_size=5), json_value, max_size=3), st.one_of(meta_args, json_value))),
        "ts": draw(_mostly(st.one_of(st.integers(), st.floats(allow_nan=False,
                                                              allow_infinity=False)),
                           st.one_of(st.floats(), st.booleans(), json_value, st.integers(
                               min_value=10**300, max_value=10**320)))),
        "result": draw(_mostly(valid_result if kind == "api" else st.just(ABSENT), results)),
        "other": draw(_mostly(json_value, json_value)),
    }
    return {k: v for k, v in fields.items() if v is not ABSENT}


@settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines())
def test_fast_check_agrees_with_pydantic(obj: Any) -> None:
    problem = line_problem(obj)
    assert (problem is None) == _pydantic_ok(obj), problem
    if problem is not None:
        assert "\n" not in problem


@settings(max_examples=300, deadline=None)
@given(st.one_of(meta_args, json_value), _mostly(results, results))
def test_fast_check_agrees_with_pydantic_on_meta_and_result(args: Any, result: Any) -> None:
    meta = {"kind": "meta", "name": "trace", "args": args}
    api = {"kind": "api", "name": "dial", "result": result}
    if result is ABSENT:
        del api["result"]
    for obj in (meta, api):
        assert (line_problem(obj) is None) == _pydantic_ok(obj), line_problem(obj)


@settings(max_examples=500, deadline=None)
@given(lines())
def test_reader_agrees_with_the_line_check(obj: Any) -> None:
    text = json.dumps(obj, allow_nan=False) if _finite(obj) else None
    if text is None:
        return
    read = _read(text + "\n")
    raw = _raw(text + "\n")
    assert len(read) == len(raw) == 1
    assert isinstance(read[0], Line) == (line_problem(obj) is None) == isinstance(raw[0][1], dict)
    if isinstance(read[0], Unusable):
        assert read[0] == raw[0][1]


def _finite(v: Any) -> bool:
    if isinstance(v, float):
        return v == v and v not in (float("inf"), float("-inf"))
    if isinstance(v, int) and not isinstance(v, bool):
        return abs(v) < 10**4000
    if isinstance(v, list):
        return all(_finite(x) for x in v)
    if isinstance(v, dict):
        return all(_finite(x) for x in v.values())
    return True


# --- the reader never raises ---------------------------------------------------------------

def _check_stream(data: bytes, max_line: int = MAX_LINE) -> None:
    physical = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    out = _read(data, max_line=max_line)
    raw = _raw(data, max_line=max_line)
    numbers = [x.lineno for x in out]
    assert numbers == sorted(set(numbers))
    assert all(1 <= n <= physical for n in numbers)
    assert numbers == [n for n, _ in raw]
    for x, (_, r) in zip(out, raw):
        assert isinstance(x, (Line, Unusable))
        assert isinstance(x, Unusable) == isinstance(r, Unusable)
        if isinstance(x, Unusable):
            assert x == r
            assert re.fullmatch(r"t\.jsonl:\d+: [^\n]+", str(x)), str(x)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([MAX_LINE, 8, 40]))
def test_reader_survives_random_bytes(data: bytes, max_line: int) -> None:
    _check_stream(data, max_line)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(lines(), json_value), max_size=6), st.data())
def test_reader_survives_json_values_and_truncation(values: list[Any], data: st.DataObject
                                                     ) -> None:
    text = "\n".join(json.dumps(v) for v in values).encode()  # NaN/Infinity tokens included
    _check_stream(text)
    cut = data.draw(st.integers(0, len(text)))
    _check_stream(text[:cut])
    _check_stream(text[:cut] + b"\xc3" + text[cut:])  # a broken UTF-8 sequence


def test_line_length_limit_edges() -> None:
    ok = META.encode()
    assert isinstance(_read(ok, max_line=len(ok))[0], Line)
    assert isinstance(_read(ok + b"\n", max_line=len(ok))[0], Line)
    out = _read(ok + b" \n" + ok, max_line=len(ok))
    assert str(out[0]) == f"t.jsonl:1: line longer than {len(ok)} bytes"
    assert isinstance(out[1], Unusable) and out[1].lineno == 2  # meta after line 1


def test_ten_megabyte_line_is_reported_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    with path.open("wb") as f:
        f.write(META.encode() + b"\n")
        f.write(b'{"kind":"api","name":"dial","args":{"message":"')
        f.write(b"a" * (10 * 1024 * 1024))
        f.write(b'"}}\n{"kind":"env","name":"networkLost"}\n')
    tracemalloc.start()
    try:
        out = list(read_trace(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [type(x) for x in out] == [Line, Unusable, Line]
    assert str(out[1]) == f"{path}:2: line longer than 1048576 bytes"
    assert out[2].lineno == 3
    assert peak < 4 * MAX_LINE, peak  # never the whole line


def test_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "a.jsonl"
    p.write_text(EXAMPLE, encoding="utf-8")
    assert len(list(read_trace(p))) == len(list(read_trace(str(p)))) == 9
    with p.open("rb") as f:
        bad = list(read_trace(f))
    assert len(bad) == 9
    with open(p, "rb", buffering=0) as raw_file:  # an unbuffered binary file works too
        assert len(list(read_trace(raw_file))) == 9
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"oops\n" + META.encode())))
    assert [str(x) for x in read_trace("-")] == [
        "<stdin>:1: not JSON (Expecting value at column 1)",
        "<stdin>:2: meta line must be the first line of the trace (line 1 came first)"]
    missing = list(read_trace(tmp_path / "nope.jsonl"))
    assert len(missing) == 1 and missing[0].lineno == 0
    assert str(missing[0]) == f"{tmp_path / 'nope.jsonl'}: cannot read (No such file or directory)"
    assert list(iter_raw(tmp_path))[0][1].reason.startswith("cannot read")


def test_iter_trace_files(tmp_path: Path) -> None:
    for n in ("b.jsonl", "a.jsonl", "c.txt"):
        (tmp_path / n).write_text("")
    (tmp_path / "sub.jsonl").mkdir()
    other = tmp_path / "c.txt"
    assert list(iter_trace_files([tmp_path, "-", other])) == [
        tmp_path / "a.jsonl", tmp_path / "b.jsonl", "-", other]


# --- the JSON Schema -----------------------------------------------------------------------

def test_json_schema() -> None:
    schema = trace_json_schema()
    text = json.dumps(schema)
    assert json.loads(text) == schema
    assert schema["title"] and "TRACE-FORMAT.md version 1" in schema["$comment"]
    for kind, names in KIND_NAMES.items():
        assert f'"const": "{kind.value}"' in text
        for name in names:
            assert f'"{name}"' in text
    for err in ErrorType.names():
        assert f'"{err}"' in text
    # optional fields are optional by absence: never null
    assert '"null"' not in text


def test_pydantic_is_the_last_word(monkeypatch: pytest.MonkeyPatch) -> None:
    """Were the fast check ever to let a bad line through, read_trace still reports one line."""
    import exovoice.spec.trace.reader as reader

    monkeypatch.setattr(reader, "line_problem", lambda obj: None)
    out = _read('{"kind":"api","name":"dial","call":5}\n')
    assert isinstance(out[0], Unusable) and "\n" not in str(out[0])
    assert str(out[0]).startswith("t.jsonl:1: api.call: ")
