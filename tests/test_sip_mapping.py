"""exovoice.reference.sip.mapping and exovoice.reference.sip.stats.RtpWatch: pure, no pjsua2 needed."""

from __future__ import annotations

import pytest

from exovoice.reference.sip.mapping import (
    ANSWER_CODE_FOR,
    STATE_NAMES,
    InviteUpdate,
    failure_event,
    network_event,
    state_name,
)
from exovoice.reference.sip.stats import RtpWatch
from exovoice.spec.vocabulary import Network

NETWORK = {n.value for n in Network}


def up(state, code=0, role="uac", **kw):
    return network_event(InviteUpdate(role=role, state=state, code=code, **kw))


def test_state_names_follow_pjsip_enum():
    assert [STATE_NAMES[i] for i in range(7)] == [
        "NULL", "CALLING", "INCOMING", "EARLY", "CONNECTING", "CONFIRMED", "DISCONNECTED"
    ]
    assert state_name(3) == "EARLY"
    assert state_name("PJSIP_INV_STATE_CONFIRMED") == "CONFIRMED"
    with pytest.raises(ValueError):
        state_name(9)


@pytest.mark.parametrize(
    "state,code,expected",
    [
        ("NULL", 0, None),
        ("CALLING", 0, "net_call_sent"),
        ("EARLY", 180, "net_ringing"),
        ("EARLY", 183, "net_early_media"),
        ("EARLY", 181, None),
        ("CONNECTING", 200, "net_connecting"),
        ("CONFIRMED", 200, "net_answered"),
    ],
)
def test_progress_states(state, code, expected):
    assert up(state, code) == expected


@pytest.mark.parametrize(
    "code,reason,provisional,expected",
    [
        (486, "Busy Here", False, "net_busy"),
        (600, "Busy Everywhere", False, "net_busy"),
        (603, "Decline", True, "net_remote_hangup"),  # the callee rejected the ringing call
        (480, "Temporarily Unavailable", False, "net_unreachable"),
        (404, "Not Found", False, "net_unreachable"),
        (408, "Request Timeout", False, "net_unreachable"),
        (408, "Request Timeout", True, "net_no_answer"),
        (503, "Service Unavailable", False, "net_congestion"),
        (429, "Too Many Requests", False, "net_congestion"),
        (503, "Transport failure", False, "net_failure"),
        (500, "Server Internal Error", False, "net_failure"),
        (502, "Bad Gateway", False, "net_failure"),
        (403, "Forbidden", False, "net_failure"),
    ],
)
def test_unanswered_outgoing_call_failures(code, reason, provisional, expected):
    assert up("DISCONNECTED", code, reason=reason, had_provisional=provisional) == expected
    assert failure_event(code, reason, had_provisional=provisional) == expected


def test_hangups():
    # We hung up (BYE, CANCEL or a rejecting answer): the platform confirms it.
    assert up("DISCONNECTED", 200, local_hangup=True, was_confirmed=True) == "net_bye_done"
    assert up("DISCONNECTED", 487, local_hangup=True) == "net_bye_done"
    assert up("DISCONNECTED", 486, role="uas", local_hangup=True) == "net_bye_done"
    # The far end hung up.
    assert up("DISCONNECTED", 200, was_confirmed=True) == "net_remote_hangup"
    assert up("DISCONNECTED", 487, role="uas") == "net_remote_hangup"  # caller cancelled
    assert up("DISCONNECTED", 487) == "net_remote_hangup"


@pytest.mark.parametrize("reason, expected", [
    ('SIP;cause=408;text="max_ringing_duration"', "net_no_answer"),  # the platform gave up
    ("SIP ; cause = 408", "net_no_answer"),
    ('SIP;cause=487;text="caller hung up"', "net_remote_hangup"),
    ("SIP;cause=4080", "net_remote_hangup"),  # not 408
    ("", "net_remote_hangup"),
])
def test_a_cancel_says_why_the_caller_gave_up(reason, expected):
    assert up("DISCONNECTED", 487, role="uas", cancel_reason=reason) == expected
    # only a CANCEL of a call we received says so: our own outgoing call is unaffected
    assert up("DISCONNECTED", 487, role="uac", cancel_reason=reason) == "net_remote_hangup"


def test_every_answer_is_a_network_happening():
    produced = {ev for ev in ANSWER_CODE_FOR}
    assert produced <= NETWORK
    for event, code in ANSWER_CODE_FOR.items():
        if code >= 300:
            assert failure_event(code) == event


def test_all_results_are_network_names():
    for state in STATE_NAMES.values():
        for code in (0, 100, 180, 183, 200, 404, 408, 429, 480, 486, 487, 500, 503, 600, 603):
            for role in ("uac", "uas"):
                for flags in ({}, {"local_hangup": True}, {"was_confirmed": True}):
                    ev = up(state, code, role=role, **flags)
                    assert ev is None or ev in NETWORK


def test_rtp_watch_lost_restored_timeout():
    w = RtpWatch(lost_after=0.5, timeout_after=2.0)
    assert w.sample(0.0, 0) == []
    assert w.sample(0.1, 5) == []
    assert w.sample(0.4, 5) == []
    assert w.sample(0.7, 5) == ["net_rtp_lost"]
    assert w.sample(1.0, 5) == []
    assert w.sample(2.2, 5) == ["net_media_timeout"]
    assert w.sample(2.5, 5) == []
    assert w.sample(2.6, 9) == ["net_rtp_restored"]
    assert w.sample(3.0, 20) == []
    # Both thresholds crossed by one late sample.
    assert w.sample(6.0, 20) == ["net_rtp_lost", "net_media_timeout"]
