"""The adapter protocol as a contract a third party can implement from docs/adapter-protocol.md
alone (issue 11).

- The document and its JSON Schema are written from the protocol's catalogue and message models
  (exovoice.spec.conform.protocol); every catalogue entry is in it with its capability, and the
  driver refuses to send a request the catalogue does not describe.
- examples/minimal_client.py, written from the document only, passes every scenario its
  capabilities reach; made to send every event late (after its answer) it still passes, with
  the trace in causal order; without `cause` the same late events give the false failure the
  issue reported.
- callkit-app-start: the client's app layer starts its outgoing CallKit calls, once each.
- Queries and controls hold a client that declares their capability to them, and never fail a
  client that does not.
- A client that stops answering stops the run (each scenario left an error with the reason)
  unless --keep-going; one that refuses a request fails that scenario only.
- A failed scenario says its violation once, and the callbacks apart from the CallKit lines
  and the app's own API calls; a duplicated callback is explained as already given.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from lxml import etree

from exovoice.spec.cli import main as cli
from exovoice.spec.conform import protocol
from exovoice.spec.conform.adapter import Capability, ClientBroken
from exovoice.spec.conform.context import ScenarioContext
from exovoice.spec.conform.jsonlines import JsonLinesAdapter
from exovoice.spec.conform.model_client import ModelAdapter
from exovoice.spec.conform.outcome import FAILED, Outcome
from exovoice.spec.conform.runner import main as conform

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "adapter-protocol.md"
MINIMAL = ROOT / "examples" / "minimal_client.py"
SERVER = f"{sys.executable} -m exovoice.reference.targets.jsonlines_server"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("adapter_protocol_doc",
                                                  ROOT / "docs" / "adapter_protocol.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _json_run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict]]:
    code = conform([*argv, "--format", "json"])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    return code, lines


# --- 1. the document ---------------------------------------------------------------------------
def test_the_document_and_its_schema_file_are_written_from_the_code() -> None:
    assert _generator().main(["--check"]) == 0, "run: python docs/adapter_protocol.py"


def test_every_catalogue_entry_is_in_a_table_of_the_document_with_its_capability() -> None:
    doc = DOC.read_text(encoding="utf-8")
    for e in protocol.CATALOGUE:
        rows = [r for r in doc.splitlines() if r.startswith(f"| `{e.name}`")]
        assert rows, f"{e.op} {e.name} has no row in docs/adapter-protocol.md"
        if e.op != protocol.PLATFORM:
            assert any(f"`{e.capability}`" in r or (not e.sent and " | - | " in r)
                       for r in rows), (e.name, rows)
    for cap in Capability.ALL | Capability.CONVENTIONS:
        assert re.search(rf"^\| `{re.escape(cap)}`", doc, re.M), f"capability {cap} undocumented"


def test_every_request_in_the_documents_examples_is_one_the_catalogue_describes() -> None:
    doc = DOC.read_text(encoding="utf-8")
    requests = [json.loads(m) for m in re.findall(r"^\s+-> (\{.*\})\s*$", doc, re.M)]
    assert len(requests) > 20
    for r in requests:
        if r["op"] in (protocol.API, protocol.STIMULUS, protocol.PLATFORM):
            protocol.check_request(r["op"], r["name"], r.get("args"))


def test_schema_adapter_is_the_generated_schema_with_every_message(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["schema", "--adapter"]) == 0
    flag = json.loads(capsys.readouterr().out)
    assert cli(["schema", "adapter"]) == 0
    assert json.loads(capsys.readouterr().out) == flag
    assert flag == json.loads((ROOT / "docs" / "adapter-protocol.schema.json").read_text())
    Draft202012Validator.check_schema(flag)
    defs = flag["$defs"]
    assert {"HelloRequest", "ApiAnswer", "EventMessage", "value.CallDetails",
            "args.stimulus.CXSetMutedCallAction", "args.api.relaySessionData"} <= set(defs)
    v = Draft202012Validator(flag)
    late = {"event": {"kind": "callback", "name": "onCallRinging", "call": "c1"}, "cause": 6}
    assert not list(v.iter_errors(late))
    assert list(v.iter_errors({**late, "cause": 0}))  # a cause names a request (ids from 1)
    muted = {"v": 1, "id": 4, "op": "stimulus", "name": "CXSetMutedCallAction",
             "args": {"uuid": "U"}}
    assert list(v.iter_errors(muted))  # the action's field is not optional
    assert not list(v.iter_errors({**muted, "args": {"uuid": "U", "muted": False}}))
    assert cli(["schema", "rules", "--adapter"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_the_driver_refuses_to_send_what_the_document_does_not_describe() -> None:
    ctx = ScenarioContext(lambda: ModelAdapter())
    try:
        with pytest.raises(protocol.UndocumentedRequest, match="'net_frobnicate'"):
            ctx.stimulus("net_frobnicate")
        with pytest.raises(protocol.UndocumentedRequest, match=r"api dial: args\.remoteId"):
            ctx.api("dial", args={"remoteId": 5})
        with pytest.raises(protocol.UndocumentedRequest, match=r"args\.muted"):
            ctx.stimulus("CXSetMutedCallAction", args={"uuid": "U"})
    finally:
        ctx.close()


# --- 2. a client written from the document alone ------------------------------------------------
def test_the_minimal_client_uses_nothing_but_the_document() -> None:
    source = MINIMAL.read_text(encoding="utf-8")
    assert "exovoice" not in re.sub(r'""".*?"""', "", source, flags=re.S)  # docstring aside
    imports = set(re.findall(r"^(?:from|import) (\w+)", source, re.M))
    assert imports <= set(sys.stdlib_module_names) | {"__future__"}, imports


def _not_run_for_a_capability(line: dict) -> bool:
    return bool(re.match(r"needs capability |client lacks (the query|network|the platform "
                         r"control)", line["reason"]))


@pytest.mark.parametrize("flags", ["", "--late", "--no-cause"],
                         ids=["in-time", "late", "version-1-without-cause"])
def test_the_minimal_client_passes_every_scenario_its_capabilities_reach(
        flags: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """In time, late (every event after its answer, with its cause), and as a client written
    before `cause` existed (events before their answers, no cause: placed by arrival)."""
    cmd = f"{sys.executable} {MINIMAL} {flags}".strip()
    code, lines = _json_run(["--client-cmd", cmd, "--trace-dir", str(tmp_path)], capsys)
    *scenarios, summary = lines
    assert code == 0, [s for s in scenarios if s["verdict"] != "passed"][:3]
    assert summary["summary"]["failed"] == 0 and summary["summary"]["passed"] >= 60
    for s in scenarios:  # not-run only for what it honestly lacks
        assert s["verdict"] == "passed" or _not_run_for_a_capability(s), s
    # the scenario: the late onAuthenticationFailure is written before the dial the
    # client refused because of it, whenever it arrived
    trace = next(tmp_path.glob("*without_a_new_token*.jsonl")).read_text().splitlines()
    names = [json.loads(x)["name"] for x in trace]
    assert names.index("onAuthenticationFailure") < names.index("dial")


def test_late_events_without_cause_give_the_false_failure_that_cause_removes(
        capsys: pytest.CaptureFixture[str]) -> None:
    """The control: the same late client leaving `cause` out is placed by arrival, and the
    correct SDK_UNINITIALIZED refusal is judged a violation (what issue 11 reported)."""
    base = f"{sys.executable} {MINIMAL} --late"
    sel = ["-k", "without_a_new_token"]
    code, lines = _json_run(["--client-cmd", f"{base} --no-cause", *sel], capsys)
    assert code == 1 and lines[0]["verdict"] == "failed", lines[0]
    assert lines[0]["violation"]["rule"] == "API-REFUSAL"
    code, lines = _json_run(["--client-cmd", base, *sel], capsys)
    assert code == 0 and lines[0]["verdict"] == "passed", lines[0]


LATE_CAUSE = r"""
import json, sys
for raw in sys.stdin:
    msg = json.loads(raw)
    if msg["op"] == "hello":
        print(json.dumps({"id": msg["id"], "capabilities": ["core"]}), flush=True)
    elif msg["op"] == "close":
        print(json.dumps({"id": msg["id"], "ok": True}), flush=True)
        break
    else:
        print(json.dumps({"event": {"kind": "callback", "name": "onInitializationSuccess"},
                          "cause": int(sys.argv[1])}), flush=True)
        print(json.dumps({"id": msg["id"], "result": "ok"}), flush=True)
"""


def test_a_cause_that_names_no_request_sent_breaks_the_protocol(tmp_path: Path) -> None:
    script = tmp_path / "cause.py"
    script.write_text(LATE_CAUSE)
    with JsonLinesAdapter([sys.executable, str(script), "2"], timeout=5) as ok:
        ok.hello(callkit=False)
        ok.api("initialize", args={"subscriberName": "a"})
        assert ok.events().get(timeout=5)["cause"] == 2
    with JsonLinesAdapter([sys.executable, str(script), "7"], timeout=5) as bad:
        bad.hello(callkit=False)
        with pytest.raises(ClientBroken, match="cause must be the id of a request already "
                           "sent \\(1 to 2\\), not '7'"):
            bad.api("initialize", args={"subscriberName": "a"})


# --- 3. the app's own CallKit start ------------------------------------------------------------
@pytest.mark.parametrize("own", [False, True], ids=["driver-starts", "app-starts"])
def test_each_outgoing_callkit_call_is_started_once(own: bool, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    cmd = SERVER + (" --callkit-app-start" if own else "")
    code, lines = _json_run(["--client-cmd", cmd, "--tags", "needs-callkit", "--trace-dir",
                             str(tmp_path)], capsys)
    assert code == 0 and lines[-1]["summary"]["passed"] == lines[-1]["summary"]["scenarios"]
    dials = starts = 0
    for path in tmp_path.glob("*.jsonl"):
        trace = [json.loads(x) for x in path.read_text().splitlines()]
        dialled = sum(1 for x in trace if x["name"] == "dial" and "result" not in x)
        started = sum(1 for x in trace if x["name"] == "CXStartCallAction")
        assert started == dialled, (path.name, dialled, started)
        dials, starts = dials + dialled, starts + started
        for x in trace:
            if x["name"] == "CXStartCallAction":
                assert x["args"].get("handle") and x["args"].get("uuid")
    assert dials > 3 and starts == dials


# --- 4. held to what it declares ---------------------------------------------------------------
def _model(monkeypatch: pytest.MonkeyPatch, caps: frozenset[str], **patch: Any) -> None:
    monkeypatch.setattr(ModelAdapter.__init__, "__defaults__", (caps,))
    for name, value in patch.items():
        monkeypatch.setattr(ModelAdapter, name, value)


MODEL = Capability.ALL - {Capability.PLATFORM, Capability.CONTROLS}


@pytest.mark.parametrize("declared", [True, False])
def test_a_malformed_query_answer_fails_only_a_client_that_declares_the_query(
        declared: bool, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    caps = MODEL if declared else MODEL - {Capability.CALL_DETAILS}
    _model(monkeypatch, caps, _call_details=lambda self: {"callState": "RINGIN"})
    code, lines = _json_run(["--client", "model", "-k", "live_outgoing_call"], capsys)
    scenario = lines[0]
    if declared:
        assert code == 1 and scenario["verdict"] == "failed"
        assert "getCallDetails() answered callState" in scenario["reason"]
    else:
        assert code == 0 and scenario["verdict"] == "not-run"
        assert scenario["reason"].startswith("client lacks the query getCallDetails "
                                             "(capability call-details not declared)")


@pytest.mark.parametrize("declared", [True, False])
def test_a_refused_control_fails_only_a_client_that_declares_controls(
        declared: bool, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The model takes no token_expired_silently: declaring controls anyway is a protocol
    error, not declaring it the version-1 way makes the scenario not-run."""
    _model(monkeypatch, MODEL | {Capability.CONTROLS} if declared else MODEL)
    code, lines = _json_run(["--client", "model", "-k", "refuses_on_a_dial"], capsys)
    scenario = lines[0]
    if declared:
        assert code == 2 and scenario["verdict"] == "failed"
        assert "declares controls but refused it" in scenario["protocol_error"]
    else:
        assert code == 0 and scenario["verdict"] == "not-run"
        assert "lacks the platform control token_expired_silently" in scenario["reason"]


# --- 5. a client that stops answering ------------------------------------------------------------
DIES_ON_DIAL = r"""
import json, sys
for raw in sys.stdin:
    msg = json.loads(raw)
    if msg.get("name") == "dial":
        sys.stderr.write("crashed on dial\n")
        sys.exit(%d)
    if msg["op"] == "hello":
        print(json.dumps({"id": msg["id"], "capabilities": ["core", "network"]}), flush=True)
        continue
    if msg["op"] == "close":
        break
    if msg.get("name") == "initialize":
        print(json.dumps({"event": {"kind": "callback", "name": "onInitializationSuccess"}}),
              flush=True)
    print(json.dumps({"id": msg["id"], "result": "ok"} if msg["op"] == "api"
                     else {"id": msg["id"], "ok": True}), flush=True)
"""
SELECTION = ["--tags", "guide-4.3.1", "-k", "busy or unreachable or rings"]


def test_a_client_that_dies_stops_the_run_and_the_rest_are_errors(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "dies.py"
    script.write_text(DIES_ON_DIAL % 3)
    junit = tmp_path / "junit.xml"
    code, lines = _json_run(["--client-cmd", f"{sys.executable} {script}", *SELECTION,
                             "--junit-xml", str(junit)], capsys)
    *scenarios, summary = lines
    assert code == 2
    assert [s["verdict"] for s in scenarios] == ["failed"] + ["error"] * (len(scenarios) - 1)
    first, rest = scenarios[0], scenarios[1:]
    assert len(rest) >= 2 and "exit status 3" in first["protocol_error"]
    for s in rest:  # each with the reason, naming where the client stopped
        assert s["reason"].startswith("not started: the client stopped speaking the adapter "
                                      f"protocol in {first['uri']}:{first['line']}: ")
        assert "crashed on dial" in s["reason"] and s["diagnosis"]["message"]
    assert summary["summary"]["errors"] == len(rest)
    errors = etree.parse(str(junit)).findall(".//testcase/error")
    assert len(errors) == len(rest) and "not started" in errors[0].get("message")


def test_keep_going_starts_the_client_for_every_scenario(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "dies.py"
    script.write_text(DIES_ON_DIAL % 3)
    code, lines = _json_run(["--client-cmd", f"{sys.executable} {script}", *SELECTION,
                             "--keep-going"], capsys)
    *scenarios, _ = lines
    assert code == 2 and len(scenarios) >= 3
    assert all(s["verdict"] == "failed" and "exit status 3" in s["protocol_error"]
               for s in scenarios)


REFUSES_DIAL = DIES_ON_DIAL.replace(
    'sys.stderr.write("crashed on dial\\n")\n        sys.exit(%d)',
    'print(json.dumps({"id": msg["id"], "error": "dial is not implemented"}), flush=True)\n'
    '        continue')


def test_a_refused_request_fails_its_scenario_and_the_run_goes_on(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "refuses.py"
    script.write_text(REFUSES_DIAL)
    code, lines = _json_run(["--client-cmd", f"{sys.executable} {script}", *SELECTION], capsys)
    *scenarios, _ = lines
    assert code == 2 and len(scenarios) >= 3
    assert all(s["verdict"] == "failed" for s in scenarios)
    assert "dial is not implemented" in scenarios[-1]["protocol_error"]


def test_a_client_that_does_not_answer_is_broken_not_refusing(tmp_path: Path) -> None:
    script = tmp_path / "silent.py"
    script.write_text(HANGS_AFTER_HELLO)
    with JsonLinesAdapter([sys.executable, str(script)], timeout=0.5) as a:
        a.hello(callkit=False)
        with pytest.raises(ClientBroken, match=r"no answer to api dial \(request 2\) within "
                           r"0\.5 s"):
            a.api("dial", args={"remoteId": "sip:1"})


HANGS_AFTER_HELLO = r"""
import json, sys
for raw in sys.stdin:
    msg = json.loads(raw)
    if msg["op"] == "hello":
        print(json.dumps({"id": msg["id"], "capabilities": ["core"]}), flush=True)
"""


# --- 6. what a failure says ----------------------------------------------------------------------
def test_a_failure_says_its_violation_once(capsys: pytest.CaptureFixture[str]) -> None:
    """The trace judgement's violation (every step passed) and a step's failure that the
    violation also explains: the violation's sentence appears once in the whole output."""
    for argv in (["--client-cmd", f"{sys.executable} {MINIMAL} --late --no-cause", "-k",
                  "without_a_new_token"],
                 ["--client", "broken:ringing-on-incoming", "-k", "never_rings"]):
        assert conform(argv) == 1
        out = capsys.readouterr().out
        failed = out[out.index("--- FAILED"):]
        sentence = re.search(r"^[A-Z-]+ \([^)]*\): (.*)$", failed, re.M).group(1)
        assert out.count(sentence) == 1, out
        assert "spec violation at trace line" in failed


def test_callbacks_callkit_lines_and_the_apps_own_calls_are_told_apart() -> None:
    o = Outcome("x", name="s", verdict=FAILED, reason="r",
                callbacks=["onIncomingCall"], callkit_lines=["reportNewIncomingCall"],
                app_calls=["answer"])
    body = o.body()
    assert "callbacks seen: onIncomingCall\n" in body
    assert "CallKit lines seen: reportNewIncomingCall\n" in body
    assert "API calls the app made itself: answer" in body


def test_context_lists_only_callbacks_as_callbacks() -> None:
    ctx = ScenarioContext(lambda: ModelAdapter(), callkit=True)
    try:
        ctx.api("initialize", args={"subscriberName": "alice"})
        ctx.stimulus("net_initialized")
        ctx.api("relaySessionData", args={"subscriberName": "alice", "callerId": "bob"})
        ctx.stimulus("net_push_valid")
        ctx.drain()
        uuid = next(e["args"]["uuid"] for e in ctx.seen if e["name"] == "reportNewIncomingCall")
        ctx.stimulus("CXAnswerCallAction", args={"uuid": uuid})
        ctx.drain()
        assert ctx.callbacks_seen() == ["onInitializationSuccess", "onIncomingCall"]
        assert ctx.callkit_seen() == ["reportNewIncomingCall", "CXAnswerCallAction",
                                      'actionFulfilled({"action": "CXAnswerCallAction"})']
        assert ctx.app_calls_seen() == ["answer"]
    finally:
        ctx.close()


DUPLICATE = [
    {"kind": "api", "name": "initialize", "args": {"subscriberName": "alice"}},
    {"kind": "callback", "name": "onInitializationSuccess"},
    {"kind": "api", "name": "dial", "call": "c1", "args": {"remoteId": "sip:1"}},
    {"kind": "callback", "name": "onCallInitiated", "call": "c1"},
    {"kind": "callback", "name": "onCallInitiated", "call": "c1"},
]


def test_a_duplicated_callback_is_explained_as_already_given(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "dup.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in DUPLICATE))
    assert cli(["validate", "--format", "json", str(path)]) == 1
    v = json.loads(capsys.readouterr().out)["violations"][0]
    assert v["line"] == 5 and v["rule"] == "CALL-INITIATED"
    assert "onCallInitiated was already given for this call" in v["message"]
    assert "allowed only in" not in v["message"]
