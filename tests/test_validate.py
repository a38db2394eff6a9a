"""The validator: `exovoice validate` on traces the guide allows and traces it does not, the
two engines held to the same verdicts, and the recorder's traces judged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exovoice.spec.cli import main
from exovoice.spec.trace.recorder import TraceRecorder
from exovoice.spec.validate.compiled import FastJudge
from exovoice.spec.validate.engine import Judge
from exovoice.spec.validate.run import Options, judge_file

ROOT = Path(__file__).resolve().parents[1]

META = {"kind": "meta", "name": "trace", "args": {"version": 1, "callkit": False}}
INIT = [{"kind": "api", "name": "initialize", "args": {"subscriberName": "alice"}},
        {"kind": "callback", "name": "onInitializationSuccess"}]


def L(kind: str, name: str, call: str | None = None, **args: object) -> dict:
    d: dict = {"kind": kind, "name": name}
    if call:
        d["call"] = call
    err = args.pop("error_result", None)
    if args:
        d["args"] = args
    if err:
        d["result"] = {"error": err}
    return d


OUTGOING = [META, *INIT,
            L("api", "dial", "c1", remoteId="sip:08040408080", message="order:42"),
            L("callback", "onCallInitiated", "c1"), L("callback", "onCallRinging", "c1"),
            L("callback", "onCallEstablished", "c1"), L("api", "hangup", "c1"),
            L("callback", "onCallEnded", "c1", endReason="LOCAL_HANGUP")]


def write(tmp: Path, name: str, lines: list[dict]) -> Path:
    p = tmp / name
    p.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return p


def run_cli(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "exovoice.spec", *argv], cwd=ROOT, input=stdin,
                          capture_output=True, text=True)


def test_the_trace_format_example_conforms(tmp_path: Path) -> None:
    assert main(["validate", str(write(tmp_path, "ok.jsonl", OUTGOING)), "--complete"]) == 0


def test_pstn_dial_accepted_is_reported_with_rule_section_expected_and_states(tmp_path: Path) -> None:
    lines = [META, *INIT, L("env", "pstnRinging"), L("env", "pstnAnswered"),
             L("api", "dial", "c1", remoteId="sip:1")]
    p = write(tmp_path, "pstn.jsonl", lines)
    out = run_cli("validate", "--format", "json", str(p))
    assert out.returncode == 1
    rec = json.loads(out.stdout.splitlines()[0])
    assert rec["conformant"] is False and rec["trace"] == str(p)
    v = rec["violations"][0]
    assert (v["line"], v["rule"], v["section"]) == (6, "PSTN-NO-DIAL", "4.8")
    assert "pstnEnded" in v["expected"] and "dial" not in v["expected"]
    assert any("pstn_active" in s for s in v["states"])


def test_refusal_with_the_right_error_conforms(tmp_path: Path) -> None:
    lines = [META, *INIT, L("env", "pstnDialed"),
             L("api", "dial", remoteId="sip:1", error_result="PSTN_CALL_INPROGRESS"),
             L("env", "pstnEnded")]
    assert judge_file(write(tmp_path, "t.jsonl", lines), Options()).conformant is True
    lines[4] = L("api", "dial", remoteId="sip:1", error_result="SYSTEM_BUSY")
    v = judge_file(write(tmp_path, "t.jsonl", lines), Options()).violations[0]
    assert v.rule == "PSTN-NO-DIAL" and "PSTN_CALL_INPROGRESS" in v.message


def test_state_lines_narrow_and_unobserved_network_steps_are_allowed(tmp_path: Path) -> None:
    lines = OUTGOING[:5] + [L("state", "CONNECTING", "c1")] + OUTGOING[6:]
    assert judge_file(write(tmp_path, "s.jsonl", lines), Options()).conformant is True
    lines = OUTGOING[:5] + [L("state", "INCOMING", "c1")]
    v = judge_file(write(tmp_path, "s.jsonl", lines), Options()).violations[0]
    assert v.line == 6 and v.rule == "SYS-STATE"
    assert v.message == ("getCallState() returned INCOMING, but the call could only be "
                         "CONNECTING, EARLY or OUTGOING_INITIATED (SYS-STATE, guide FACTS)")


def test_complete_requires_the_call_to_end(tmp_path: Path) -> None:
    p = write(tmp_path, "cut.jsonl", OUTGOING[:7])
    assert main(["validate", str(p)]) == 0  # a log cut short is not a violation...
    verdict = judge_file(p, Options(complete=True))  # ...unless completeness is asked for
    assert verdict.conformant is False
    assert verdict.violations[0].rule == "CALL-ENDED-TERMINAL"


def test_callkit_forced_and_meta(tmp_path: Path) -> None:
    ck = [L("api", "initialize", subscriberName="alice"), L("callback", "onInitializationSuccess"),
          L("api", "dial", "c1", remoteId="sip:1"), L("callback", "onCallInitiated", "c1"),
          L("callkit", "CXStartCallAction", uuid="u1"),
          L("callkit", "actionFulfilled", uuid="u1", action="CXStartCallAction")]
    p = write(tmp_path, "ck.jsonl", ck)
    assert judge_file(p, Options()).violations[0].rule == "CK-MODE"
    assert judge_file(p, Options(callkit=True)).conformant is True
    v = judge_file(p, Options(callkit=True, complete=True)).violations[0]
    assert v.rule == "CALL-ENDED-TERMINAL"
    no = write(tmp_path, "no.jsonl", [dict(META, args={"version": 1, "callkit": False}), *ck])
    assert judge_file(no, Options(callkit=True)).violations[0].rule == "CK-MODE"


def test_exit_2_for_unusable_input_and_the_other_files_are_still_judged(tmp_path: Path) -> None:
    good = write(tmp_path, "a.jsonl", OUTGOING)
    bad = tmp_path / "b.jsonl"
    bad.write_text(json.dumps(META) + "\n{\"kind\": \"api\"\n", encoding="utf-8")
    broken = write(tmp_path, "c.jsonl", OUTGOING[:4] + [L("callback", "onCallRinging", "c1")])
    out = run_cli("validate", "--format", "json", str(tmp_path))
    assert out.returncode == 2
    assert f"{bad}:2: not JSON" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    recs = {r["trace"]: r for r in map(json.loads, out.stdout.splitlines())}
    assert recs[str(good)]["conformant"] is True
    assert recs[str(broken)]["conformant"] is False
    assert recs[str(bad)]["conformant"] is None and "unusable" in recs[str(bad)]


def test_stdin_and_text_report(tmp_path: Path) -> None:
    text = "".join(json.dumps(x) + "\n" for x in OUTGOING[:4] + [L("callback", "onCallRinging", "c1")])
    out = run_cli("validate", "-", stdin=text)
    assert out.returncode == 1
    first, source = out.stdout.splitlines()[:2]
    # one sentence: what the client did, where, why not, the rule once with its section
    assert first.startswith("<stdin>:5: violation: the SDK called onCallRinging while client "
                            "initialized, call OUTGOING_INITIATED")
    assert first.endswith("(CALL-INITIATED, guide §4.3)") and first.count("CALL-INITIATED") == 1
    assert source.split("|", 1)[1].strip() == json.dumps(
        {"kind": "callback", "name": "onCallRinging", "call": "c1"}, separators=(",", ":"))


def test_coverage_lists_exercised_and_untouched(tmp_path: Path) -> None:
    out = run_cli("validate", "--coverage", str(write(tmp_path, "ok.jsonl", OUTGOING)))
    assert out.returncode == 0
    assert "CALL-DIAL:no_call->outgoing_initiated" not in out.stdout.split("never:")[1].split("\n")[0]
    assert "never:" in out.stdout and "CALL-ANSWER:incoming->answering" in out.stdout
    js = run_cli("validate", "--coverage", "--format", "json", str(tmp_path / "ok.jsonl"))
    rec, summary = map(json.loads, js.stdout.splitlines())
    assert "CALL-RINGING:outgoing_initiated->ringing" in rec["coverage"]["transitions"]
    assert "CALL-ANSWER:incoming->answering" in summary["summary"]["coverage"]["transitions"]["never"]


def test_no_files_is_usage_error(tmp_path: Path) -> None:
    assert main(["validate", str(tmp_path)]) == 2


def test_recorder_writes_traces_the_validator_accepts(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    clock = iter(range(100))
    with TraceRecorder(path, clock=lambda: float(next(clock))) as rec:
        rec.api("initialize", args={"subscriberName": "bob"})
        rec.callback("onInitializationSuccess")
        rec.api("dial", call="c1", args={"remoteId": "sip:1"})
        rec.callback("onCallInitiated", call="c1")
        rec.state("OUTGOING_INITIATED", call="c1")
        rec.api("hangup", call="c1")
        rec.callback("onCallEnded", call="c1", args={"endReason": "LOCAL_HANGUP"})
        rec.api("postFeedback", call="c1", args={"rating": 7, "issue": "ECHO"},
                result="INVALID_PARAMETER")
    assert judge_file(path, Options(complete=True)).conformant is True
    with pytest.raises(ValueError, match="not a callback name"):
        TraceRecorder(None).callback("onRinging")


# --- the two engines agree ---------------------------------------------------------------
LETTERS = [
    L("api", "initialize", subscriberName="alice"), L("api", "initialize", subscriberName="x" * 20),
    L("callback", "onInitializationSuccess"), L("callback", "onAuthenticationFailure",
                                                error="AUTHENTICATION_EXPIRED_TOKEN"),
    L("api", "dial", "c1", remoteId="sip:1", message="a:b"), L("api", "dial", "c2", remoteId="sip:1"),
    L("api", "dial", "c1", remoteId="sip:1", message="bad!"),
    L("api", "dial", remoteId="sip:1", error_result="SYSTEM_BUSY"),
    L("api", "dial", remoteId="sip:1", error_result="PSTN_CALL_INPROGRESS"),
    L("callback", "onCallInitiated", "c1"), L("callback", "onCallRinging", "c1"),
    L("callback", "onCallEstablished", "c1"), L("callback", "onCallEstablished", "c2"),
    L("callback", "onMediaDisrupted", "c1"), L("callback", "onRenewingMedia", "c1"),
    L("api", "hangup", "c1"), L("api", "hangup", "c2"), L("api", "answer", "c3"),
    L("callback", "onCallEnded", "c1", endReason="LOCAL_HANGUP"),
    L("callback", "onCallEnded", "c1", endReason="BUSY"),
    L("callback", "onCallEnded", "c3", endReason="REMOTE_HANGUP"),
    L("callback", "onCallEnded", "c1", endReason="PSTN_HANGUP"),
    L("callback", "onCallFailed", "c1", error="CONGESTION_ERROR"),
    L("api", "relaySessionData", subscriberName="alice", payload="p"),
    L("api", "relaySessionData", subscriberName="bob", payload="p"),
    L("callback", "onIncomingCall", "c3"), L("callback", "onMissedCall", remoteId="x"),
    L("env", "pstnRinging"), L("env", "pstnAnswered"), L("env", "pstnDeclined"),
    L("env", "pstnEnded"), L("env", "bluetoothConnected"),
    L("api", "enableBluetooth", "c1"), L("api", "mute", "c1"),
    L("api", "postFeedback", "c1", rating=4, issue="ECHO"),
    L("api", "postFeedback", "c1", rating=7, issue="ECHO"),
    L("state", "RINGING", "c1"), L("state", "CONNECTING", "c1"), L("state", "ENDED", "c1"),
    L("callkit", "CXStartCallAction", uuid="u1"), L("callkit", "CXStartCallAction", uuid="u2"),
    L("callkit", "actionFulfilled", uuid="u1", action="CXStartCallAction"),
    L("callkit", "CXEndCallAction", uuid="u1"),
    L("callkit", "actionFulfilled", uuid="u1", action="CXEndCallAction"),
    L("callkit", "reportNewIncomingCall", uuid="u3"), L("callkit", "CXAnswerCallAction", uuid="u3"),
    L("callkit", "actionFulfilled", uuid="u3", action="CXAnswerCallAction"),
    L("callkit", "reportCallEnded", uuid="u1"), L("callkit", "providerDidReset", uuid="u1"),
]
# Prefixes that put the client where most letters matter.
PREFIXES = [[], INIT, INIT + [LETTERS[4], LETTERS[9]], INIT + [LETTERS[23]],
            INIT + [LETTERS[4], LETTERS[9], LETTERS[39], LETTERS[41]]]


def _reference(lines: list[dict], callkit: bool, complete: bool) -> int:
    j = Judge(callkit=callkit, complete=complete)
    for i, d in enumerate(lines, 1):
        res = d.get("result", "ok")
        if j.feed(i, d["kind"], d["name"], d.get("call"), d.get("args"),
                  res if res == "ok" else res["error"]) is not None:
            return i
    done = j.finish()
    return done[0].line if done else 0


def _compiled(lines: list[dict], callkit: bool, complete: bool, tables: dict) -> int:
    j = FastJudge(tables, callkit=callkit, complete=complete)
    for i, d in enumerate(lines, 1):
        if not j.feed(i, d):
            return i
    return 0 if j.finish() else len(lines)


_TABLES: dict = {}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=st.sampled_from(PREFIXES), body=st.lists(st.sampled_from(LETTERS), max_size=10),
       callkit=st.booleans(), complete=st.booleans())
def test_compiled_tables_and_statechart_interpretation_agree(prefix: list[dict], body: list[dict],
                                                             callkit: bool, complete: bool) -> None:
    lines = prefix + body
    assert _compiled(lines, callkit, complete, _TABLES) == _reference(lines, callkit, complete)


def test_bench_corpus_faults_are_all_found(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from bench.corpus import FAULTS, generate, self_check

    self_check()  # every scenario conforms and every planted fault is caught
    total, bad = generate(tmp_path, files=40, lines_per_file=200, seed=7, bad_share=0.25)
    verdicts = [judge_file(p, Options()) for p in sorted(tmp_path.glob("*.jsonl"))]
    assert sum(v.conformant is False for v in verdicts) == bad > 0
    assert len(FAULTS) >= 7


# --- bad input never crashes ------------------------------------------------------------
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(
    st.binary(max_size=300),
    st.lists(st.sampled_from([json.dumps(x) for x in LETTERS] + ["{", "[]", "null", "\xff",
                                                                   '{"kind":"api","name":7}']),
             max_size=12).map(lambda ls: "\n".join(ls).encode("utf-8", "surrogateescape")),
))
def test_any_bytes_give_a_verdict_or_a_one_line_reason(tmp_path: Path, data: bytes,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "fuzz.jsonl"
    p.write_bytes(data)
    rc = main(["validate", str(p)])
    err = capsys.readouterr().err
    assert rc in (0, 1, 2)
    assert "Traceback" not in err
    if rc == 2 and data.strip():
        assert err.count("\n") == 1 and err.startswith(f"exovoice: {p}:")


def test_a_10_mb_line_is_unusable_with_its_line_number(tmp_path: Path) -> None:
    p = tmp_path / "big.jsonl"
    with open(p, "w", encoding="utf-8") as f:
        f.write(json.dumps(META) + "\n")
        f.write('{"kind":"api","name":"dial","args":{"message":"' + "a" * 10_000_000 + '"}}\n')
        f.write(json.dumps(INIT[0]) + "\n")
    out = run_cli("validate", str(p))
    assert out.returncode == 2
    assert out.stderr.strip() == f"exovoice: {p}:2: line longer than 1048576 bytes"


def test_atheris_fuzzing_finds_no_crash(tmp_path: Path) -> None:
    pytest.importorskip("atheris")
    tokens = ['"kind"', '"name"', '"call"', '"args"', '"result"', '"error"', '"uuid"',
              *(f'"{n}"' for n in ("api", "callback", "env", "callkit", "state", "meta", "trace",
                                  "dial", "hangup", "onCallEnded", "endReason", "pstnAnswered"))]
    d = tmp_path / "trace.dict"
    d.write_text("".join(f"{json.dumps(t)}\n" for t in tokens), encoding="utf-8")
    out = subprocess.run([sys.executable, str(ROOT / "tests" / "fuzz_reader.py"), "-runs=4000",
                          f"-dict={d}", "-seed=1"], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Done 4000 runs" in out.stderr


def test_an_empty_trace_is_unusable_unless_allowed(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    for extra in ([], ["--complete"]):
        assert main(["validate", *extra, str(empty)]) == 2
        err = capsys.readouterr().err
        assert err.strip() == f"exovoice: {empty}: empty trace (no line to judge; " \
            "--allow-empty judges it as conformant)"
    assert main(["validate", "--allow-empty", str(empty)]) == 0
    out = run_cli("validate", "-", stdin="")
    assert out.returncode == 2 and "<stdin>: empty trace" in out.stderr


def test_coverage_counts_only_transitions_the_trace_took(tmp_path: Path) -> None:
    """EARLY is reached only by an unobserved network step: an outgoing call that rang is
    consistent with passing through it, but the trace never took the client there."""
    v = judge_file(write(tmp_path, "ok.jsonl", OUTGOING), Options(coverage=True))
    assert "CALL-RINGING:outgoing_initiated->ringing" in v.fired
    assert not [t for t in v.fired if ":early->" in t or ":connecting->" in t], v.fired
    assert "early" not in v.states and "connecting" not in v.states
    # a state line that shows EARLY puts the client there: then its way out counts
    seen = OUTGOING[:5] + [L("state", "EARLY", "c1")] + OUTGOING[5:]
    v = judge_file(write(tmp_path, "early.jsonl", seen), Options(coverage=True))
    assert "CALL-RINGING:early->ringing" in v.fired
    assert "CALL-RINGING:outgoing_initiated->ringing" not in v.fired


@pytest.mark.parametrize("callkit", [False, True], ids=["plain", "callkit"])
def test_what_a_configuration_allows_does_not_depend_on_its_ids(callkit: bool) -> None:
    """The events a configuration allows (a finding's "expected") are asked of it with its ids
    renamed: two traces that differ only in their ids share the answer (one entry of the kept
    table, not one per finding), and it is what firing every event on the configuration
    itself gives."""
    from exovoice.spec.charts import model as M

    def drive(name: str, first: str, second: str, uuid: str) -> M.ClientModel:
        m = M.ClientModel(callkit=callkit)
        m.fire("initialize", params={"subscriberName": name})
        m.fire("onInitializationSuccess")
        for call in (first, second):
            m.fire("dial", params={"remoteId": "sip:1"}, call=call)
            if callkit and call == second:
                m.fire("CXStartCallAction", params={"uuid": uuid, "handle": "sip:1"})
            m.fire("onCallInitiated", call=call)
            if call == first:
                m.fire("hangup", call=call)
                m.fire("onCallEnded", params={"endReason": "LOCAL_HANGUP"}, call=call)
        return m

    a, b = drive("alice", "c1", "c2", "U-1"), drive("bob7", "x9", "y8", "V-2")
    got = a.allowed_events()
    kept = len(M._ALLOWED)
    assert b.allowed_events() == got and len(M._ALLOWED) == kept
    # and what firing every event on the configuration itself, with its own ids, gives
    assert got == a.probe_allowed() and "hangup" in got


def test_a_pushed_callkit_call_without_an_sdk_call_owes_no_report_while_the_last_call_lies_ended(
        tmp_path: Path) -> None:
    """CK-REPORT-ENDED is owed by a CallKit call that had an SDK call of its own. A push the
    SDK could not take (onMissedCall) whose CallKit call the user answers, while the app's
    previous call lies ENDED, has none: the guide says nothing of how such an entry ends, so
    --complete owes nothing (explore found the reference client blamed for it). The same
    answered call with an SDK call that then ends still owes the report."""
    # explore's shrunk run against the reference client (the token revoked, the client
    # stopped, its dial failed; then a push the SDK cannot take, answered in CallKit)
    head = [
        {"kind": "meta", "name": "trace", "args": {"version": 1, "callkit": True}},
        {"kind": "api", "name": "initialize", "args": {"subscriberName": "alice"}},
        {"kind": "callback", "name": "onInitializationSuccess"},
        {"kind": "callback", "name": "onAuthenticationFailure", "args": {"error": "AUTHENTICATION_INVALID_TOKEN"}},
        {"kind": "api", "name": "stop"},
        {"kind": "callback", "name": "onDeinitialized"},
        {"kind": "api", "name": "dial", "call": "c1", "args": {"remoteId": "sip:08040408080"}},
        {"kind": "callback", "name": "onCallEnded", "call": "c1", "args": {"endReason": "FAILURE"}},
        {"kind": "callkit", "name": "voipPushReceived", "args": {"uuid": "U2"}},
        {"kind": "api", "name": "relaySessionData", "args": {"payload": "p", "payloadVersion": 1, "subscriberName": "alice"}},
        {"kind": "callkit", "name": "reportNewIncomingCall", "args": {"uuid": "U2", "handle": "bob"}},
        {"kind": "callkit", "name": "voipPushCompleted", "args": {"uuid": "U2"}},
        {"kind": "callback", "name": "onMissedCall", "args": {"remoteId": "bob"}},
        {"kind": "callkit", "name": "CXAnswerCallAction", "args": {"uuid": "U2"}},
        {"kind": "api", "name": "answer", "call": "c1", "result": {"error": "INVALID_PARAMETER"}},
        {"kind": "callkit", "name": "actionFulfilled", "args": {"uuid": "U2", "action": "CXAnswerCallAction"}},
    ]
    path = tmp_path / "missed.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in head) + "\n", encoding="utf-8")
    v = judge_file(path, Options(complete=True))
    assert v.conformant is True, v.violations
    # a CallKit call started for the app's own dial, its call over and the entry never
    # reported ended, still owes it
    owing = head[:3] + [
        {"kind": "api", "name": "dial", "call": "c1", "args": {"remoteId": "sip:1"}},
        {"kind": "callback", "name": "onCallInitiated", "call": "c1"},
        {"kind": "callkit", "name": "CXStartCallAction", "args": {"uuid": "U1", "handle": "sip:1"}},
        {"kind": "callkit", "name": "actionFulfilled",
         "args": {"uuid": "U1", "action": "CXStartCallAction"}},
        {"kind": "api", "name": "hangup", "call": "c1"},
        {"kind": "callback", "name": "onCallEnded", "call": "c1",
         "args": {"endReason": "LOCAL_HANGUP"}}]
    path.write_text("\n".join(json.dumps(x) for x in owing) + "\n", encoding="utf-8")
    v = judge_file(path, Options(complete=True))
    assert v.conformant is False and v.violations[0].rule == "CK-REPORT-ENDED"
