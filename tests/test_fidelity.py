"""The guide read clause by clause: traces a correct app writes that an earlier spec called
wrong, and traces a faulty app writes that it let through. Each is judged the way users judge
theirs (`exovoice validate`: the compiled engine, explained by the reference engine), and in
--complete mode where an obligation is the point. Every rule's quote occurs in its source."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from exovoice.spec.rules import RULES
from exovoice.spec.validate.engine import Judge
from exovoice.spec.validate.run import Options, judge_file

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SOURCES = {"guide": SHARED / "guide" / "integration-guide.txt",
           "FACTS": SHARED / "design" / "FACTS.md",
           "TRACE": SHARED / "design" / "TRACE-FORMAT.md"}


def meta(callkit: bool = False) -> dict:
    return {"kind": "meta", "name": "trace", "args": {"version": 1, "callkit": callkit}}


def api(name: str, call: str | None = None, error: str | None = None, **args: object) -> dict:
    d: dict = {"kind": "api", "name": name}
    if call:
        d["call"] = call
    if args:
        d["args"] = args
    if error:
        d["result"] = {"error": error}
    return d


def cb(name: str, call: str | None = None, **args: object) -> dict:
    d: dict = {"kind": "callback", "name": name}
    if call:
        d["call"] = call
    if args:
        d["args"] = args
    return d


def ck(name: str, uuid: str, **args: object) -> dict:
    return {"kind": "callkit", "name": name, "args": {"uuid": uuid, **args}}


def env(name: str) -> dict:
    return {"kind": "env", "name": name}


def state(name: str, call: str) -> dict:
    return {"kind": "state", "name": name, "call": call}


INIT = [api("initialize", subscriberName="alice"), cb("onInitializationSuccess")]
RELAY = {"payload": "p", "payloadVersion": 1, "subscriberName": "alice"}
ESTABLISHED = [api("dial", "c1", remoteId="sip:1"), cb("onCallInitiated", "c1"),
               cb("onCallEstablished", "c1")]
CK_ESTABLISHED = [api("dial", "c1", remoteId="sip:1"), ck("CXStartCallAction", "U1"),
                  ck("actionFulfilled", "U1", action="CXStartCallAction"),
                  cb("onCallInitiated", "c1"), cb("onCallEstablished", "c1"),
                  ck("reportOutgoingCallConnected", "U1")]


def verdict(tmp_path: Path, lines: list[dict], *, complete: bool = False,
            callkit: bool = False) -> tuple[bool | None, str | None, int | None]:
    """(conformant, rule, line) as `exovoice validate` reports it; the reference engine must
    agree on conformance."""
    body = [meta(callkit)] + lines
    p = tmp_path / "t.jsonl"
    p.write_text("".join(json.dumps(x) + "\n" for x in body), encoding="utf-8")
    res = judge_file(p, Options(complete=complete))
    j = Judge(callkit=callkit, complete=complete)
    ref_ok = all(j.feed(i, d["kind"], d["name"], d.get("call"), d.get("args"),
                        "ok" if d.get("result", "ok") == "ok" else d["result"]["error"]) is None
                 for i, d in enumerate(body, 1))
    if ref_ok and complete:
        ref_ok = not j.finish()
    assert ref_ok == bool(res.conformant), (res.violations, ref_ok)
    v = res.violations[0] if res.violations else None
    return res.conformant, (v.rule if v else None), (v.line if v else None)


def ok(tmp_path: Path, lines: list[dict], **kw: bool) -> None:
    got = verdict(tmp_path, lines, **kw)
    assert got[0] is True, got


def bad(tmp_path: Path, lines: list[dict], rule: str, **kw: bool) -> None:
    got = verdict(tmp_path, lines, **kw)
    assert got[0] is False and got[1] == rule, got


# --- the quotes ---------------------------------------------------------------------------
def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_every_rule_quotes_its_source_verbatim(rule_id: str) -> None:
    """Whitespace aside (the guide breaks lines mid-sentence), the words are the source's."""
    r = RULES[rule_id]
    assert r.quote and r.quote_source in SOURCES, f"{rule_id} has no quote"
    assert _norm(r.quote) in _norm(SOURCES[r.quote_source].read_text(encoding="utf-8")), \
        f"{rule_id}: {r.quote!r} is not in {r.quote_source}"


def test_rules_json_carries_the_quote(capsys: pytest.CaptureFixture[str]) -> None:
    from exovoice.spec.cli import main

    assert main(["rules", "--format", "json"]) == 0
    rules = json.loads(capsys.readouterr().out)
    assert all(isinstance(r["quote"], str) and r["quote"] for r in rules)
    assert {r["id"] for r in rules} == set(RULES)


# --- 1. a second, push-only CallKit call --------------------------------------------------
def test_a_push_during_a_callkit_call_is_a_second_call(tmp_path: Path) -> None:
    second = [ck("voipPushReceived", "U2"), api("relaySessionData", **RELAY),
              ck("reportNewIncomingCall", "U2"), ck("voipPushCompleted", "U2"),
              cb("onMissedCall", remoteId="sip:bob", time="t")]
    ok(tmp_path, INIT + CK_ESTABLISHED + second + [ck("reportCallEnded", "U2")],
       callkit=True, complete=False)
    # under --complete the second CallKit call must end, and the first goes on untouched
    bad(tmp_path, INIT + CK_ESTABLISHED + second + [api("hangup", "c1"),
                                                    cb("onCallEnded", "c1", endReason="LOCAL_HANGUP"),
                                                    ck("reportCallEnded", "U1")],
        "CK-SECOND-CALL", callkit=True, complete=True)
    # ended through CallKit: no SDK hangup for it (the SDK never had its call)
    ok(tmp_path, INIT + CK_ESTABLISHED + second + [
        ck("CXEndCallAction", "U2"), ck("actionFulfilled", "U2", action="CXEndCallAction"),
        api("hangup", "c1"), cb("onCallEnded", "c1", endReason="LOCAL_HANGUP"),
        ck("reportCallEnded", "U1")], callkit=True, complete=True)
    # a third UUID while the second is open is still one too many
    bad(tmp_path, INIT + CK_ESTABLISHED + second + [ck("voipPushReceived", "U3"),
                                                    ck("reportNewIncomingCall", "U3")],
        "CK-ONE-UUID", callkit=True)


# --- 2. one missed-call report per declined push ------------------------------------------
def test_each_push_declined_during_pstn_owes_its_own_report(tmp_path: Path) -> None:
    two = INIT + [env("pstnDialed"), api("relaySessionData", **RELAY),
                  api("relaySessionData", error="PSTN_CALL_INPROGRESS", **RELAY)]
    ok(tmp_path, two + [cb("onMissedCall", remoteId="a", time="1"),
                        cb("onMissedCall", remoteId="b", time="2")], complete=True)
    bad(tmp_path, two + [cb("onMissedCall", remoteId="a", time="1")], "SYS-RELAY-BUSY",
        complete=True)
    # the refusal never stands instead of the report
    bad(tmp_path, INIT + [env("pstnDialed"),
                          api("relaySessionData", error="PSTN_CALL_INPROGRESS", **RELAY)],
        "SYS-RELAY-BUSY", complete=True)


# --- 3. subscriber names ------------------------------------------------------------------
def test_a_sixteen_character_name_never_initializes(tmp_path: Path) -> None:
    ok(tmp_path, [api("initialize", subscriberName="a" * 15), cb("onInitializationSuccess")])
    bad(tmp_path, [api("initialize", subscriberName="a" * 16), cb("onInitializationSuccess")],
        "ARG-SUBSCRIBER")


# --- 4. the rule a CallKit PSTN refusal breaks ---------------------------------------------
def test_a_callkit_app_declining_for_pstn_breaks_the_4_9_rule(tmp_path: Path) -> None:
    bad(tmp_path, INIT + [env("pstnDialed"),
                          api("relaySessionData", error="PSTN_CALL_INPROGRESS", **RELAY)],
        "PSTN-CALLKIT", callkit=True)
    assert RULES["PSTN-CALLKIT"].section == "4.9"


# --- 5. CXEndCallAction with no SDK call ----------------------------------------------------
def test_an_end_action_without_a_call_is_fulfilled_without_hangup(tmp_path: Path) -> None:
    push = [ck("voipPushReceived", "U1"), api("relaySessionData", error="PAYLOAD_ERROR", **RELAY),
            ck("reportNewIncomingCall", "U1"), ck("voipPushCompleted", "U1"),
            ck("CXEndCallAction", "U1"), ck("actionFulfilled", "U1", action="CXEndCallAction")]
    ok(tmp_path, INIT + push, callkit=True, complete=True)
    # with a live call, the SDK must hang it up first
    bad(tmp_path, INIT + CK_ESTABLISHED + [ck("CXEndCallAction", "U1"),
                                           ck("actionFulfilled", "U1", action="CXEndCallAction")],
        "CK-END", callkit=True)


# --- 6. log uploads --------------------------------------------------------------------------
def test_uploads_in_flight_each_owe_one_answer(tmp_path: Path) -> None:
    two = INIT + [api("uploadLogs", startDate="2024-01-01", endDate="2024-01-02"),
                  api("uploadLogs", startDate="2024-01-01", endDate="2024-01-02")]
    ok(tmp_path, two + [cb("onUploadLogSuccess"), cb("onUploadLogFailure",
                                                      error="UPLOAD_LOG_FAILURE")], complete=True)
    bad(tmp_path, two + [cb("onUploadLogSuccess")], "LOG-UPLOAD", complete=True)
    bad(tmp_path, two + [cb("onUploadLogSuccess")] * 3, "LOG-UPLOAD")
    bad(tmp_path, INIT + [api("uploadLogs", startDate="2024-02-01", endDate="2024-01-01")],
        "ARG-LOG-DATES")
    ok(tmp_path, INIT + [api("uploadLogs", error="INVALID_PARAMETER", startDate="2024-02-01",
                             endDate="2024-01-01")], complete=True)


# --- 7. after onAuthenticationFailure --------------------------------------------------------
def test_calls_after_an_authentication_failure_may_be_accepted(tmp_path: Path) -> None:
    fail = INIT + [cb("onAuthenticationFailure", error="AUTHENTICATION_EXPIRED_TOKEN")]
    ok(tmp_path, fail + [api("dial", "c1", remoteId="sip:1"),
                         cb("onCallEnded", "c1", endReason="FAILURE")], complete=True)
    ok(tmp_path, fail + [api("dial", error="AUTHENTICATION_EXPIRED_TOKEN", remoteId="sip:1"),
                         api("relaySessionData", error="SDK_UNINITIALIZED", **RELAY)])
    bad(tmp_path, fail + [api("dial", error="PAYLOAD_ERROR", remoteId="sip:1")], "LC-REINIT")


# --- 8. environmental refusals ---------------------------------------------------------------
def test_a_missing_permission_may_refuse_any_operation(tmp_path: Path) -> None:
    ok(tmp_path, INIT + [api("dial", error="MISSING_PERMISSION", remoteId="sip:1"),
                         api("uploadLogs", error="INTERNAL_ERROR")] + ESTABLISHED
       + [api("mute", "c1", error="MISSING_PERMISSION")])
    bad(tmp_path, INIT + [api("dial", error="TONE_PLAYBACK_ERROR", remoteId="sip:1")],
        "API-REFUSAL")


# --- 9. no-ops and the previous call ---------------------------------------------------------
def test_hangup_after_the_end_and_refusals_naming_the_previous_call(tmp_path: Path) -> None:
    ended = INIT + ESTABLISHED + [api("hangup", "c1"),
                                  cb("onCallEnded", "c1", endReason="LOCAL_HANGUP")]
    ok(tmp_path, ended + [api("hangup", "c1")], complete=True)
    second = ended + [api("dial", "c2", remoteId="sip:2"), cb("onCallInitiated", "c2")]
    ok(tmp_path, second + [api("mute", "c1", error="INVALID_PARAMETER")])
    bad(tmp_path, second + [api("mute", "c1")], "CALL-ENDED-TERMINAL")


def test_a_dropped_call_may_read_ending_before_it_ends(tmp_path: Path) -> None:
    ok(tmp_path, INIT + ESTABLISHED + [state("ENDING", "c1"),
                                       cb("onCallEnded", "c1", endReason="REMOTE_HANGUP")],
       complete=True)
    # ...but it then ends for a network reason, not as a local hangup never made
    bad(tmp_path, INIT + ESTABLISHED + [state("ENDING", "c1"),
                                        cb("onCallEnded", "c1", endReason="PSTN_HANGUP")],
        "PSTN-VOIP-TERMINATED")


# --- 10. onCallEnded after onCallFailed ------------------------------------------------------
def test_one_call_ended_may_follow_a_failure(tmp_path: Path) -> None:
    failed = INIT + [api("dial", "c1", remoteId="sip:1"),
                     cb("onCallFailed", "c1", error="CONGESTION_ERROR")]
    ok(tmp_path, failed, complete=True)
    ok(tmp_path, failed + [cb("onCallEnded", "c1", endReason="THROTTLED")], complete=True)
    bad(tmp_path, failed + [cb("onCallEnded", "c1", endReason="BUSY")], "CALL-FAILED")
    bad(tmp_path, failed + [cb("onCallEnded", "c1", endReason="FAILURE")] * 2,
        "CALL-ENDED-TERMINAL")


# --- 11. Bluetooth without a device -----------------------------------------------------------
def test_enable_bluetooth_without_a_device_may_do_nothing(tmp_path: Path) -> None:
    call = INIT + ESTABLISHED
    ok(tmp_path, call + [api("enableBluetooth", "c1"),
                         api("getAudioRoute", "c1", route="EARPIECE")])
    ok(tmp_path, call + [api("enableBluetooth", "c1", error="INVALID_PARAMETER")])
    bad(tmp_path, call + [api("enableBluetooth", "c1"),
                          api("getAudioRoute", "c1", route="BLUETOOTH")], "AUDIO-ROUTE")


# --- 13. CallKit: hold or end before a PSTN call is answered ----------------------------------
def test_with_callkit_a_pstn_call_is_answered_after_hold_or_end(tmp_path: Path) -> None:
    lands = INIT + CK_ESTABLISHED + [env("pstnRinging")]
    bad(tmp_path, lands + [env("pstnAnswered")], "PSTN-CALLKIT", callkit=True)
    ok(tmp_path, lands + [ck("CXSetHeldCallAction", "U1", onHold=True),
                          ck("actionFulfilled", "U1", action="CXSetHeldCallAction"),
                          env("pstnAnswered")], callkit=True)
    ok(tmp_path, lands + [ck("CXEndCallAction", "U1"), api("hangup", "c1"),
                          ck("actionFulfilled", "U1", action="CXEndCallAction"),
                          env("pstnAnswered"), cb("onCallEnded", "c1", endReason="LOCAL_HANGUP")],
       callkit=True, complete=True)


# --- 14 and 21. the listener's whole vocabulary, the shipping SDKs' names ---------------------
def test_every_listener_callback_and_shipping_name_is_usable(tmp_path: Path) -> None:
    ok(tmp_path, [cb("onLog", level="INFO", tag="sdk", message="starting"),
                  api("initialize", subscriberName="alice"), cb("onInitializationDelay"),
                  cb("onAlreadyIntialized"), cb("onLog", level="DEBUG", tag="sip", message="x"),
                  api("dial", "c1", remoteId="sip:1"), cb("onCallInitiated", "c1"),
                  state("CALLING", "c1"), cb("onCallEstablished", "c1"),
                  state("MEDIA_ACTIVE", "c1"), cb("onCallDisrupted", "c1"),
                  cb("onCallRenewed", "c1"), {**api("relaySessionData", **RELAY), "value": False},
                  cb("onMissedCall", remoteId="sip:2", time="t"), api("hangup", "c1"),
                  cb("onCallEnded", "c1", endReason="LOCAL_HANGUP"),
                  cb("onDestroyMediaSession")], complete=True)
    bad(tmp_path, INIT + [cb("onLog", level="LOUD")], "LISTENER-LOG")
    bad(tmp_path, INIT + [cb("onInitializationDelay")], "LC-INIT-DELAY")
    bad(tmp_path, INIT + ESTABLISHED + [cb("onCallRenewed", "c1")], "VOCAB-SHIPPING")
    bad(tmp_path, INIT + ESTABLISHED + [state("CALLING", "c1")], "SYS-STATE")


# --- 15. audio routes ---------------------------------------------------------------------------
def test_a_wired_headset_takes_the_audio(tmp_path: Path) -> None:
    call = INIT + ESTABLISHED
    ok(tmp_path, call + [env("wiredHeadsetConnected"),
                         api("getAudioRoute", "c1", route="HEADPHONES"),
                         env("wiredHeadsetDisconnected"),
                         api("getAudioRoute", "c1", route="EARPIECE")])
    bad(tmp_path, call + [env("wiredHeadsetConnected"),
                          api("getAudioRoute", "c1", route="EARPIECE")], "AUDIO-ROUTE")


# --- 16 to 20. what Exotel's sample app shows ------------------------------------------------
def test_the_sample_apps_integrations_are_conformant(tmp_path: Path) -> None:
    incoming = INIT + [api("relaySessionData", **RELAY), cb("onIncomingCall", "c1"),
                       api("answer", "c1")]
    ok(tmp_path, incoming + [cb("onCallInitiated", "c1"), cb("onCallEstablished", "c1")])
    bad(tmp_path, incoming + [cb("onCallInitiated", "c1")] * 2, "CALL-INITIATED")
    ck_in = INIT + [api("relaySessionData", **RELAY), cb("onIncomingCall", "c1"),
                    ck("reportNewIncomingCall", "U1"), ck("CXAnswerCallAction", "U1"),
                    api("answer", "c1"), ck("actionFulfilled", "U1", action="CXAnswerCallAction"),
                    cb("onCallEstablished", "c1")]
    ok(tmp_path, ck_in + [ck("reportOutgoingCallConnected", "U1")], callkit=True)
    ended = INIT + ESTABLISHED + [api("hangup", "c1"),
                                  cb("onCallEnded", "c1", endReason="LOCAL_HANGUP")]
    ok(tmp_path, ended + [api("relaySessionData", **RELAY),
                          cb("onMissedCall", remoteId="sip:late", time="t"),
                          api("postFeedback", "c1", rating=4, issue="NO_ISSUE")], complete=True)
    media = INIT + ESTABLISHED + [cb("onMediaDisrupted", "c1"), cb("onRenewingMedia", "c1")]
    ok(tmp_path, media + [cb("onMediaDisrupted", "c1"), cb("onCallEstablished", "c1")])
    mute = INIT + CK_ESTABLISHED + [ck("CXSetMutedCallAction", "U1", muted=True)]
    ok(tmp_path, mute + [api("mute", "c1"), ck("actionFulfilled", "U1",
                                                action="CXSetMutedCallAction")], callkit=True)
    bad(tmp_path, mute + [ck("actionFulfilled", "U1", action="CXSetMutedCallAction")],
        "CK-MUTE", callkit=True)
    bad(tmp_path, mute + [api("unmute", "c1"), ck("actionFulfilled", "U1",
                                                  action="CXSetMutedCallAction")],
        "CK-MUTE", callkit=True)


# --- the fidelity table -----------------------------------------------------------------------
def test_the_fidelity_table_is_what_the_spec_says_today(capsys: pytest.CaptureFixture[str]) -> None:
    from exovoice.spec.cli import main

    assert main(["fidelity", "--check", str(ROOT / "docs" / "fidelity.md")]) == 0, \
        capsys.readouterr().out
    out = (ROOT / "docs" / "fidelity.md").read_text(encoding="utf-8")
    for r in RULES.values():
        assert f"`{r.id}`" in out
    assert "| 4.8 | Handling of PSTN calls |" in out


def test_a_stale_fidelity_table_is_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from exovoice.spec.cli import main

    stale = tmp_path / "fidelity.md"
    stale.write_text("# an old table\n", encoding="utf-8")
    assert main(["fidelity", "--check", str(stale)]) == 1
    assert main(["fidelity", "--guide", str(tmp_path / "missing.txt")]) == 2
    assert "no integration guide" in capsys.readouterr().err
