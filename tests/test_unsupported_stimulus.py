"""The adapter protocol's `Unsupported` extension (version 1, docs/adapter-protocol.md,
"Errors"): a client that cannot give a stimulus (or set up an operation) says so, and the
scenario is reported not-run with its reason, never passed and never failed.

Three layers, each of which would break the extension on its own:
- the JSON-lines driver (exovoice.spec.conform.jsonlines) turns an error answer starting with
  `unsupported:` into `Unsupported` carrying the reason, and any other error text into a plain
  `AdapterError` (a declined stimulus must not look like a broken client, nor the reverse);
- ScenarioContext turns `Unsupported` into not-run (pytest.skip "not-run: ...") and a plain
  `AdapterError` into a ProtocolError;
- `exovoice conform` reports such a scenario N/R with the reason and exits 0 (not 1, not 2),
  while the same scenario passes when nothing is declined.

Fake clients are tiny Python scripts written to tmp_path and run with sys.executable; the
end-to-end one is the reference client (exovoice.reference.targets.jsonlines_server.Server) that declines one
chosen stimulus. Nothing here starts SIP processes.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

from exovoice.reference.targets.adapter import ReferenceAdapter
from exovoice.spec.conform.adapter import AdapterError, ApiResult, Unsupported
from exovoice.spec.conform.context import ProtocolError, ScenarioContext
from exovoice.spec.conform.jsonlines import JsonLinesAdapter
from exovoice.spec.conform.runner import EXIT_OK, EXIT_UNUSABLE, main

ROOT = Path(__file__).resolve().parents[1]

REASON = "cannot hold CONNECTING"
# uploadLogs as the protocol describes it (the driver sends nothing else)
UPLOAD = {"startDate": 0, "endDate": 3600, "description": "call dropped"}

# A minimal JSON-lines client: just enough protocol to answer hello, api and stimulus, with a
# fixed answer per name so each test can pick the error text it needs.
FAKE_CLIENT = r'''
import json, sys

STIMULI = {
    "net_connecting": {"error": "unsupported: cannot hold CONNECTING"},
    "net_noreason": {"error": "unsupported:"},
    # the wording examples/node_client.js uses for a stimulus it does not know: an ordinary
    # error, not the extension (no colon right after "unsupported")
    "net_unknown": {"error": "unsupported stimulus net_unknown"},
    "net_broken": {"error": "the radio is off"},
}
APIS = {
    "getStatistics": {"error": "unsupported: no statistics on this platform"},
}

def send(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()

for raw in sys.stdin:
    if not raw.strip():
        continue
    req = json.loads(raw)
    rid, op, name = req.get("id"), req.get("op"), req.get("name")
    if op == "hello":
        send({"id": rid, "v": 1, "capabilities": ["core", "network"]})
    elif op == "stimulus":
        send({"id": rid, **STIMULI.get(name, {"ok": True})})
    elif op == "api":
        send({"id": rid, **APIS.get(name, {"result": "ok"})})
    elif op == "close":
        send({"id": rid, "ok": True})
        break
    else:
        send({"id": rid, "error": "unknown op %r" % op})
'''

# The reference client over JSON lines, except that it declines one stimulus (argv[1]) the
# way a client on a real network would: `unsupported: <why>`, or (argv[2] == "plain") with an
# ordinary error, to show the difference. argv[1] == "-" declines nothing.
DECLINING_SERVER = r'''
import sys
sys.path.insert(0, {root!r})
from exovoice.reference.targets.jsonlines_server import Server

DECLINE = sys.argv[1]
PLAIN = len(sys.argv) > 2 and sys.argv[2] == "plain"


class Declining(Server):
    def handle(self, req):
        if req.get("op") == "stimulus" and req.get("name") == DECLINE:
            text = "the radio is off" if PLAIN else "unsupported: {reason}"
            self.send({{"id": req.get("id"), "error": text}})
            return True
        return super().handle(req)


sys.exit(Declining(sys.stdout).serve(sys.stdin))
'''

# A scenario that needs net_ringing ("the callee's phone rings", spec/conform/steps.py
# NETWORK_PHRASES) and nothing slow: features/outgoing.feature.
SCENARIO = "phone_rings_and_the_callee_answers"
SCENARIO_NAME = "The callee's phone rings and the callee answers"


@pytest.fixture
def fake_client(tmp_path: Path) -> list[str]:
    script = tmp_path / "fake_client.py"
    script.write_text(FAKE_CLIENT, encoding="utf-8")
    return [sys.executable, str(script)]


@pytest.fixture
def declining_server(tmp_path: Path) -> Path:
    script = tmp_path / "declining_server.py"
    script.write_text(DECLINING_SERVER.format(root=str(ROOT), reason=REASON), encoding="utf-8")
    return script


# --- 1. the JSON-lines driver -----------------------------------------------------------------
def test_an_unsupported_answer_raises_unsupported_with_the_reason(fake_client: list[str]) -> None:
    """`{"id":N,"error":"unsupported: <why>"}` to a stimulus is `Unsupported(<why>)`: the
    reason alone (no prefix, no command line) is what the not-run report shows."""
    with JsonLinesAdapter(fake_client, timeout=5) as adapter:
        assert adapter.hello(callkit=False) == {"core", "network"}
        with pytest.raises(Unsupported) as e:
            adapter.stimulus("net_connecting", call="c1")
        assert str(e.value) == REASON
        assert isinstance(e.value, AdapterError)  # compatible: old drivers' except still works


def test_a_decline_leaves_the_client_usable(fake_client: list[str]) -> None:
    """A declined stimulus is an answer, not a broken protocol: the next requests are served
    (a driver that marked the client broken would make every later scenario a failure)."""
    with JsonLinesAdapter(fake_client, timeout=5) as adapter:
        adapter.hello(callkit=False)
        with pytest.raises(Unsupported):
            adapter.stimulus("net_connecting")
        adapter.stimulus("net_ringing")  # answered {"ok": true}: no exception
        assert adapter.api("dial", args={"remoteId": "sip:1"}) == ApiResult("ok")
        with pytest.raises(Unsupported):
            adapter.stimulus("net_connecting")


def test_an_unsupported_operation_raises_unsupported(fake_client: list[str]) -> None:
    """The extension covers api() too ("cannot set up this operation here")."""
    with JsonLinesAdapter(fake_client, timeout=5) as adapter:
        adapter.hello(callkit=False)
        with pytest.raises(Unsupported, match=r"^no statistics on this platform$"):
            adapter.api("getStatistics")


def test_an_unsupported_answer_without_a_reason_names_the_request(
        fake_client: list[str]) -> None:
    """A bare `unsupported:` still gives a non-empty reason (the request), so the report
    never shows an empty "not-run: ... : " line."""
    with JsonLinesAdapter(fake_client, timeout=5) as adapter:
        adapter.hello(callkit=False)
        with pytest.raises(Unsupported) as e:
            adapter.stimulus("net_noreason")
        assert str(e.value) == "stimulus net_noreason"


@pytest.mark.parametrize("stimulus,text", [
    ("net_broken", "the radio is off"),
    ("net_unknown", "unsupported stimulus net_unknown"),
])
def test_an_ordinary_error_stays_a_plain_adapter_error(fake_client: list[str], stimulus: str,
                                                      text: str) -> None:
    """Any other error text (including the Node example's "unsupported stimulus X", which has
    no `unsupported:` prefix) is a protocol error, not a decline: it must not turn a client's
    breakage into a harmless not-run."""
    with JsonLinesAdapter(fake_client, timeout=5) as adapter:
        adapter.hello(callkit=False)
        with pytest.raises(AdapterError) as e:
            adapter.stimulus(stimulus)
        assert not isinstance(e.value, Unsupported)
        assert text in str(e.value) and f"stimulus {stimulus} failed" in str(e.value)


# --- 2. ScenarioContext, in process -----------------------------------------------------------
class DecliningAdapter(ReferenceAdapter):
    """The reference client, in process, declining net_ringing and uploadLogs as a client on a
    real network might; `plain` makes it fail them with an ordinary AdapterError instead."""

    def __init__(self, plain: bool = False) -> None:
        super().__init__()
        self.plain = plain

    def _decline(self, what: str) -> None:
        if self.plain:
            raise AdapterError(f"{what}: the radio is off")
        raise Unsupported(REASON)

    def stimulus(self, name: str, *, call: str | None = None,
                 args: dict[str, Any] | None = None) -> None:
        if name == "net_ringing":
            self._decline(name)
        super().stimulus(name, call=call, args=args)

    def api(self, name: str, *, call: str | None = None, args: dict[str, Any] | None = None
            ) -> ApiResult:
        if name == "uploadLogs":
            self._decline(name)
        return super().api(name, call=call, args=args)


def _dialled(plain: bool = False) -> ScenarioContext:
    """A context whose client is initialized and has dialled (what precedes "the callee's
    phone rings" in a scenario)."""
    ctx = ScenarioContext(lambda: DecliningAdapter(plain))
    assert ctx.api("initialize", args={"subscriberName": "alice"}).ok
    assert ctx.wait_for("onInitializationSuccess") is not None
    assert ctx.api("dial", args={"remoteId": "sip:08040408080"}).ok
    return ctx


def test_context_turns_an_unsupported_stimulus_into_not_run() -> None:
    """ScenarioContext.stimulus: Unsupported -> pytest.skip("not-run: ..."), which the runner
    and plugin report as not-run; the message names the stimulus and carries the reason."""
    ctx = _dialled()
    try:
        with pytest.raises(pytest.skip.Exception) as e:
            ctx.stimulus("net_ringing")
        assert str(e.value) == f"not-run: the client cannot give the stimulus net_ringing: {REASON}"
        ctx.stimulus("net_answered")  # the client is still driven normally afterwards
        assert ctx.wait_for("onCallEstablished") is not None
    finally:
        ctx.close()


def test_context_turns_an_unsupported_operation_into_not_run() -> None:
    """ScenarioContext.api: Unsupported -> not-run too (not the "client lacks the query"
    not-run reserved for queries beyond the guide's API, nor a ProtocolError)."""
    ctx = _dialled()
    try:
        with pytest.raises(pytest.skip.Exception) as e:
            ctx.api("uploadLogs", args=UPLOAD)
        assert str(e.value) == f"not-run: the client cannot set up uploadLogs here: {REASON}"
    finally:
        ctx.close()


def test_context_keeps_an_ordinary_adapter_error_a_protocol_error() -> None:
    """Without the extension's exception the same refusal is the client breaking the protocol
    (ProtocolError), never a not-run: the not-run comes from Unsupported alone."""
    ctx = _dialled(plain=True)
    try:
        with pytest.raises(ProtocolError, match="stimulus net_ringing: the client broke"):
            ctx.stimulus("net_ringing")
        with pytest.raises(ProtocolError, match="uploadLogs: the client broke"):
            ctx.api("uploadLogs", args=UPLOAD)
    finally:
        ctx.close()


# --- 3. end to end: exovoice conform --client-cmd ---------------------------------------------
def _conform(script: Path, *server_args: str) -> list[str]:
    cmd = shlex.join([sys.executable, str(script), *server_args])
    return ["--client-cmd", cmd, "-k", SCENARIO]


def test_conform_reports_a_declined_stimulus_as_not_run_and_exits_0(
        declining_server: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A client that answers net_ringing with `unsupported: <why>`: the scenario that needs it
    is N/R with the reason in the report, and the run's exit status is 0 (not-run is neither
    a failure, 1, nor an unusable client, 2)."""
    code = main(_conform(declining_server, "net_ringing"))
    captured = capsys.readouterr()
    out = captured.out
    assert code == EXIT_OK, out + captured.err
    assert f"N/R  [4.3.1] {SCENARIO_NAME}" in out, out
    assert f"the client cannot give the stimulus net_ringing: {REASON}" in out, out
    assert "1 scenarios: 0 passed, 0 failed, 1 not-run" in out, out
    assert "broke the adapter protocol" not in captured.err


@pytest.mark.parametrize("declined", ["-", "net_busy"])
def test_conform_passes_the_same_scenario_when_nothing_it_needs_is_declined(
        declining_server: Path, declined: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The control: the same wrapper declining nothing, or only a stimulus the scenario does
    not use, passes the scenario. So the not-run above comes from declining net_ringing, not
    from the wrapper, the selection or the scenario."""
    code = main(_conform(declining_server, declined))
    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    assert f"PASS [4.3.1] {SCENARIO_NAME}" in out, out
    assert "1 scenarios: 1 passed, 0 failed, 0 not-run" in out, out


def test_conform_treats_an_ordinary_error_as_a_broken_client(
        declining_server: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The same decline without the `unsupported:` prefix is a protocol error: the scenario
    fails and the client is reported unusable (exit 2), never not-run."""
    code = main(_conform(declining_server, "net_ringing", "plain"))
    captured = capsys.readouterr()
    assert code == EXIT_UNUSABLE, captured.out + captured.err
    assert f"FAIL [4.3.1] {SCENARIO_NAME}" in captured.out, captured.out
    assert "broke the adapter protocol" in captured.err
    assert "the radio is off" in captured.err
