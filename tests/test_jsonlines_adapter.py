"""The JSON-lines adapter protocol: the reference client behind `python -m
exovoice.reference.targets.jsonlines_server`, the Node.js example client, and clients that break the protocol.
The traces the flows leave (assembled from api results and events, as a conformance runner
does) are judged complete and conformant."""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from exovoice.spec.charts.calls import CALL_OPS
from exovoice.spec.conform.adapter import AdapterError, ApiResult, Capability, ClientAdapter
from exovoice.spec.conform.jsonlines import JsonLinesAdapter
from exovoice.spec.validate.run import Options, judge_file

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
SERVER = [sys.executable, "-m", "exovoice.reference.targets.jsonlines_server"]
NODE = shutil.which("node")
EXAMPLE = [NODE or "node", str(ROOT / "examples" / "node_client.js")]


class TraceDriver:
    """Drives an adapter and writes the trace the way a conformance runner does: the driver's
    own lines (api with results, env) in order, each followed by the events it caused."""

    def __init__(self, adapter: ClientAdapter, *, callkit: bool = False) -> None:
        self.a = adapter
        self.lines: list[dict[str, Any]] = [
            {"kind": "meta", "name": "trace", "args": {"version": 1, "callkit": callkit}}]
        self.caps = adapter.hello(callkit=callkit)

    def api(self, name: str, call: str | None = None, **args: Any) -> ApiResult:
        r = self.a.api(name, call=call, args=args)
        line: dict[str, Any] = {"kind": "api", "name": name}
        named = r.call if (name == "dial" and r.ok) or (name in CALL_OPS and r.call) else call
        if named is not None and name != "relaySessionData":
            line["call"] = named
        if args:
            line["args"] = args
        if not r.ok:
            line["result"] = {"error": r.result}
        self.lines.append(line)
        self.drain()
        return r

    def stimulus(self, name: str, **args: Any) -> None:
        if name.startswith("pstn"):
            self.lines.append({"kind": "env", "name": name})
        self.a.stimulus(name, args=args)
        self.drain()

    def drain(self) -> list[str]:
        got = []
        q = self.a.events()
        while not q.empty():
            ev = q.get_nowait()
            self.lines.append(ev)
            got.append(ev["name"])
        return got

    def events_after(self, n: int) -> list[str]:
        return [d["name"] for d in self.lines[n:] if d["kind"] == "callback"]

    def judge(self, path: Path) -> None:
        path.write_text("".join(json.dumps(d) + "\n" for d in self.lines))
        verdict = judge_file(path, Options(complete=True))
        assert verdict.conformant, (verdict.violations, path.read_text())


def basic_flow(d: TraceDriver) -> None:
    assert {Capability.CORE, Capability.NETWORK, Capability.PSTN} <= d.caps
    assert d.api("dial", remoteId="sip:1").result == "SDK_UNINITIALIZED"
    assert d.api("initialize", subscriberName="alice").ok
    assert d.api("dial", remoteId="sip:1", message="hi!").result in ("INVALID_PARAMETER",
                                                                    "INVALID_DIAL_INFO")
    mark = len(d.lines)
    r = d.api("dial", remoteId="sip:08040408080", message="order:42")
    assert r.ok and r.call
    d.stimulus("net_ringing")
    d.stimulus("net_answered")
    assert d.api("dial", remoteId="sip:2").result == "SYSTEM_BUSY"
    d.api("hangup", call=r.call)
    assert d.events_after(mark) == ["onInitializationSuccess", "onCallInitiated",
                                    "onCallRinging", "onCallEstablished",
                                    "onCallEnded"][1:]
    d.stimulus("pstnDialed")
    assert d.api("dial", remoteId="sip:3").result == "PSTN_CALL_INPROGRESS"
    d.stimulus("pstnEnded")
    mark = len(d.lines)
    assert d.api("relaySessionData").ok
    incoming = [x for x in d.lines[mark:] if x["name"] == "onIncomingCall"]
    assert incoming, d.lines[mark:]
    call = incoming[0]["call"]
    d.api("answer", call=call)
    d.stimulus("net_congestion")  # nothing answers it on an established call
    d.api("hangup", call=call)
    assert d.events_after(mark) == ["onIncomingCall", "onCallEstablished", "onCallEnded"]


def threads_settle(before: int) -> bool:
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        if threading.active_count() <= before:
            return True
        time.sleep(0.02)
    return False


def test_reference_server_flow(tmp_path: Path) -> None:
    before = threading.active_count()
    adapter = JsonLinesAdapter(SERVER + ["--trace-dir", str(tmp_path / "own")], env=ENV,
                               cwd=ROOT)
    try:
        d = TraceDriver(adapter)
        assert d.caps == Capability.ALL
        basic_flow(d)
        assert adapter.api("getCallDetails").value["callState"] == "ENDED"
        with pytest.raises(AdapterError, match="unknown operation"):
            adapter.api("frobnicate")
        d.judge(tmp_path / "assembled.jsonl")
        # CallKit: a second hello starts a fresh instance
        ck = TraceDriver(adapter, callkit=True)
        ck.api("initialize", subscriberName="alice")
        ck.api("relaySessionData")
        ck.stimulus("CXAnswerCallAction")
        ck.stimulus("CXEndCallAction")
        assert [x["name"] for x in ck.lines if x["kind"] == "callkit"] == [
            "reportNewIncomingCall", "CXAnswerCallAction", "actionFulfilled",
            "reportOutgoingCallConnected", "CXEndCallAction", "actionFulfilled"]
        ck.judge(tmp_path / "assembled-ck.jsonl")
        proc_pid = adapter.pid
    finally:
        adapter.close()
    assert adapter.pid is None and proc_pid is not None
    for own in sorted((tmp_path / "own").glob("*.jsonl")):
        verdict = judge_file(own, Options(complete=True))
        assert verdict.conformant, (own, verdict.violations)
    assert threads_settle(before)


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_node_example_client(tmp_path: Path) -> None:
    before = threading.active_count()
    with JsonLinesAdapter(EXAMPLE, timeout=5) as adapter:
        d = TraceDriver(adapter)
        assert Capability.CALLKIT not in d.caps and Capability.AUDIO not in d.caps
        basic_flow(d)
        d.api("dial", remoteId="sip:4")
        d.stimulus("net_busy")
        d.api("dial", remoteId="sip:5")
        d.stimulus("net_congestion")
        d.api("dial", remoteId="sip:6")
        d.stimulus("net_answered")
        d.stimulus("pstnRinging")
        d.stimulus("pstnAnswered")
        d.stimulus("pstnEnded")
        assert d.lines[-2]["args"] == {"endReason": "PSTN_HANGUP"}
        d.judge(tmp_path / "node.jsonl")
        with pytest.raises(AdapterError, match="unsupported operation"):
            adapter.api("uploadLogs")
    assert threads_settle(before)


def one_line(e: pytest.ExceptionInfo[AdapterError]) -> str:
    text = str(e.value)
    assert "\n" not in text and len(text) < 300, text
    return text


@pytest.mark.parametrize("script,expect", [
    ("import sys; print('hello garbage', flush=True); sys.stdin.read()", "is not JSON"),
    ("import sys; sys.stdin.read()", "no answer to hello"),
    ("import sys; sys.stderr.write('boom\\n'); sys.exit(3)", "exit status 3"),
    ("import sys; print('[1, 2]', flush=True); sys.stdin.read()", "neither an answer"),
])
def test_broken_clients(script: str, expect: str) -> None:
    before = threading.active_count()
    adapter = JsonLinesAdapter([sys.executable, "-c", script], timeout=0.5)
    try:
        with pytest.raises(AdapterError) as e:
            adapter.hello(callkit=False)
        assert expect in one_line(e)
        if "exit" in expect:
            assert "boom" in str(e.value)
        proc = adapter._proc
    finally:
        adapter.close()
    assert proc is not None and proc.poll() is not None
    assert threads_settle(before)


def test_missing_program() -> None:
    with pytest.raises(AdapterError) as e:
        JsonLinesAdapter(["/nonexistent/client"]).hello(callkit=False)
    assert "cannot start" in one_line(e)


def test_requests_before_hello_and_after_close() -> None:
    adapter = JsonLinesAdapter(SERVER, env=ENV, cwd=ROOT)
    with pytest.raises(AdapterError, match="hello"):
        adapter.api("dial")
    adapter.hello(callkit=False)
    adapter.close()
    adapter.close()  # idempotent
    with pytest.raises(AdapterError):
        adapter.stimulus("net_ringing")


def test_platform_operation_over_json_lines() -> None:
    """The `platform` extension: the reference server drives its platform simulator and
    customer backend over real HTTP; a client without it refuses the op."""
    before = threading.active_count()
    with JsonLinesAdapter(SERVER, env=ENV, cwd=ROOT) as adapter:
        assert Capability.PLATFORM in adapter.hello(callkit=False)
        setup = adapter.platform("setup", {"subscribers": ["bob"], "pushStatus": 503})
        assert setup["apiUrl"].startswith("http://127.0.0.1:")
        tok = adapter.platform("token", {"subscriber": "bob"})
        assert tok["status"] == 200 and set(tok["body"]["subscriber_token"]) == {
            "refresh_token", "access_token"}
        assert adapter.platform("token", {"subscriber": "bad name!"})["status"] == 400
        dw = adapter.platform("dial_whom", {"from": "alice", "customField": "order:42"})
        assert dw["ok"] and dw["remoteId"] == "bob" and dw["received"]["CustomField"] == "order:42"
        pushed = adapter.platform("push", {"subscriber": "bob"})
        assert pushed["ok"] is False and pushed["httpStatus"] == 503
        assert pushed["received"]["method"] == "POST" and pushed["delivered"] == []
        with pytest.raises(AdapterError, match="unknown platform operation"):
            adapter.platform("frobnicate", {})
        with pytest.raises(AdapterError, match="HTTP status code"):
            adapter.platform("setup", {"pushStatus": "loud"})
    assert threads_settle(before)


def test_reference_adapter_platform_servers_stop_on_close() -> None:
    import socket

    from exovoice.reference.targets.adapter import ReferenceAdapter

    before = set(threading.enumerate())
    a = ReferenceAdapter()
    a.hello(callkit=False)
    setup = a.platform("setup", {"dialWhomAnswer": "08080808080"})
    out = a.platform("dial_whom", {"from": "alice"})
    assert not out["ok"] and "intermixing" in out["reason"]
    ports = [int(setup[k].split(":")[2].split("/")[0]) for k in ("apiUrl", "dialWhomUrl")]
    a.close()
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not leaked, leaked
    for port in ports:
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_a_client_without_platform_refuses_the_op() -> None:
    with JsonLinesAdapter(EXAMPLE, timeout=5) as adapter:
        assert Capability.PLATFORM not in adapter.hello(callkit=False)
        with pytest.raises(AdapterError):
            adapter.platform("setup", {})
