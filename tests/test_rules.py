"""Every rule of exovoice.spec.rules, obeyed and broken.

Each test declares with @covers which rules it shows OBEYED (the events are accepted and the
resulting state is right) and which it shows BROKEN (a SpecViolation whose .rules cites the
rule, an obligation left at the end of the trace, or the validator's finding on a `state`
line). test_every_rule_is_obeyed_and_broken fails when a rule has no such test.

A few rules only say what an accepted event does (e.g. dial() returns the call in
OUTGOING_INITIATED); no SpecViolation ever cites them, because a client breaking them is
caught by the neighbouring rule. They are listed in SURFACES_AS with the rule that catches
the break, and their break tests assert that citation.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Callable, Iterable

import pytest
from helpers import (
    ended,
    incoming,
    incoming_established,
    initialized,
    obligation_ids,
    outgoing,
    outgoing_established,
    rule_ids,
    violation,
)

from exovoice.spec.base import SpecViolation
from exovoice.spec.charts.call_state import SYSTEM_STATE
from exovoice.spec.charts.model import ClientModel
from exovoice.spec.rules import RULES
from exovoice.spec.validate.engine import Judge
from exovoice.spec.vocabulary import CALLKIT_ACTIONS, CallIssue, CallKit, CallState, ErrorType

OBEYED: dict[str, list[str]] = defaultdict(list)
BROKEN: dict[str, list[str]] = defaultdict(list)

# rule -> the rule a violation cites when a client breaks it (see the module docstring)
SURFACES_AS: dict[str, str] = {
    "CALL-RELAY": "SYS-STATE",
    "LC-RESET": "SYS-UNINIT",
    # permissive rules: what they allow cannot be broken, a client breaking the neighbouring
    # rule is caught by it
    "API-ENVIRONMENT": "API-REFUSAL",
    "AUDIO-BT": "AUDIO-ROUTE",
}


def covers(obeys: Iterable[str] = (), breaks: Iterable[str] = ()) -> Callable:
    def deco(fn: Callable) -> Callable:
        for rid in obeys:
            assert rid in RULES, rid
            OBEYED[rid].append(fn.__name__)
        for rid in breaks:
            assert rid in RULES, rid
            BROKEN[rid].append(fn.__name__)
        return fn

    return deco


def cites(v: SpecViolation, *ids: str) -> None:
    got = rule_ids(v)
    missing = set(ids) - got
    assert not missing, f"{v} cites {sorted(got)}, not {sorted(missing)}"


DIAL = {"remoteId": "sip:08040408080", "message": "order:42"}
RELAY = {"payload": "p", "payloadVersion": "1"}
FEEDBACK = {"rating": 4, "issue": "NO_ISSUE"}


def ck(uuid: str = "u1", **kw: str) -> dict:
    return {"uuid": uuid, **kw}


# ============================================================================================
# the registry itself
# ============================================================================================


# rule -> the conformance test that breaks it: what the rule owes cannot be seen in a trace
# (the trace does not say why the platform ended a call), so a scenario drives a client into
# it and a broken client that omits the owed callback fails
CONFORMANCE_ONLY: dict[str, str] = {
    "LC-AUTH-CALL": "test_a_client_that_omits_the_authentication_failure_of_a_call_fails",
}


def test_every_rule_is_obeyed_and_broken() -> None:
    assert set(OBEYED) == set(RULES), f"rules never obeyed: {sorted(set(RULES) - set(OBEYED))}"
    assert set(BROKEN) | set(CONFORMANCE_ONLY) == set(RULES), (
        f"rules never broken: {sorted(set(RULES) - set(BROKEN) - set(CONFORMANCE_ONLY))}")
    conform_tests = (Path(__file__).with_name("test_conform.py")).read_text(encoding="utf-8")
    for rid, test in CONFORMANCE_ONLY.items():
        assert f"def {test}(" in conform_tests, f"{rid}: {test} is missing from test_conform.py"
    assert set(SURFACES_AS) <= set(RULES) and set(SURFACES_AS.values()) <= set(RULES)


# ============================================================================================
# call state: outgoing (4.3.1, 4.5)
# ============================================================================================


@covers(obeys=["CALL-DIAL", "SYS-STATE", "CALL-INITIATED", "CALL-RINGING",
               "CALL-ESTABLISHED-OUT", "CALL-HANGUP", "CALL-ENDED-LOCAL"])
def test_outgoing_call_happy_path() -> None:
    m = initialized()
    assert m.call_state is None and m.system_state == "IDLE"
    m._fire("dial", params=DIAL, call="c1")
    assert m.call_state == CallState.OUTGOING_INITIATED and m.system_state == "OUTGOING_CALL"
    assert m.v.call_id == "c1" and m.v.direction == "OUTGOING"
    m._fire("onCallInitiated", call="c1")
    assert m.call_state == CallState.OUTGOING_INITIATED
    m._fire("onCallRinging", call="c1")
    assert m.call_state == CallState.RINGING and m.system_state == "OUTGOING_CALL"
    m._fire("onCallEstablished", call="c1")
    assert m.call_state == CallState.ESTABLISHED and m.system_state == "IN_CALL"
    m._fire("hangup", call="c1")
    assert m.call_state == CallState.ENDING and m.system_state == "IN_CALL"
    m._fire("onCallEnded", params={"endReason": "LOCAL_HANGUP"}, call="c1")
    assert m.call_state == CallState.ENDED and m.system_state == "IDLE"
    assert m.obligations() == []


@covers(breaks=["CALL-DIAL"])
def test_dial_during_a_call_cites_system_busy_then_the_dial_edge() -> None:
    m = outgoing(initialized())
    v = violation(m, "dial", params=DIAL, call="c2")
    assert v.rules[0].id == "SYS-BUSY"
    cites(v, "CALL-DIAL")


@covers(breaks=["CALL-INITIATED"])
@pytest.mark.parametrize("event", ["onCallRinging", "onCallEstablished", "net_early_media",
                                   "net_connecting"])
def test_progress_before_on_call_initiated_is_refused(event: str) -> None:
    m = initialized()
    m._fire("dial", params=DIAL, call="c1")
    cites(violation(m, event, call="c1" if event.startswith("on") else None), "CALL-INITIATED")


@covers(breaks=["CALL-INITIATED"])
def test_on_call_initiated_fires_once_and_only_for_outgoing_calls() -> None:
    m = outgoing(initialized())
    cites(violation(m, "onCallInitiated", call="c1"), "CALL-INITIATED")
    m2 = incoming(initialized())
    cites(violation(m2, "onCallInitiated", call="c2"), "CALL-INITIATED")


@covers(obeys=["CALL-EARLY", "CALL-RINGING", "CALL-CONNECTING", "CALL-ESTABLISHED-OUT"])
def test_early_media_and_connecting_are_internal_steps() -> None:
    m = outgoing(initialized())
    m._fire("net_early_media")
    assert m.call_state == CallState.EARLY and m.system_state == "OUTGOING_CALL"
    m._fire("onCallRinging", call="c1")
    assert m.call_state == CallState.RINGING
    m._fire("net_connecting")
    assert m.call_state == CallState.CONNECTING and m.system_state == "OUTGOING_CALL"
    m._fire("onCallEstablished", call="c1")
    assert m.call_state == CallState.ESTABLISHED


@covers(obeys=["CALL-ESTABLISHED-OUT", "CALL-CONNECTING"])
@pytest.mark.parametrize("path", [[], ["net_early_media"], ["onCallRinging"],
                                  ["net_connecting"], ["net_early_media", "net_connecting"]])
def test_early_ringing_and_connecting_are_each_optional(path: list[str]) -> None:
    m = outgoing(initialized())
    for ev in path:
        m._fire(ev, call="c1" if ev.startswith("on") else None)
    m._fire("onCallEstablished", call="c1")
    assert m.call_state == CallState.ESTABLISHED


@covers(breaks=["CALL-EARLY", "CALL-CONNECTING"])
def test_internal_steps_only_from_their_sources() -> None:
    m = outgoing(initialized())
    m._fire("onCallRinging", call="c1")
    cites(violation(m, "net_early_media"), "CALL-EARLY")
    m._fire("onCallEstablished", call="c1")
    cites(violation(m, "net_connecting"), "CALL-CONNECTING")
    cites(violation(m, "net_early_media"), "CALL-EARLY")


@covers(breaks=["CALL-RINGING"])
def test_on_call_ringing_is_refused_on_an_incoming_call() -> None:
    m = incoming(initialized())
    cites(violation(m, "onCallRinging", call="c2"), "CALL-RINGING")
    m._fire("answer", call="c2")
    cites(violation(m, "onCallRinging", call="c2"), "CALL-RINGING")


@covers(breaks=["CALL-RINGING"])
def test_on_call_ringing_not_after_connecting() -> None:
    m = outgoing(initialized())
    m._fire("net_connecting")
    cites(violation(m, "onCallRinging", call="c1"), "CALL-RINGING")


@covers(breaks=["CALL-ESTABLISHED-OUT", "CALL-ESTABLISHED-IN"])
def test_on_call_established_needs_an_answered_call() -> None:
    m = incoming(initialized())
    v = violation(m, "onCallEstablished", call="c2")
    cites(v, "CALL-ESTABLISHED-OUT", "CALL-ESTABLISHED-IN")
    m = outgoing_established(initialized())
    cites(violation(m, "onCallEstablished", call="c1"), "CALL-ESTABLISHED-OUT")


# ============================================================================================
# call state: incoming (4.3.2)
# ============================================================================================


@covers(obeys=["CALL-RELAY", "CALL-INCOMING", "CALL-ANSWER", "CALL-ESTABLISHED-IN", "SYS-STATE"])
def test_incoming_call_happy_path() -> None:
    m = initialized()
    m._fire("relaySessionData", params=RELAY)
    assert m.call_state == CallState.NONE and m.system_state == "INCOMING_CALL"
    assert m.v.direction == "INCOMING" and m.v.call_id is None
    m._fire("onIncomingCall", call="c2")
    assert m.call_state == CallState.INCOMING and m.v.call_id == "c2"
    m._fire("answer", call="c2")
    assert m.call_state == CallState.ANSWERING and m.system_state == "INCOMING_CALL"
    m._fire("onCallEstablished", call="c2")
    assert m.call_state == CallState.ESTABLISHED and m.system_state == "IN_CALL"
    ended(m, "c2")


@covers(breaks=["CALL-INCOMING"])
def test_on_incoming_call_needs_a_relayed_push() -> None:
    m = initialized()
    cites(violation(m, "onIncomingCall", call="c2"), "CALL-INCOMING")
    m = incoming(initialized())
    cites(violation(m, "onIncomingCall", call="c2"), "CALL-INCOMING")


@covers(breaks=["CALL-ANSWER", "CALL-OP-STATE"])
def test_answer_only_an_incoming_call() -> None:
    m = outgoing(initialized())
    v = violation(m, "answer", call="c1")
    assert v.rules[0].id == "CALL-OP-STATE"
    cites(v, "CALL-ANSWER")
    m = incoming_established(initialized())
    cites(violation(m, "answer", call="c2"), "CALL-OP-STATE", "CALL-ANSWER")


@covers(obeys=["CALL-OP-STATE"])
def test_refused_answer_and_hangup_are_allowed_where_the_call_does_not_fit() -> None:
    m = outgoing(initialized())
    m._fire("answer", result="INTERNAL_ERROR", call="c1")  # any ErrorType (permissive)
    assert m.call_state == CallState.OUTGOING_INITIATED
    m._fire("hangup", call="c1")
    m._fire("hangup", call="c1")  # already ending: a no-op, accepted
    m._fire("hangup", result="INTERNAL_ERROR", call="c1")  # or refused
    assert m.call_state == CallState.ENDING
    m._fire("onCallEnded", params={"endReason": "LOCAL_HANGUP"}, call="c1")
    m._fire("hangup", result="INVALID_PARAMETER", call="c1")
    assert m.call_state == CallState.ENDED


@covers(obeys=["CALL-OP-STATE"], breaks=["CALL-OP-STATE"])
def test_hangup_without_a_call_is_refused_and_after_the_call_a_no_op() -> None:
    m = initialized()
    cites(violation(m, "hangup", call="c1"), "CALL-OP-STATE")
    m = ended(outgoing(initialized()))
    m._fire("hangup", call="c1")  # accepted: the guide shows hangup may throw, not that it must
    assert m.call_state == CallState.ENDED and m.obligations() == []
    m._fire("hangup", result="TONE_PLAYBACK_ERROR", call="c1")  # or refused, any ErrorType
    assert m.call_state == CallState.ENDED


@covers(obeys=["CALL-MISSED"], breaks=["CALL-MISSED"])
def test_a_stale_push_is_reported_as_missed() -> None:
    m = initialized()
    m._fire("relaySessionData", params=RELAY)
    m._fire("onMissedCall", params={"remoteId": "sip:9", "time": "1"})
    assert m.call_state is None and m.system_state == "IDLE"
    cites(violation(m, "onMissedCall", params={"remoteId": "sip:9", "time": "1"}), "CALL-MISSED")
    m = incoming(initialized())
    cites(violation(m, "onMissedCall"), "CALL-MISSED")


# ============================================================================================
# call state: media (4.5)
# ============================================================================================


@covers(obeys=["CALL-MEDIA-DISRUPTED", "CALL-MEDIA-RENEWING", "CALL-MEDIA-RESTORED"])
def test_media_disrupted_renewing_established() -> None:
    m = outgoing_established(initialized())
    m._fire("onMediaDisrupted", call="c1")
    assert m.call_state == CallState.MEDIA_DISRUPTED and m.system_state == "IN_CALL"
    m._fire("onRenewingMedia", call="c1")
    assert m.call_state == CallState.RENEWING_MEDIA and m.system_state == "IN_CALL"
    m._fire("onCallEstablished", call="c1")
    assert m.call_state == CallState.ESTABLISHED
    m._fire("onMediaDisrupted", call="c1")
    m._fire("onCallEstablished", call="c1")  # renewing is optional
    assert m.call_state == CallState.ESTABLISHED


@covers(breaks=["CALL-MEDIA-DISRUPTED", "CALL-MEDIA-RENEWING", "CALL-MEDIA-RESTORED"])
def test_media_callbacks_out_of_order() -> None:
    m = outgoing(initialized())
    cites(violation(m, "onMediaDisrupted", call="c1"), "CALL-MEDIA-DISRUPTED")
    m = outgoing_established(initialized())
    cites(violation(m, "onRenewingMedia", call="c1"), "CALL-MEDIA-RENEWING")
    cites(violation(m, "onCallEstablished", call="c1"), "CALL-MEDIA-RESTORED")
    m._fire("onMediaDisrupted", call="c1")
    cites(violation(m, "onMediaDisrupted", call="c1"), "CALL-MEDIA-DISRUPTED")
    m._fire("onRenewingMedia", call="c1")
    cites(violation(m, "onRenewingMedia", call="c1"), "CALL-MEDIA-RENEWING")


@covers(obeys=["CALL-MEDIA-TIMEOUT"])
@pytest.mark.parametrize("renewing", [False, True])
@pytest.mark.parametrize("reason", ["MEDIA_TIMEOUT", "MEDIA_FAILED_HANGUP"])
def test_media_timeout_ends_the_call(renewing: bool, reason: str) -> None:
    m = outgoing_established(initialized())
    m._fire("onMediaDisrupted", call="c1")
    if renewing:
        m._fire("onRenewingMedia", call="c1")
    m._fire("onCallEnded", params={"endReason": reason}, call="c1")
    assert m.call_state == CallState.ENDED and m.system_state == "IDLE"


@covers(breaks=["CALL-MEDIA-TIMEOUT"])
def test_media_timeout_end_reasons_only_after_disruption() -> None:
    m = outgoing_established(initialized())
    m._fire("onMediaDisrupted", call="c1")
    cites(violation(m, "onCallEnded", params={"endReason": "BUSY"}, call="c1"), "CALL-MEDIA-TIMEOUT")
    m = outgoing_established(initialized())
    v = violation(m, "onCallEnded", params={"endReason": "MEDIA_TIMEOUT"}, call="c1")
    cites(v, "CALL-REMOTE-END-EST")


# ============================================================================================
# call state: ending
# ============================================================================================


@covers(obeys=["CALL-HANGUP", "CALL-ENDED-LOCAL"])
@pytest.mark.parametrize("reason", [None, "LOCAL_HANGUP", "NONE"])
@pytest.mark.parametrize("where", ["OUTGOING_INITIATED", "EARLY", "RINGING", "CONNECTING",
                                   "INCOMING", "ANSWERING", "ESTABLISHED", "MEDIA_DISRUPTED",
                                   "RENEWING_MEDIA"])
def test_hangup_from_every_live_state(where: str, reason: str | None) -> None:
    m = reach(where)
    call = m.v.call_id
    m._fire("hangup", call=call)
    assert m.call_state == CallState.ENDING
    m._fire("onCallEnded", params={"endReason": reason} if reason else {}, call=call)
    assert m.call_state == CallState.ENDED


@covers(breaks=["CALL-HANGUP"])
def test_hangup_refused_by_the_sdk_must_have_a_reason() -> None:
    m = outgoing_established(initialized())
    # the call is live, so no refusal rule applies: a refused hangup is not allowed
    cites(violation(m, "hangup", result="TONE_PLAYBACK_ERROR", call="c1"), "API-REFUSAL")
    m = initialized()
    v = violation(m, "hangup", call="c1")
    cites(v, "CALL-HANGUP")


@covers(breaks=["CALL-ENDED-LOCAL"])
def test_a_local_hangup_ends_with_local_hangup_or_none() -> None:
    m = outgoing_established(initialized())
    m._fire("hangup", call="c1")
    for reason in ("REMOTE_HANGUP", "PSTN_HANGUP", "BUSY", "MEDIA_TIMEOUT"):
        cites(violation(m, "onCallEnded", params={"endReason": reason}, call="c1"),
              "CALL-ENDED-LOCAL")


@covers(obeys=["CALL-REMOTE-END-OUT"])
@pytest.mark.parametrize("reason", [None, "BUSY", "TIMEOUT", "UNREACHABLE", "FAILURE",
                                    "REMOTE_HANGUP", "INVALID_DIAL_INFO", "THROTTLED", "NONE"])
@pytest.mark.parametrize("where", ["OUTGOING_INITIATED", "EARLY", "RINGING", "CONNECTING"])
def test_outgoing_call_ends_from_the_network(where: str, reason: str | None) -> None:
    m = reach(where)
    m._fire("onCallEnded", params={"endReason": reason} if reason else {}, call="c1")
    assert m.call_state == CallState.ENDED


@covers(breaks=["CALL-REMOTE-END-OUT"])
@pytest.mark.parametrize("reason", ["LOCAL_HANGUP", "MEDIA_TIMEOUT", "MEDIA_FAILED_HANGUP"])
def test_outgoing_call_end_reasons_are_checked(reason: str) -> None:
    m = reach("RINGING")
    cites(violation(m, "onCallEnded", params={"endReason": reason}, call="c1"), "CALL-REMOTE-END-OUT")


@covers(obeys=["CALL-REMOTE-END-IN"], breaks=["CALL-REMOTE-END-IN"])
@pytest.mark.parametrize("where", ["INCOMING", "ANSWERING"])
def test_incoming_call_ends_from_the_network(where: str) -> None:
    for reason in ("REMOTE_HANGUP", "TIMEOUT", "FAILURE", "NONE", None):
        m = reach(where)
        m._fire("onCallEnded", params={"endReason": reason} if reason else {}, call="c2")
        assert m.call_state == CallState.ENDED
    m = reach(where)
    for reason in ("BUSY", "LOCAL_HANGUP", "UNREACHABLE"):
        cites(violation(m, "onCallEnded", params={"endReason": reason}, call="c2"),
              "CALL-REMOTE-END-IN")


@covers(obeys=["CALL-REMOTE-END-EST"], breaks=["CALL-REMOTE-END-EST"])
def test_established_call_ends_from_the_network() -> None:
    for reason in ("REMOTE_HANGUP", "FAILURE", "TIMEOUT", "MEDIA_FAILED_HANGUP", "NONE", None):
        m = outgoing_established(initialized())
        m._fire("onCallEnded", params={"endReason": reason} if reason else {}, call="c1")
        assert m.call_state == CallState.ENDED
    m = outgoing_established(initialized())
    for reason in ("BUSY", "LOCAL_HANGUP", "UNREACHABLE", "MEDIA_TIMEOUT"):
        cites(violation(m, "onCallEnded", params={"endReason": reason}, call="c1"),
              "CALL-REMOTE-END-EST")


@covers(obeys=["CALL-FAILED"], breaks=["CALL-FAILED"])
def test_on_call_failed_ends_an_outgoing_call_before_it_is_established() -> None:
    for where in ("OUTGOING_INITIATED", "EARLY", "RINGING", "CONNECTING"):
        m = reach(where)
        m._fire("onCallFailed", params={"error": "CONGESTION_ERROR"}, call="c1")
        assert m.call_state == CallState.ENDED and m.system_state == "IDLE"
    m = initialized()
    m._fire("dial", params=DIAL, call="c1")  # without onCallInitiated (permissive)
    m._fire("onCallFailed", params={"error": "NETWORK_ERROR"}, call="c1")
    assert m.call_state == CallState.ENDED
    m = reach("RINGING")
    cites(violation(m, "onCallFailed", params={"error": "PAYLOAD_ERROR"}, call="c1"), "CALL-FAILED")
    m = outgoing_established(initialized())
    cites(violation(m, "onCallFailed", params={"error": "CONGESTION_ERROR"}, call="c1"), "CALL-FAILED")
    m = incoming(initialized())
    cites(violation(m, "onCallFailed", call="c2"), "CALL-FAILED")


@covers(obeys=["CALL-ENDED-TERMINAL", "ARG-FEEDBACK-ENDED"], breaks=["CALL-ENDED-TERMINAL"])
def test_ended_is_terminal() -> None:
    m = ended(outgoing_established(initialized()))
    for event in ("onCallEnded", "onCallEstablished", "onCallRinging", "onMediaDisrupted",
                  "onCallFailed", "onCallInitiated", "onRenewingMedia"):
        v = violation(m, event, call="c1")
        assert v.rules[0].id == "CALL-ENDED-TERMINAL", v
    m._fire("postFeedback", params=FEEDBACK, call="c1")  # the one call operation allowed
    assert m.call_state == CallState.ENDED
    # a new call, then a line naming the old one
    m._fire("dial", params=DIAL, call="c2")
    for event in ("onCallInitiated", "hangup", "postFeedback"):
        cites(violation(m, event, params=FEEDBACK if event == "postFeedback" else None, call="c1"),
              "CALL-ENDED-TERMINAL")


@covers(breaks=["CALL-ENDED-TERMINAL"])
def test_an_ended_call_stays_ended_while_the_next_call_has_no_id_yet() -> None:
    m = ended(outgoing(initialized()))
    m._fire("relaySessionData", params=RELAY)  # the new call has no id until onIncomingCall
    assert m.call_state == CallState.NONE and m.v.call_id is None
    for event in ("onCallEstablished", "hangup", "mute"):
        v = violation(m, event, call="c1")
        assert [r.id for r in v.rules] == ["CALL-ENDED-TERMINAL"], v
    m._fire("reset")  # ends the relayed call, still without an id
    v = violation(m, "hangup", call="c1")
    assert [r.id for r in v.rules] == ["CALL-ENDED-TERMINAL"], v
    m._fire("hangup")  # a line without a call id is fine


@covers(breaks=["CALL-ENDED-TERMINAL"])
def test_a_call_not_ended_is_owed_at_the_end_of_the_trace() -> None:
    m = outgoing_established(initialized())
    assert "CALL-ENDED-TERMINAL" in obligation_ids(m)
    m._fire("hangup", call="c1")
    assert "CALL-ENDED-TERMINAL" in obligation_ids(m)


# ============================================================================================
# every CallState is reachable
# ============================================================================================


def reach(state: str, callkit: bool = False) -> ClientModel:
    """A fresh initialized model whose call is in `state` (outgoing c1, incoming c2)."""
    m = initialized(callkit)
    out = {
        "OUTGOING_INITIATED": [],
        "EARLY": ["net_early_media"],
        "RINGING": ["onCallRinging"],
        "CONNECTING": ["onCallRinging", "net_connecting"],
        "ESTABLISHED": ["onCallEstablished"],
        "MEDIA_DISRUPTED": ["onCallEstablished", "onMediaDisrupted"],
        "RENEWING_MEDIA": ["onCallEstablished", "onMediaDisrupted", "onRenewingMedia"],
        "ENDING": ["hangup"],
        "ENDED": ["onCallFailed"],
    }
    if state in out:
        outgoing(m)
        for ev in out[state]:
            m._fire(ev, call="c1" if not ev.startswith("net_") else None)
    elif state == "NONE":
        m._fire("relaySessionData", params=RELAY)
    elif state == "INCOMING":
        incoming(m)
    elif state == "ANSWERING":
        incoming(m)
        m._fire("answer", call="c2")
    else:
        raise ValueError(state)
    assert m.call_state == CallState(state)
    assert m.system_state == SYSTEM_STATE[CallState(state)]
    return m


@covers(obeys=["SYS-STATE"])
@pytest.mark.parametrize("state", CallState.names())
def test_every_call_state_is_reached(state: str) -> None:
    m = reach(state)
    assert m.call_state.value == state  # type: ignore[union-attr]
    assert m.leaf_states()[1] == ClientModel.states_map[state].id


def test_system_state_table() -> None:
    assert SYSTEM_STATE[None] == "IDLE" and SYSTEM_STATE[CallState.ENDED] == "IDLE"
    assert {SYSTEM_STATE[s] for s in (CallState.OUTGOING_INITIATED, CallState.EARLY,
                                      CallState.RINGING, CallState.CONNECTING)} == {"OUTGOING_CALL"}
    assert {SYSTEM_STATE[s] for s in (CallState.NONE, CallState.INCOMING,
                                      CallState.ANSWERING)} == {"INCOMING_CALL"}
    assert {SYSTEM_STATE[s] for s in (CallState.ESTABLISHED, CallState.MEDIA_DISRUPTED,
                                      CallState.RENEWING_MEDIA)} == {"IN_CALL"}


# ============================================================================================
# system state (FACTS)
# ============================================================================================


@covers(obeys=["SYS-UNINIT", "API-REFUSAL"], breaks=["SYS-UNINIT"])
def test_dial_and_relay_before_initialization() -> None:
    for m in (ClientModel(), ClientModel(callkit=True)):
        m._fire("dial", result="SDK_UNINITIALIZED", params=DIAL)
        m._fire("relaySessionData", result="SDK_UNINITIALIZED", params=RELAY)
        assert m.call_state is None
        cites(violation(m, "dial", params=DIAL, call="c1"), "SYS-UNINIT")
        cites(violation(m, "relaySessionData", params=RELAY), "SYS-UNINIT")
        cites(violation(m, "dial", result="SYSTEM_BUSY", params=DIAL), "SYS-UNINIT")
        m._fire("initialize", params={"subscriberName": "alice"})
        cites(violation(m, "dial", params=DIAL, call="c1"), "SYS-UNINIT")  # still initializing


@covers(obeys=["SYS-BUSY", "API-REFUSAL"], breaks=["SYS-BUSY"])
@pytest.mark.parametrize("state", ["NONE", "OUTGOING_INITIATED", "RINGING", "INCOMING",
                                   "ESTABLISHED", "MEDIA_DISRUPTED", "ENDING"])
def test_dial_while_a_call_exists_is_refused_with_system_busy(state: str) -> None:
    m = reach(state)
    before = m.call_state
    m._fire("dial", result="SYSTEM_BUSY", params=DIAL)
    assert m.call_state == before
    v = violation(m, "dial", params=DIAL, call="c9")
    assert v.rules[0].id == "SYS-BUSY"
    cites(violation(m, "dial", result="TONE_PLAYBACK_ERROR", params=DIAL), "SYS-BUSY")


@covers(obeys=["SYS-BUSY"])
def test_dial_after_the_call_ended_is_accepted() -> None:
    m = ended(outgoing(initialized()))
    m._fire("dial", params=DIAL, call="c2")
    assert m.call_state == CallState.OUTGOING_INITIATED and m.v.past_calls == frozenset({"c1"})


@covers(obeys=["SYS-RELAY-BUSY"], breaks=["SYS-RELAY-BUSY"])
@pytest.mark.parametrize("state", ["OUTGOING_INITIATED", "INCOMING", "ESTABLISHED", "ENDING"])
def test_relay_while_busy_is_missed_or_refused(state: str) -> None:
    m = reach(state)
    before = m.call_state
    trial = reach(state)
    trial._fire("relaySessionData", result="SYSTEM_BUSY", params=RELAY)  # the diagram's reading
    assert trial.call_state == before and trial.obligations() == m.obligations()
    m._fire("relaySessionData", params=RELAY)  # the API docs' reading
    assert m.call_state == before and m.in_state("missed_due")
    assert "SYS-RELAY-BUSY" in obligation_ids(m)  # onMissedCall is owed
    v = violation(m, "onIncomingCall", call="c9")
    assert v.rules[0].id == "SYS-RELAY-BUSY"
    m._fire("onMissedCall", params={"remoteId": "sip:9", "time": "1"})
    assert m.call_state == before and "SYS-RELAY-BUSY" not in obligation_ids(m)
    cites(violation(m, "relaySessionData", result="PSTN_CALL_INPROGRESS", params=RELAY),
          "SYS-RELAY-BUSY")


@covers(obeys=["SYS-PAYLOAD"], breaks=["SYS-PAYLOAD"])
def test_relay_payload_rules() -> None:
    m = initialized()
    m._fire("relaySessionData", result="PAYLOAD_ERROR", params={"payload": "garbage"})
    assert m.call_state is None
    other = {**RELAY, "subscriberName": "bob"}
    cites(violation(m, "relaySessionData", params=other), "SYS-PAYLOAD")
    m._fire("relaySessionData", result="INVALID_PARAMETER", params=other)
    m._fire("relaySessionData", params={**RELAY, "subscriberName": "alice"})
    assert m.call_state == CallState.NONE
    cites(violation(initialized(), "relaySessionData", result="NETWORK_ERROR", params=RELAY),
          "SYS-PAYLOAD")


@covers(obeys=["SYS-ONE-CALL"], breaks=["SYS-ONE-CALL"])
def test_lines_name_the_latest_call() -> None:
    m = outgoing(initialized())
    cites(violation(m, "onCallRinging", call="zz"), "SYS-ONE-CALL")
    cites(violation(m, "mute", call="zz"), "SYS-ONE-CALL")
    m._fire("onCallRinging")  # a line without a call id is fine
    ended(m)
    cites(violation(m, "dial", params=DIAL, call="c1"), "SYS-ONE-CALL")  # ids are not reused
    m._fire("relaySessionData", params=RELAY)
    cites(violation(m, "onIncomingCall", call="c1"), "SYS-ONE-CALL")
    m._fire("onIncomingCall", call="c2")
    assert m.v.call_id == "c2" and m.v.past_calls == frozenset({"c1"})


@covers(obeys=["SYS-STATE"], breaks=["SYS-STATE"])
def test_state_lines_are_judged_against_the_call_state() -> None:
    j = Judge()
    lines = [
        ("api", "initialize", None, {"subscriberName": "alice"}),
        ("callback", "onInitializationSuccess", None, None),
        ("api", "dial", "c1", DIAL),
        ("state", "OUTGOING_INITIATED", "c1", None),
        ("callback", "onCallInitiated", "c1", None),
        ("state", "EARLY", "c1", None),  # an unobserved 183 may have happened
        ("callback", "onCallEstablished", "c1", None),
        ("state", "ESTABLISHED", "c1", None),
    ]
    for n, (kind, name, call, args) in enumerate(lines, 1):
        assert j.feed(n, kind, name, call, args) is None, name
    found = j.feed(9, "state", "RINGING", "c1")
    assert found is not None and found.rule == "SYS-STATE"
    assert "ESTABLISHED" in found.message


@covers(breaks=["CALL-RELAY"])
def test_breaking_call_relay_surfaces_as_a_state_finding() -> None:
    j = Judge()
    for n, (kind, name, args) in enumerate([("api", "initialize", {"subscriberName": "alice"}),
                                            ("callback", "onInitializationSuccess", None),
                                            ("api", "relaySessionData", RELAY)], 1):
        assert j.feed(n, kind, name, None, args) is None
    found = j.feed(4, "state", "INCOMING")  # the relayed call must be in NONE
    assert found is not None and found.rule == SURFACES_AS["CALL-RELAY"]


# ============================================================================================
# API refusals
# ============================================================================================


@covers(obeys=["API-REFUSAL"], breaks=["API-REFUSAL"])
def test_a_refusal_no_rule_lists_is_a_violation() -> None:
    m = initialized()
    v = violation(m, "dial", result="SYSTEM_BUSY", params=DIAL)
    assert [r.id for r in v.rules] == ["API-REFUSAL"]
    v = violation(m, "stop", result="SYSTEM_BUSY")
    assert [r.id for r in v.rules] == ["API-REFUSAL"]
    m = outgoing_established(initialized())
    assert [r.id for r in violation(m, "mute", result="TONE_PLAYBACK_ERROR", call="c1").rules] == ["API-REFUSAL"]
    m._fire("stop", result="SYSTEM_BUSY")  # a listed refusal is accepted
    m._fire("mute", call="c1")
    assert m.call_state == CallState.ESTABLISHED


@covers(breaks=["API-REFUSAL"])
def test_violation_message_names_state_event_and_rule() -> None:
    m = initialized()
    v = violation(m, "dial", params={"remoteId": "x", "message": "hi!"}, call="c2")
    assert v.rules[0].id == "ARG-DIAL-MESSAGE" and v.event == "dial"
    text = str(v)
    assert "dial" in text and "ARG-DIAL-MESSAGE" in text and "4.3.1" in text
    assert "initialized" in text and "no_call" in text and "'!'" in text
    assert "no_call" in v.states and v.rule is v.rules[0]
    v = violation(m, "stop", result="SYSTEM_BUSY")
    assert "stop" in str(v) and "API-REFUSAL" in str(v) and "initialized" in str(v)


def test_public_fire_reports_the_same_violation_with_what_was_expected() -> None:
    m = initialized()
    before = m.key()
    with pytest.raises(SpecViolation) as e:
        m.fire("dial", params={"remoteId": "x", "message": "hi!"}, call="c2")
    assert e.value.rules[0].id == "ARG-DIAL-MESSAGE" and m.key() == before
    # allowed_events() tries each event with no arguments, so dial (which needs a remoteId)
    # is not listed
    assert "relaySessionData" in e.value.expected and "uploadLogs" in e.value.expected
    assert "hangup" not in e.value.expected and "onCallEnded" not in e.value.expected


def test_unknown_event_is_a_violation() -> None:
    v = violation(initialized(), "onCallExploded")
    assert v.rules == () and "not an event of the spec" in str(v)


# ============================================================================================
# lifecycle (4.2, 6, FACTS)
# ============================================================================================


@covers(obeys=["LC-INIT", "LC-INIT-OK"], breaks=["LC-INIT", "LC-INIT-OK"])
def test_initialize_then_success() -> None:
    m = ClientModel()
    cites(violation(m, "onInitializationSuccess"), "LC-INIT-OK")
    m._fire("initialize", params={"subscriberName": "alice"})
    assert m.in_state("initializing") and "LC-INIT" in obligation_ids(m)
    m._fire("onInitializationSuccess")
    assert m.in_state("initialized") and m.obligations() == []
    cites(violation(m, "onInitializationSuccess"), "LC-INIT-OK")
    m._fire("initialize", params={"subscriberName": "alice"})  # initializing again is allowed
    assert m.in_state("initializing")


@covers(obeys=["LC-INIT-FAIL", "LC-REINIT"], breaks=["LC-INIT-FAIL"])
def test_initialization_failure_and_retry() -> None:
    m = ClientModel()
    cites(violation(m, "onInitializationFailure", params={"error": "NETWORK_ERROR"}), "LC-INIT-FAIL")
    m._fire("initialize", params={"subscriberName": "alice"})
    m._fire("onInitializationFailure", params={"error": "NETWORK_ERROR"})
    assert m.in_state("init_failed")
    cites(violation(m, "onInitializationFailure"), "LC-INIT-FAIL")
    m._fire("initialize", params={"subscriberName": "alice"})
    m._fire("onInitializationSuccess")
    assert m.in_state("initialized")


@covers(obeys=["LC-AUTH-FAIL", "LC-REINIT", "LC-AUTH-CALL"], breaks=["LC-AUTH-FAIL"])
@pytest.mark.parametrize("error", ["AUTHENTICATION_INVALID_TOKEN", "AUTHENTICATION_EXPIRED_TOKEN"])
def test_authentication_failure_needs_a_new_token(error: str) -> None:
    m = initialized()
    cites(violation(m, "onAuthenticationFailure", params={"error": "NETWORK_ERROR"}), "LC-AUTH-FAIL")
    cites(violation(m, "onAuthenticationFailure"), "LC-AUTH-FAIL")
    m._fire("onAuthenticationFailure", params={"error": error})
    assert m.in_state("init_failed")
    m._fire("dial", result="SDK_UNINITIALIZED", params=DIAL)
    m._fire("initialize", params={"subscriberName": "alice", "token": "new"})
    m._fire("onInitializationSuccess")
    m._fire("dial", params=DIAL, call="c1")
    assert m.call_state == CallState.OUTGOING_INITIATED
    m2 = ClientModel()
    m2._fire("initialize", params={"subscriberName": "alice"})
    m2._fire("onAuthenticationFailure", params={"error": error})  # while initializing
    assert m2.in_state("init_failed")
    m2._fire("onAuthenticationFailure", params={"error": error})  # again, on a call attempt
    m3 = ClientModel()
    m3._fire("initialize", params={"subscriberName": "alice"})
    m3._fire("onInitializationFailure", params={"error": "NETWORK_ERROR"})
    cites(violation(m3, "onAuthenticationFailure", params={"error": error}), "LC-AUTH-FAIL")


@covers(obeys=["LC-REINIT"], breaks=["LC-REINIT"])
def test_after_an_authentication_failure_calls_may_be_accepted_or_refused() -> None:
    for result in ("ok", "SDK_UNINITIALIZED", "AUTHENTICATION_EXPIRED_TOKEN",
                   "AUTHENTICATION_INVALID_TOKEN"):
        m = initialized()
        m._fire("onAuthenticationFailure", params={"error": "AUTHENTICATION_EXPIRED_TOKEN"})
        m._fire("dial", result=result, params=DIAL, call="c1" if result == "ok" else None)
        assert (m.call_state == CallState.OUTGOING_INITIATED) == (result == "ok")
        m._fire("relaySessionData", result="SDK_UNINITIALIZED", params=RELAY)
    m = initialized()
    m._fire("onAuthenticationFailure", params={"error": "AUTHENTICATION_EXPIRED_TOKEN"})
    cites(violation(m, "dial", result="SYSTEM_BUSY", params=DIAL), "LC-REINIT")
    m._fire("dial", params=DIAL, call="c1")  # the platform refuses the token again...
    m._fire("onAuthenticationFailure", params={"error": "AUTHENTICATION_INVALID_TOKEN"})
    m._fire("onCallEnded", params={"endReason": "FAILURE"}, call="c1")  # ...and the call fails
    assert m.call_state == CallState.ENDED and m.obligations() == []


@covers(obeys=["LC-RESET", "LC-DEINIT"], breaks=["LC-RESET"])
def test_reset_returns_to_not_initialized() -> None:
    m = initialized()
    m._fire("reset")
    assert m.in_state("not_initialized")
    v = violation(m, "dial", params=DIAL, call="c1")
    assert v.rules[0].id == SURFACES_AS["LC-RESET"]
    m._fire("onDeinitialized")
    m = outgoing_established(initialized())
    m._fire("reset")  # ends the call too
    assert m.in_state("not_initialized") and m.call_state == CallState.ENDING
    m._fire("onCallEnded", params={"endReason": "LOCAL_HANGUP"}, call="c1")
    assert m.call_state == CallState.ENDED
    m = reach("NONE")
    m._fire("reset")
    assert m.call_state == CallState.ENDING


@covers(obeys=["LC-STOP"], breaks=["LC-STOP"])
def test_stop_only_without_a_call() -> None:
    m = outgoing(initialized())
    v = violation(m, "stop")
    assert v.rules[0].id == "LC-STOP"
    m._fire("stop", result="SYSTEM_BUSY")
    assert m.in_state("initialized") and m.call_state == CallState.OUTGOING_INITIATED
    ended(m)
    m._fire("stop")
    assert m.in_state("not_initialized")
    m._fire("onDeinitialized")


@covers(obeys=["LC-DEINIT"], breaks=["LC-DEINIT"])
def test_on_deinitialized_once_after_stop_or_reset() -> None:
    m = initialized()
    cites(violation(m, "onDeinitialized"), "LC-DEINIT")
    m._fire("stop")
    m._fire("onDeinitialized")
    cites(violation(m, "onDeinitialized"), "LC-DEINIT")
    m._fire("initialize", params={"subscriberName": "alice"})
    m._fire("reset")
    m._fire("onDeinitialized")
    cites(violation(m, "onDeinitialized"), "LC-DEINIT")
    cites(violation(ClientModel(), "onDeinitialized"), "LC-DEINIT")


@covers(obeys=["LOG-UPLOAD"], breaks=["LOG-UPLOAD"])
@pytest.mark.parametrize("answer", ["onUploadLogSuccess", "onUploadLogFailure"])
def test_upload_logs_is_answered_once(answer: str) -> None:
    m = initialized()
    cites(violation(m, answer), "LOG-UPLOAD")
    m._fire("uploadLogs", params={"startDate": "2024-01-01", "endDate": "2024-01-02"})
    assert m.in_state("logs_uploading") and "LOG-UPLOAD" in obligation_ids(m)
    m._fire("uploadLogs")  # a second upload in flight: it owes its own answer
    m._fire("uploadLogs", result="SYSTEM_BUSY")  # or refused: nothing owed for it
    assert m.v.uploads == 2
    args = {"error": "UPLOAD_LOG_FAILURE"} if "Failure" in answer else {}
    m._fire(answer, params=args)
    assert m.in_state("logs_uploading") and "LOG-UPLOAD" in obligation_ids(m)
    m._fire(answer, params=args)
    assert m.in_state("logs_idle") and m.obligations() == []
    cites(violation(m, "onUploadLogSuccess"), "LOG-UPLOAD")
    cites(violation(m, "onUploadLogFailure"), "LOG-UPLOAD")


@covers(obeys=["LOG-UNINIT"], breaks=["LOG-UNINIT"])
def test_upload_logs_before_initialization() -> None:
    m = ClientModel()
    m._fire("uploadLogs", result="SDK_UNINITIALIZED")
    assert m.in_state("logs_idle")
    m._fire("uploadLogs")  # permissive: accepted as well
    assert m.in_state("logs_uploading")
    cites(violation(ClientModel(), "uploadLogs", result="TONE_PLAYBACK_ERROR"), "LOG-UNINIT")


# ============================================================================================
# PSTN (4.8, 4.9)
# ============================================================================================


@covers(obeys=["PSTN-ENV"], breaks=["PSTN-ENV"])
def test_pstn_call_lifecycle() -> None:
    m = initialized()
    m._fire("pstnRinging")
    assert m.in_state("pstn_ringing") and m.pstn_in_progress
    m._fire("pstnAnswered")
    assert m.in_state("pstn_active")
    m._fire("pstnEnded")
    m._fire("pstnDialed")
    assert m.in_state("pstn_active")
    cites(violation(m, "pstnRinging"), "PSTN-ENV")
    m._fire("pstnEnded")
    m._fire("pstnRinging")
    m._fire("pstnEnded")  # the caller gave up
    assert m.in_state("pstn_idle")
    cites(violation(m, "pstnEnded"), "PSTN-ENV")
    cites(violation(m, "pstnAnswered"), "PSTN-ENV")


@covers(breaks=["PSTN-ENV"])
@pytest.mark.parametrize("callkit", [False, True])
def test_pstn_answered_needs_a_ringing_pstn_call_even_during_a_voip_call(callkit: bool) -> None:
    m = outgoing_established(initialized(callkit))
    v = violation(m, "pstnAnswered")
    assert v.rules[0].id == "PSTN-ENV"
    assert m.call_state == CallState.ESTABLISHED


@covers(obeys=["PSTN-NO-DIAL"], breaks=["PSTN-NO-DIAL"])
@pytest.mark.parametrize("callkit", [False, True])
@pytest.mark.parametrize("pstn", [["pstnRinging"], ["pstnRinging", "pstnAnswered"], ["pstnDialed"]])
def test_dial_is_refused_during_a_pstn_call(callkit: bool, pstn: list[str]) -> None:
    m = initialized(callkit)
    for ev in pstn:
        m._fire(ev)
    m._fire("dial", result="PSTN_CALL_INPROGRESS", params=DIAL)
    assert m.call_state is None
    v = violation(m, "dial", params=DIAL, call="c1")
    assert [r.id for r in v.rules] == ["PSTN-NO-DIAL"]
    cites(violation(m, "dial", result="SYSTEM_BUSY", params=DIAL), "PSTN-NO-DIAL")
    m._fire("pstnEnded")
    m._fire("dial", params=DIAL, call="c1")
    assert m.call_state == CallState.OUTGOING_INITIATED


@covers(obeys=["PSTN-AUTO-DECLINE"], breaks=["PSTN-AUTO-DECLINE"])
def test_without_callkit_a_push_during_pstn_is_declined_as_missed() -> None:
    m = initialized()
    m._fire("pstnDialed")
    m._fire("relaySessionData", params=RELAY)
    assert m.call_state is None and m.in_state("missed_due")
    assert "SYS-RELAY-BUSY" in obligation_ids(m)
    v = violation(m, "onIncomingCall", call="c2")
    assert v.rules[0].id == "PSTN-AUTO-DECLINE"
    m._fire("onMissedCall", params={"remoteId": "sip:9", "time": "1"})
    assert m.obligations() == [] and m.call_state is None
    # refused with PSTN_CALL_INPROGRESS: the report is still owed, never replaced
    m._fire("relaySessionData", result="PSTN_CALL_INPROGRESS", params=RELAY)
    assert "SYS-RELAY-BUSY" in obligation_ids(m)
    m._fire("onMissedCall", params={"remoteId": "sip:9", "time": "2"})
    assert m.obligations() == []
    cites(violation(m, "relaySessionData", result="SYSTEM_BUSY", params=RELAY), "PSTN-AUTO-DECLINE")


@covers(obeys=["SYS-RELAY-BUSY", "PSTN-AUTO-DECLINE"], breaks=["SYS-RELAY-BUSY"])
def test_each_declined_push_owes_its_own_missed_call() -> None:
    m = initialized()
    m._fire("pstnDialed")
    m._fire("relaySessionData", params=RELAY)
    m._fire("relaySessionData", result="PSTN_CALL_INPROGRESS", params=RELAY)
    assert m.v.missed_owed == 2
    m._fire("onMissedCall", params={"remoteId": "sip:a", "time": "1"})
    assert [r.id for r, _ in m.obligations()] == ["SYS-RELAY-BUSY"]
    m._fire("onMissedCall", params={"remoteId": "sip:b", "time": "2"})
    assert m.obligations() == []
    cites(violation(m, "onMissedCall", params={"remoteId": "sip:c", "time": "3"}), "CALL-MISSED")


@covers(obeys=["PSTN-AUTO-DECLINE"])
def test_while_pstn_only_rings_both_readings_are_allowed() -> None:
    m = initialized()
    m._fire("pstnRinging")
    m._fire("relaySessionData", params=RELAY)
    assert m.call_state == CallState.NONE
    trial = initialized()
    trial._fire("pstnRinging")
    trial._fire("relaySessionData", params=RELAY)
    trial._fire("onMissedCall")  # declined
    assert trial.call_state is None
    m._fire("onIncomingCall", call="c2")  # or the normal flow
    assert m.call_state == CallState.INCOMING


@covers(obeys=["PSTN-CALLKIT"])
def test_with_callkit_a_push_during_pstn_follows_the_normal_flow() -> None:
    m = initialized(callkit=True)
    m._fire("pstnDialed")
    m._fire("voipPushReceived", params=ck("u2"))
    m._fire("relaySessionData", params=RELAY)
    assert m.call_state == CallState.NONE and not m.in_state("missed_due")
    m._fire("reportNewIncomingCall", params=ck("u2"))
    m._fire("voipPushCompleted", params=ck("u2"))
    m._fire("onIncomingCall", call="c2")
    m._fire("CXAnswerCallAction", params=ck("u2"))
    m._fire("answer", call="c2")
    m._fire("actionFulfilled", params=ck("u2", action="CXAnswerCallAction"))
    m._fire("onCallEstablished", call="c2")
    assert m.call_state == CallState.ESTABLISHED and m.in_state("ck_active")


@covers(obeys=["PSTN-VOIP-CONTINUES"], breaks=["PSTN-VOIP-CONTINUES"])
@pytest.mark.parametrize("callkit", [False, True])
def test_voip_continues_when_the_pstn_call_is_declined(callkit: bool) -> None:
    m = outgoing_established(initialized(callkit))
    cites(violation(m, "pstnDeclined"), "PSTN-VOIP-CONTINUES")
    m._fire("pstnRinging")
    assert m.call_state == CallState.ESTABLISHED
    m._fire("pstnDeclined")
    assert m.call_state == CallState.ESTABLISHED and m.in_state("pstn_idle")
    m._fire("onMediaDisrupted", call="c1")
    m._fire("onCallEstablished", call="c1")
    ended(m)
    m._fire("dial", params=DIAL, call="c2")  # no PSTN call left
    assert m.call_state == CallState.OUTGOING_INITIATED


@covers(obeys=["PSTN-VOIP-TERMINATED"], breaks=["PSTN-VOIP-TERMINATED"])
@pytest.mark.parametrize("reason", ["PSTN_HANGUP", "NONE", None])
@pytest.mark.parametrize("where", ["RINGING", "INCOMING", "ANSWERING", "ESTABLISHED",
                                   "MEDIA_DISRUPTED"])
def test_without_callkit_an_accepted_pstn_call_ends_the_voip_call(where: str,
                                                                  reason: str | None) -> None:
    m = reach(where)
    call = m.v.call_id
    m._fire("pstnRinging")
    assert m.call_state == CallState(where)
    m._fire("pstnAnswered")
    assert m.call_state == CallState.ENDING and m.in_state("pstn_active")
    assert m.system_state == "IN_CALL"
    for wrong in ("LOCAL_HANGUP", "REMOTE_HANGUP"):
        cites(violation(m, "onCallEnded", params={"endReason": wrong}, call=call), "CALL-ENDED-LOCAL")
    m._fire("onCallEnded", params={"endReason": reason} if reason else {}, call=call)
    assert m.call_state == CallState.ENDED
    v = violation(m, "dial", params=DIAL, call="c9")  # the PSTN call is still on
    assert [r.id for r in v.rules] == ["PSTN-NO-DIAL"]


@covers(breaks=["PSTN-VOIP-TERMINATED"])
def test_pstn_hangup_reason_without_an_accepted_pstn_call() -> None:
    m = outgoing_established(initialized())
    v = violation(m, "onCallEnded", params={"endReason": "PSTN_HANGUP"}, call="c1")
    assert v.rules[0].id == "PSTN-VOIP-TERMINATED"


@covers(obeys=["PSTN-CALLKIT", "CK-HOLD"], breaks=["PSTN-CALLKIT"])
def test_with_callkit_an_accepted_pstn_call_leaves_the_voip_call_established() -> None:
    m = outgoing_established(initialized(callkit=True), uuid="u1")
    m._fire("pstnRinging")
    m._fire("CXSetHeldCallAction", params=ck())
    m._fire("actionFulfilled", params=ck(action="CXSetHeldCallAction"))
    m._fire("pstnAnswered")
    assert m.call_state == CallState.ESTABLISHED and m.in_state("pstn_active")
    v = violation(m, "onCallEnded", params={"endReason": "PSTN_HANGUP"}, call="c1")
    assert v.rules[0].id == "PSTN-CALLKIT"
    m._fire("pstnEnded")
    m._fire("CXSetHeldCallAction", params=ck())  # unhold
    m._fire("actionFulfilled", params=ck(action="CXSetHeldCallAction"))
    assert m.call_state == CallState.ESTABLISHED and obligation_ids(m) == {"CALL-ENDED-TERMINAL"}


# ============================================================================================
# CallKit (4.3.3, 4.9, FACTS)
# ============================================================================================


@covers(obeys=["CK-MODE"], breaks=["CK-MODE"])
@pytest.mark.parametrize("event", CallKit.names())
def test_callkit_lines_need_a_callkit_trace(event: str) -> None:
    m = outgoing_established(initialized(callkit=False))
    v = violation(m, event, params=ck(action="CXEndCallAction"))
    assert [r.id for r in v.rules] == ["CK-MODE"]
    m = initialized(callkit=True)
    m._fire("voipPushReceived", params=ck())  # a CallKit trace accepts CallKit lines
    assert m.in_state("pk_open")


@covers(obeys=["CK-START", "CK-ONE-UUID", "CK-ACTION-ONCE", "CK-REPORT-CONNECTING",
               "CK-REPORT-CONNECTED", "CK-END"])
def test_callkit_outgoing_call() -> None:
    m = initialized(callkit=True)
    m._fire("dial", params=DIAL, call="c1")
    m._fire("CXStartCallAction", params=ck())
    assert m.in_state("ck_outgoing") and m.v.ck_uuid == "u1" and m.v.ck_pending == "CXStartCallAction"
    assert "CK-ACTION-ONCE" in obligation_ids(m)
    m._fire("actionFulfilled", params=ck(action="CXStartCallAction"))
    assert m.v.ck_pending is None
    m._fire("onCallInitiated", call="c1")
    m._fire("onCallRinging", call="c1")
    m._fire("reportOutgoingCallStartedConnecting", params=ck())
    m._fire("onCallEstablished", call="c1")
    m._fire("reportOutgoingCallConnected", params=ck())
    assert m.in_state("ck_active")
    m._fire("CXEndCallAction", params=ck())
    m._fire("hangup", call="c1")
    m._fire("actionFulfilled", params=ck(action="CXEndCallAction"))
    assert m.in_state("ck_idle") and m.v.ck_uuid is None
    m._fire("onCallEnded", params={"endReason": "LOCAL_HANGUP"}, call="c1")
    assert m.obligations() == []


@covers(breaks=["CK-START"])
def test_callkit_start_needs_a_dialled_call() -> None:
    m = initialized(callkit=True)
    cites(violation(m, "CXStartCallAction", params=ck()), "CK-START")
    incoming(m)
    cites(violation(m, "CXStartCallAction", params=ck()), "CK-START")


@covers(obeys=["CK-ACTION-ONCE"])
def test_a_failed_start_frees_the_uuid() -> None:
    m = initialized(callkit=True)
    m._fire("dial", params=DIAL, call="c1")
    m._fire("CXStartCallAction", params=ck())
    m._fire("actionFailed", params=ck(action="CXStartCallAction"))
    assert m.in_state("ck_idle") and m.v.ck_uuid is None and m.v.ck_pending is None
    m._fire("CXStartCallAction", params=ck("u2"))
    assert m.v.ck_uuid == "u2"


@covers(obeys=["CK-SECOND-CALL"], breaks=["CK-ONE-UUID", "CK-SECOND-CALL"])
def test_one_callkit_uuid_per_call_and_a_second_only_for_a_push() -> None:
    m = outgoing_established(initialized(callkit=True), uuid="u1")
    for event, params in [("CXEndCallAction", ck("u2")), ("CXSetMutedCallAction", ck("u2")),
                          ("reportCallEnded", ck("u2")),
                          ("actionFulfilled", ck("u2", action="CXStartCallAction"))]:
        cites(violation(m, event, params=params), "CK-ONE-UUID")
    # no VoIP push open: no second CallKit call
    cites(violation(m, "reportNewIncomingCall", params=ck("u2")), "CK-ONE-UUID")
    # a VoIP push during the call is reported under a second UUID (Apple's PushKit rule)
    m._fire("voipPushReceived", params=ck("u2"))
    cites(violation(m, "reportNewIncomingCall", params=ck("u1")), "CK-ONE-UUID")
    m._fire("reportNewIncomingCall", params=ck("u2"))
    m._fire("voipPushCompleted", params=ck("u2"))
    assert m.v.ck_second == "u2" and "CK-SECOND-CALL" in obligation_ids(m)
    m._fire("relaySessionData", params=RELAY)  # the SDK declines it: onMissedCall owed
    m._fire("onMissedCall", params={"remoteId": "sip:b", "time": "1"})
    m._fire("CXEndCallAction", params=ck("u2"))  # the user or app ends it: no SDK hangup
    m._fire("actionFulfilled", params=ck("u2", action="CXEndCallAction"))
    assert m.v.ck_second is None and m.call_state == CallState.ESTABLISHED
    assert m.in_state("ck_active") and m.v.ck_uuid == "u1"
    # or it is reported ended
    m._fire("voipPushReceived", params=ck("u3"))
    m._fire("reportNewIncomingCall", params=ck("u3"))
    m._fire("voipPushCompleted", params=ck("u3"))
    m._fire("relaySessionData", result="SYSTEM_BUSY", params=RELAY)
    cites(violation(m, "reportCallEnded", params=ck("u4")), "CK-ONE-UUID")
    m._fire("reportCallEnded", params=ck("u3"))
    assert m.v.ck_second is None and "CK-SECOND-CALL" not in obligation_ids(m)


@covers(breaks=["CK-ACTION-ONCE"])
def test_every_action_is_fulfilled_or_failed_exactly_once() -> None:
    m = outgoing_established(initialized(callkit=True), uuid="u1")
    cites(violation(m, "actionFulfilled", params=ck(action="CXStartCallAction")), "CK-ACTION-ONCE")
    m._fire("CXSetMutedCallAction", params=ck())
    cites(violation(m, "CXSetHeldCallAction", params=ck()), "CK-ACTION-ONCE")  # one pending
    cites(violation(m, "actionFulfilled", params=ck(action="CXSetHeldCallAction")), "CK-ACTION-ONCE")
    cites(violation(m, "actionFailed", params=ck(action="CXEndCallAction")), "CK-ACTION-ONCE")
    assert "CK-ACTION-ONCE" in obligation_ids(m)  # owed at the end of a trace
    m._fire("actionFailed", params=ck(action="CXSetMutedCallAction"))
    cites(violation(m, "actionFailed", params=ck(action="CXSetMutedCallAction")), "CK-ACTION-ONCE")
    cites(violation(m, "actionFulfilled", params=ck(action="CXSetMutedCallAction")), "CK-ACTION-ONCE")


@covers(obeys=["CK-ANSWER", "CK-REPORT-INCOMING"], breaks=["CK-ANSWER"])
def test_callkit_answer_calls_answer_then_fulfils() -> None:
    m = incoming(initialized(callkit=True), uuid="u1")
    assert m.in_state("ck_incoming")
    m._fire("CXAnswerCallAction", params=ck())
    v = violation(m, "actionFulfilled", params=ck(action="CXAnswerCallAction"))
    assert v.rules[0].id == "CK-ANSWER"
    m._fire("answer", call="c2")
    assert m.call_state == CallState.ANSWERING
    m._fire("actionFulfilled", params=ck(action="CXAnswerCallAction"))
    assert m.in_state("ck_active") and m.v.ck_pending is None
    m._fire("onCallEstablished", call="c2")
    m2 = outgoing_established(initialized(callkit=True), uuid="u1")
    cites(violation(m2, "CXAnswerCallAction", params=ck()), "CK-ANSWER")


@covers(obeys=["CK-END"], breaks=["CK-END"])
@pytest.mark.parametrize("where", ["incoming", "outgoing", "active"])
def test_callkit_end_calls_hangup_then_fulfils(where: str) -> None:
    m = initialized(callkit=True)
    if where == "incoming":
        incoming(m, uuid="u1")  # reject
        call = "c2"
    elif where == "outgoing":
        outgoing(m, uuid="u1")
        call = "c1"
    else:
        outgoing_established(m, uuid="u1")
        call = "c1"
    m._fire("CXEndCallAction", params=ck())
    v = violation(m, "actionFulfilled", params=ck(action="CXEndCallAction"))
    assert v.rules[0].id == "CK-END"
    m._fire("hangup", call=call)
    assert m.call_state == CallState.ENDING
    m._fire("actionFulfilled", params=ck(action="CXEndCallAction"))
    assert m.in_state("ck_idle")
    m._fire("onCallEnded", params={"endReason": "LOCAL_HANGUP"}, call=call)
    assert m.obligations() == []
    cites(violation(m, "CXEndCallAction", params=ck()), "CK-END")


@covers(obeys=["CK-MUTE", "AUDIO-LIVE"], breaks=["CK-MUTE"])
@pytest.mark.parametrize("op", ["mute", "unmute"])
def test_callkit_mute_maps_to_mute(op: str) -> None:
    m = outgoing_established(initialized(callkit=True), uuid="u1")
    m._fire("CXSetMutedCallAction", params=ck())
    m._fire(op, call="c1")
    assert m.v.ck_sdk_done
    m._fire("actionFulfilled", params=ck(action="CXSetMutedCallAction"))
    assert m.v.ck_pending is None and m.call_state == CallState.ESTABLISHED
    cites(violation(initialized(callkit=True), "CXSetMutedCallAction", params=ck()), "CK-MUTE")
    m = incoming(initialized(callkit=True), uuid="u1")
    cites(violation(m, "CXSetMutedCallAction", params=ck()), "CK-MUTE")


@covers(breaks=["CK-HOLD"])
def test_callkit_hold_needs_an_active_callkit_call() -> None:
    cites(violation(initialized(callkit=True), "CXSetHeldCallAction", params=ck()), "CK-HOLD")


@covers(obeys=["CK-REPORT-INCOMING", "CK-PUSH"], breaks=["CK-REPORT-INCOMING"])
def test_report_new_incoming_call_after_on_incoming_call_or_a_push() -> None:
    m = initialized(callkit=True)
    cites(violation(m, "reportNewIncomingCall", params=ck()), "CK-REPORT-INCOMING")
    m._fire("relaySessionData", params=RELAY)
    m._fire("reportNewIncomingCall", params=ck())  # a relayed push, before onIncomingCall
    assert m.in_state("ck_incoming")
    m = outgoing(initialized(callkit=True))
    cites(violation(m, "reportNewIncomingCall", params=ck()), "CK-REPORT-INCOMING")


@covers(obeys=["CK-PUSH"], breaks=["CK-PUSH"])
def test_a_voip_push_is_reported_before_its_handler_completes() -> None:
    m = initialized(callkit=True)
    cites(violation(m, "voipPushCompleted", params=ck()), "CK-PUSH")
    m._fire("voipPushReceived", params=ck())
    assert "CK-PUSH" in obligation_ids(m)
    v = violation(m, "voipPushCompleted", params=ck())
    assert v.rules[0].id == "CK-PUSH"
    m._fire("reportNewIncomingCall", params=ck())  # no onIncomingCall yet: the push suffices
    assert m.in_state("pk_reported") and m.in_state("ck_incoming")
    m._fire("voipPushCompleted", params=ck())
    assert m.in_state("pk_idle") and "CK-PUSH" not in obligation_ids(m)


@covers(breaks=["CK-REPORT-CONNECTING", "CK-REPORT-CONNECTED"])
def test_outgoing_reports_follow_the_sdk_callbacks() -> None:
    m = outgoing(initialized(callkit=True), uuid="u1")
    cites(violation(m, "reportOutgoingCallStartedConnecting", params=ck()), "CK-REPORT-CONNECTING")
    cites(violation(m, "reportOutgoingCallConnected", params=ck()), "CK-REPORT-CONNECTED")
    m._fire("onCallRinging", call="c1")
    cites(violation(m, "reportOutgoingCallConnected", params=ck()), "CK-REPORT-CONNECTED")
    m._fire("reportOutgoingCallStartedConnecting", params=ck())
    m._fire("onCallEstablished", call="c1")
    m._fire("reportOutgoingCallConnected", params=ck())
    cites(violation(m, "reportOutgoingCallConnected", params=ck()), "CK-REPORT-CONNECTED")
    cites(violation(m, "reportOutgoingCallStartedConnecting", params=ck()), "CK-REPORT-CONNECTING")


@covers(obeys=["CK-REPORT-ENDED"], breaks=["CK-REPORT-ENDED"])
def test_a_call_ended_from_the_network_is_reported_to_callkit() -> None:
    m = outgoing_established(initialized(callkit=True), uuid="u1")
    m._fire("onCallEnded", params={"endReason": "REMOTE_HANGUP"}, call="c1")
    m._fire("reportCallEnded", params=ck())
    assert m.in_state("ck_idle") and m.v.ck_uuid is None
    cites(violation(m, "reportCallEnded", params=ck()), "CK-REPORT-ENDED")
    m._fire("dial", params=DIAL, call="c2")
    m._fire("CXStartCallAction", params=ck("u2"))  # the UUID was freed
    assert m.v.ck_uuid == "u2"


@covers(obeys=["CK-RESET"], breaks=["CK-RESET"])
def test_provider_did_reset_drops_callkit_and_owes_a_hangup() -> None:
    m = outgoing_established(initialized(callkit=True), uuid="u1")
    m._fire("CXSetMutedCallAction", params=ck())
    m._fire("providerDidReset")
    assert m.in_state("ck_idle") and m.v.ck_pending is None and m.v.ck_uuid is None
    assert "CK-RESET" in obligation_ids(m)  # breaking it: the trace ends without a hangup
    m._fire("hangup", call="c1")
    assert "CK-RESET" not in obligation_ids(m)
    m._fire("onCallEnded", params={"endReason": "LOCAL_HANGUP"}, call="c1")
    assert m.obligations() == []
    m = initialized(callkit=True)
    m._fire("providerDidReset")  # nothing to drop
    assert m.obligations() == []


# ============================================================================================
# arguments and audio (4.3.1, 4.4, 4.11, 5.2, 9.3)
# ============================================================================================


@covers(obeys=["ARG-DIAL-MESSAGE"])
@pytest.mark.parametrize("message", ["order:42", "{a}(b)[c],:1", "ABCxyz0123456789", "", None,
                                     "{}()[],:"])
def test_dial_message_allowed_characters(message: str | None) -> None:
    m = initialized()
    params = {"remoteId": "sip:1"} if message is None else {"remoteId": "sip:1", "message": message}
    m._fire("dial", params=params, call="c1")
    assert m.call_state == CallState.OUTGOING_INITIATED


@covers(breaks=["ARG-DIAL-MESSAGE"])
@pytest.mark.parametrize("message", ["hi!", "hi there", "a;b", "a/b", "a-b", "a_b", "x<y>",
                                     "naïve", "a.b", "a\nb", 42])
def test_dial_message_refused_characters(message: object) -> None:
    m = initialized()
    v = violation(m, "dial", params={"remoteId": "sip:1", "message": message}, call="c1")
    assert [r.id for r in v.rules] == ["ARG-DIAL-MESSAGE"]
    for err in ("INVALID_PARAMETER", "INVALID_DIAL_INFO"):
        m._fire("dial", result=err, params={"remoteId": "sip:1", "message": message})
    assert m.call_state is None
    cites(violation(m, "dial", result="NETWORK_ERROR", params={"remoteId": "sip:1", "message": message}),
          "ARG-DIAL-MESSAGE")


@covers(obeys=["ARG-DIAL-REMOTE"], breaks=["ARG-DIAL-REMOTE"])
@pytest.mark.parametrize("remote", ["", "   ", None])
def test_dial_needs_a_remote_id(remote: str | None) -> None:
    m = initialized()
    params = {} if remote is None else {"remoteId": remote}
    cites(violation(m, "dial", params=params, call="c1"), "ARG-DIAL-REMOTE")
    m._fire("dial", result="INVALID_DIAL_INFO", params=params)
    m._fire("dial", result="INVALID_PARAMETER", params=params)
    m._fire("dial", params={"remoteId": "sip:08040408080"}, call="c1")
    assert m.call_state == CallState.OUTGOING_INITIATED


@covers(obeys=["ARG-RATING", "ARG-ISSUE", "ARG-FEEDBACK-ENDED"])
@pytest.mark.parametrize("rating", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("issue", CallIssue.names())
def test_feedback_on_an_ended_call(rating: int, issue: str) -> None:
    m = ended(outgoing_established(initialized()))
    m._fire("postFeedback", params={"rating": rating, "issue": issue}, call="c1")
    assert m.call_state == CallState.ENDED


@covers(breaks=["ARG-RATING"])
@pytest.mark.parametrize("rating", [0, 6, 7, -1, "3", 3.0, True, None])
def test_feedback_rating_must_be_1_to_5(rating: object) -> None:
    m = ended(outgoing(initialized()))
    v = violation(m, "postFeedback", params={"rating": rating, "issue": "ECHO"}, call="c1")
    assert [r.id for r in v.rules] == ["ARG-RATING"]
    m._fire("postFeedback", result="INVALID_PARAMETER", params={"rating": rating, "issue": "ECHO"}, call="c1")


@covers(breaks=["ARG-ISSUE"])
@pytest.mark.parametrize("issue", ["LOUD", "echo", "", None, 3])
def test_feedback_issue_must_be_a_call_issue(issue: object) -> None:
    m = ended(outgoing(initialized()))
    v = violation(m, "postFeedback", params={"rating": 3, "issue": issue}, call="c1")
    assert [r.id for r in v.rules] == ["ARG-ISSUE"]


@covers(obeys=["ARG-FEEDBACK-ENDED"], breaks=["ARG-FEEDBACK-ENDED"])
@pytest.mark.parametrize("state", ["OUTGOING_INITIATED", "INCOMING", "ESTABLISHED", "ENDING"])
def test_feedback_only_for_an_ended_call(state: str) -> None:
    m = reach(state)
    v = violation(m, "postFeedback", params=FEEDBACK, call=m.v.call_id)
    assert v.rules[0].id == "ARG-FEEDBACK-ENDED"
    m._fire("postFeedback", result="INVALID_PARAMETER", params=FEEDBACK, call=m.v.call_id)
    cites(violation(initialized(), "postFeedback", params=FEEDBACK, call="c1"), "ARG-FEEDBACK-ENDED")


@covers(obeys=["ARG-SUBSCRIBER", "LC-INIT-FAIL"], breaks=["ARG-SUBSCRIBER"])
@pytest.mark.parametrize("name", ["a" * 16, "a" * 17, "alice bob", "alice!", "ünïcode", "", "名前"])
def test_a_bad_subscriber_name_never_reaches_initialization_success(name: str) -> None:
    m = ClientModel()
    m._fire("initialize", result="INVALID_PARAMETER", params={"subscriberName": name})
    assert m.in_state("not_initialized")
    m._fire("initialize", params={"subscriberName": name})  # or accepted, then failing
    v = violation(m, "onInitializationSuccess")
    assert [r.id for r in v.rules] == ["ARG-SUBSCRIBER"]
    m._fire("onInitializationFailure", params={"error": "INVALID_PARAMETER"})
    assert m.in_state("init_failed")


@covers(obeys=["ARG-SUBSCRIBER"])
@pytest.mark.parametrize("name", ["alice", "a" * 15, "Agent007", "9"])
def test_a_good_subscriber_name_initializes(name: str) -> None:
    m = ClientModel()
    m._fire("initialize", params={"subscriberName": name})
    m._fire("onInitializationSuccess")
    assert m.in_state("initialized")
    cites(violation(ClientModel(), "initialize", result="INVALID_PARAMETER",
                    params={"subscriberName": name}), "API-REFUSAL")


@covers(obeys=["ARG-DTMF"], breaks=["ARG-DTMF"])
def test_dtmf_digits() -> None:
    m = outgoing_established(initialized())
    for d in "0123456789*#":
        m._fire("sendDtmf", params={"digit": d}, call="c1")
    for d in ("x", "55", "", None, 5):
        cites(violation(m, "sendDtmf", params={"digit": d}, call="c1"), "ARG-DTMF")
    m._fire("sendDtmf", result="INVALID_PARAMETER", params={"digit": "x"}, call="c1")
    assert m.call_state == CallState.ESTABLISHED


@covers(obeys=["AUDIO-LIVE"], breaks=["AUDIO-LIVE"])
@pytest.mark.parametrize("op", ["mute", "unmute", "enableSpeaker", "disableSpeaker",
                                "disableBluetooth", "sendDtmf"])
def test_audio_controls_only_on_a_live_call(op: str) -> None:
    params = {"digit": "1"} if op == "sendDtmf" else {}
    for state in ("OUTGOING_INITIATED", "RINGING", "INCOMING", "ESTABLISHED", "RENEWING_MEDIA"):
        m = reach(state)
        m._fire(op, params=params, call=m.v.call_id)
        assert m.call_state == CallState(state)
        cites(violation(m, op, result="TONE_PLAYBACK_ERROR", params=params, call=m.v.call_id),
              "API-REFUSAL")
    for m in (initialized(), reach("NONE"), reach("ENDING"), reach("ENDED")):
        before = m.call_state
        m._fire(op, result="TONE_PLAYBACK_ERROR", params=params, call=m.v.call_id)  # any ErrorType
        m._fire(op, params=params, call=m.v.call_id)  # or a no-op (FACTS: mute... never throw)
        assert m.call_state == before


@covers(obeys=["AUDIO-BT", "AUDIO-BT-ENV"], breaks=["AUDIO-BT", "AUDIO-BT-ENV"])
def test_enable_bluetooth_needs_a_connected_device() -> None:
    m = outgoing_established(initialized())
    m._fire("enableBluetooth", result="INVALID_PARAMETER", call="c1")  # refused...
    m._fire("enableBluetooth", call="c1")  # ...or accepted with the route unchanged
    m._fire("getAudioRoute", params={"route": "EARPIECE"}, call="c1")
    cites(violation(m, "getAudioRoute", params={"route": "BLUETOOTH"}, call="c1"), "AUDIO-ROUTE")
    cites(violation(m, "bluetoothDisconnected"), "AUDIO-BT-ENV")
    m._fire("bluetoothConnected")
    cites(violation(m, "bluetoothConnected"), "AUDIO-BT-ENV")
    m._fire("enableBluetooth", call="c1")
    m._fire("getAudioRoute", params={"route": "BLUETOOTH"}, call="c1")
    m._fire("disableBluetooth", call="c1")
    m._fire("getAudioRoute", params={"route": "EARPIECE"}, call="c1")
    m._fire("bluetoothDisconnected")
    assert m.in_state("bt_off")
    # a refusal must name a cause the spec knows: AUDIO-BT lists none, any ErrorType is allowed
    m._fire("enableBluetooth", result="TONE_PLAYBACK_ERROR", call="c1")
    # breaking it shows as a route the guide does not give
    m = outgoing_established(initialized())
    m._fire("enableBluetooth", call="c1")  # no device: the route stays
    v = violation(m, "getAudioRoute", params={"route": "BLUETOOTH"}, call="c1")
    assert v.rules[0].id == SURFACES_AS["AUDIO-BT"]


@covers(obeys=["NET-ENV"], breaks=["NET-ENV"])
def test_network_lost_and_restored() -> None:
    m = initialized()
    cites(violation(m, "networkRestored"), "NET-ENV")
    m._fire("networkLost")
    cites(violation(m, "networkLost"), "NET-ENV")
    m._fire("dial", result="NETWORK_ERROR", params=DIAL)  # may refuse
    m._fire("dial", params=DIAL, call="c1")  # or accept and fail later
    m._fire("onCallFailed", params={"error": "NETWORK_ERROR"}, call="c1")
    m._fire("networkRestored")
    cites(violation(m, "dial", result="NETWORK_ERROR", params=DIAL), "API-REFUSAL")
    m = outgoing_established(initialized())
    m._fire("networkLost")
    m._fire("onMediaDisrupted", call="c1")
    m._fire("onCallEnded", params={"endReason": "MEDIA_TIMEOUT"}, call="c1")
    assert m.call_state == CallState.ENDED


# ============================================================================================
# a few sanity checks of the vocabulary the tests rely on
# ============================================================================================


def test_vocabulary_sanity() -> None:
    assert set(CALLKIT_ACTIONS) <= set(CallKit.names())
    assert "PSTN_CALL_INPROGRESS" in ErrorType.names()


# ============================================================================================
# the guide read clause by clause (issue: spec fidelity)
# ============================================================================================


@covers(obeys=["API-ENVIRONMENT"], breaks=["API-ENVIRONMENT"])
def test_any_operation_may_be_refused_for_a_missing_permission_or_an_internal_error() -> None:
    m = outgoing_established(initialized())
    for op, params in (("mute", {}), ("hangup", {}), ("sendDtmf", {"digit": "1"})):
        for err in ("MISSING_PERMISSION", "INTERNAL_ERROR"):
            m._fire(op, result=err, params=params, call="c1")
    assert m.call_state == CallState.ESTABLISHED
    m = initialized()
    m._fire("dial", result="MISSING_PERMISSION", params=DIAL)
    m._fire("uploadLogs", result="INTERNAL_ERROR")
    v = violation(m, "dial", result="TONE_PLAYBACK_ERROR", params=DIAL)
    assert v.rules[0].id == SURFACES_AS["API-ENVIRONMENT"] and "MISSING_PERMISSION" not in str(v)


@covers(obeys=["ARG-LOG-DATES"], breaks=["ARG-LOG-DATES"])
def test_an_upload_whose_start_is_after_its_end_is_refused() -> None:
    m = initialized()
    bad = {"startDate": "2024-02-01T00:00:00Z", "endDate": "2024-01-01T00:00:00Z"}
    cites(violation(m, "uploadLogs", params=bad), "ARG-LOG-DATES")
    m._fire("uploadLogs", result="INVALID_PARAMETER", params=bad)
    assert m.v.uploads == 0 and m.obligations() == []
    m._fire("uploadLogs", params={"startDate": 1700000000, "endDate": 1700003600})
    m._fire("uploadLogs", params={"startDate": "yesterday", "endDate": "today"})  # not judged
    assert m.v.uploads == 2


@covers(obeys=["AUDIO-ROUTE", "AUDIO-WIRED-ENV"], breaks=["AUDIO-ROUTE", "AUDIO-WIRED-ENV"])
def test_the_audio_route_follows_devices_and_choices() -> None:
    m = outgoing_established(initialized())
    route = lambda r: m._fire("getAudioRoute", params={"route": r}, call="c1")  # noqa: E731
    route("EARPIECE")
    cites(violation(m, "getAudioRoute", params={"route": "SPEAKER"}, call="c1"), "AUDIO-ROUTE")
    cites(violation(m, "wiredHeadsetDisconnected"), "AUDIO-WIRED-ENV")
    m._fire("wiredHeadsetConnected")
    cites(violation(m, "wiredHeadsetConnected"), "AUDIO-WIRED-ENV")
    route("HEADPHONES")  # automatically
    cites(violation(m, "getAudioRoute", params={"route": "EARPIECE"}, call="c1"), "AUDIO-ROUTE")
    m._fire("enableSpeaker", call="c1")
    route("SPEAKER")
    m._fire("disableSpeaker", call="c1")
    route("HEADPHONES")
    m._fire("bluetoothConnected")
    route("BLUETOOTH")  # two devices: either (permissive)
    route("HEADPHONES")
    m._fire("wiredHeadsetDisconnected")
    route("BLUETOOTH")
    m._fire("disableBluetooth", call="c1")
    route("EARPIECE")
    m._fire("bluetoothDisconnected")
    route("EARPIECE")
    cites(violation(m, "getAudioRoute", params={"route": "LOUD"}, call="c1"), "AUDIO-ROUTE")


@covers(obeys=["LC-INIT-DELAY"], breaks=["LC-INIT-DELAY"])
def test_initialization_delay_only_while_initializing() -> None:
    m = ClientModel()
    cites(violation(m, "onInitializationDelay"), "LC-INIT-DELAY")
    m._fire("initialize", params={"subscriberName": "alice"})
    m._fire("onInitializationDelay")
    m._fire("onInitializationSuccess")
    cites(violation(m, "onInitializationDelay"), "LC-INIT-DELAY")


@covers(obeys=["LISTENER-LOG"], breaks=["LISTENER-LOG"])
def test_on_log_anywhere_with_a_log_level() -> None:
    for m in (ClientModel(), initialized(), outgoing_established(initialized()),
              ended(outgoing(initialized()))):
        before = m.leaf_states()
        m._fire("onLog", params={"level": "DEBUG", "tag": "sip", "message": "INVITE sent"})
        m._fire("onLog")
        assert m.leaf_states() == before
        cites(violation(m, "onLog", params={"level": "LOUD"}), "LISTENER-LOG")


@covers(obeys=["VOCAB-SHIPPING"], breaks=["VOCAB-SHIPPING"])
def test_the_shipping_sdks_names_stand_for_the_guides() -> None:
    m = ClientModel()
    m._fire("initialize", params={"subscriberName": "alice"})
    m._fire("onAlreadyIntialized")
    assert m.in_state("initialized")
    m._fire("onDestroyMediaSession")
    m = outgoing_established(initialized())
    m._fire("onCallDisrupted", call="c1")
    assert m.call_state == CallState.MEDIA_DISRUPTED
    m._fire("onCallRenewed", call="c1")
    assert m.call_state == CallState.ESTABLISHED
    cites(violation(m, "onCallRenewed", call="c1"), "VOCAB-SHIPPING")
    cites(violation(outgoing(initialized()), "onCallDisrupted", call="c1"), "VOCAB-SHIPPING")

