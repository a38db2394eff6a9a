"""Every mutant's fault is real: driven a few steps down the path that exercises it, the
mutant leaves a trace `exovoice validate` rejects, citing the rule its fault shows as, while
the unmutated reference client, driven the same steps, leaves one it accepts. So a mutant
no tool kills is a tool's blind spot, never a mutant without a fault (bench/mutation.py
measures the tools; this file only shows the faults, in a few seconds)."""

from __future__ import annotations

import time
from pathlib import Path
import pytest

from exovoice.spec.conform.context import ScenarioContext
from exovoice.spec.conform.mutants import ALL, BROKEN
from exovoice.spec.conform.clients import registered_mutants
from exovoice.spec.conform.plugin import make_factory
from exovoice.spec.conform.steps import common
from exovoice.spec.rules import RULES
from exovoice.spec.validate.run import Options, judge_file
from exovoice.spec.vocabulary import Api, CallKit, Env, Network

ESTABLISHED = "init; dial; net_ringing; net_answered"
# fault -> (the steps that exercise it, CallKit?, judged --complete?, the rule the
# validator cites). The steps are a small language: see drive().
CASES: dict[str, tuple[str, bool, bool, str]] = {
    "ringing-on-incoming": ("init; relay", False, False, "CALL-RINGING"),
    "established-without-answer": ("init; relay", False, False, "CALL-ESTABLISHED-OUT"),
    "established-twice": (ESTABLISHED, False, False, "CALL-ESTABLISHED-OUT"),
    "callback-after-ended": (f"{ESTABLISHED}; hangup", False, False, "CALL-ENDED-TERMINAL"),
    "leaked-call-listener": (f"{ESTABLISHED}; hangup; dial; net_ringing; net_answered",
                             False, False, "CALL-ESTABLISHED-OUT"),
    "answer-twice-accepted": ("init; relay; answer; answer", False, False, "CALL-OP-STATE"),
    "dial-during-pstn": ("init; pstnRinging; dial", False, False, "PSTN-NO-DIAL"),
    "no-missed-call-during-pstn": ("init; pstnRinging; pstnAnswered; relay", False, True,
                                   "SYS-RELAY-BUSY"),  # the report owed for a declined push
    "keeps-voip-after-pstn": (f"{ESTABLISHED}; pstnRinging; pstnAnswered", False, True,
                              "CALL-ENDED-TERMINAL"),  # the call is left ENDING, never ENDED
    "placed-pstn-unseen": ("init; pstnDialed; relay", False, False, "PSTN-AUTO-DECLINE"),
    "callkit-never-fulfils": (f"{ESTABLISHED}; CXEndCallAction", True, False,
                              "CK-ACTION-ONCE"),
    "callkit-mute-without-sdk": (f"{ESTABLISHED}; CXSetMutedCallAction", True, False,
                                 "CK-MUTE"),
    "callkit-double-fulfil": ("init; dial", True, False, "CK-ACTION-ONCE"),
    "callkit-end-unreported": (f"{ESTABLISHED}; net_remote_hangup; dial", True, False,
                               "CK-START"),
    "callkit-wrong-uuid": (ESTABLISHED, True, False, "CK-ONE-UUID"),
    "accepts-rating-9": (f"{ESTABLISHED}; hangup; feedback 9", False, False, "ARG-RATING"),
    "accepts-rating-0": (f"{ESTABLISHED}; hangup; feedback 0", False, False, "ARG-RATING"),
    "strips-dial-message": ("init; dial-message a@b", False, False, "ARG-DIAL-MESSAGE"),
    "dials-empty-remote": ("init; dial-empty", False, False, "ARG-DIAL-REMOTE"),
    "truncates-subscriber": ("sign-in averyverylongname17", False, False, "ARG-SUBSCRIBER"),
    "refuses-dtmf-hash": (f"{ESTABLISHED}; dtmf #", False, False, "API-REFUSAL"),
    "sends-dtmf-string": (f"{ESTABLISHED}; dtmf 55", False, False, "ARG-DTMF"),
    "upload-never-answered": ("init; upload; net_upload_done", False, True, "LOG-UPLOAD"),
    "upload-success-after-failure": ("init; upload_fails; upload; net_upload_failed", False,
                                     False, "LOG-UPLOAD"),
    "swaps-log-dates": ("init; upload-backwards", False, False, "ARG-LOG-DATES"),
    "feedback-during-call": (f"{ESTABLISHED}; feedback 3", False, False,
                             "ARG-FEEDBACK-ENDED"),
    "feedback-once-per-session": (f"{ESTABLISHED}; hangup; feedback 3; feedback 4", False,
                                  False, "API-REFUSAL"),
    "renewing-without-disrupted": (f"{ESTABLISHED}; net_rtp_lost; net_rtp_renewing", False,
                                   False, "CALL-MEDIA-RENEWING"),
    "media-never-restored": (f"{ESTABLISHED}; net_rtp_lost; net_rtp_restored; net_rtp_lost",
                             False, False, "CALL-MEDIA-DISRUPTED"),
    "second-disruption-unreported": (f"{ESTABLISHED}; net_rtp_lost; net_rtp_restored; "
                                     "net_rtp_lost; net_rtp_renewing", False, False,
                                     "CALL-MEDIA-RENEWING"),
    "initiated-after-ringing": ("init; dial; net_ringing", False, False, "CALL-INITIATED"),
    "push-reported-after-completion": ("init; push", True, False, "CK-PUSH"),
    "ended-before-failed": ("init; dial; net_congestion", False, False, "CALL-ENDED-TERMINAL"),
    "listener-twice-after-reset": ("init; reset; init", False, False, "LC-INIT-OK"),
    "stop-during-call": ("init; dial; stop", False, False, "LC-STOP"),
    "mute-refused-second-time": (f"{ESTABLISHED}; mute; unmute; mute", False, False,
                                 "API-REFUSAL"),
    "bluetooth-joined-mid-call": (f"{ESTABLISHED}; bluetoothConnected; enableBluetooth",
                                  False, False, "API-REFUSAL"),
    "late-end-after-hangup": (f"{ESTABLISHED}; hangup; dial", False, False, "SYS-BUSY"),
}


def drive(ctx: ScenarioContext, script: str) -> None:
    """Steps separated by ';': init [name], sign-in name, dial, dial-message M, dial-empty, relay, push,
    feedback N, dtmf D, upload, upload-backwards, CXSetMutedCallAction, CXEndCallAction, an
    API operation on
    the latest call, or a stimulus (network, phone or platform control) by its name."""
    for step in (s.split() for s in script.split(";")):
        op, rest = step[0], step[1:]
        if op == "init":
            common.initialized(ctx, rest[0] if rest else "alice")
        elif op == "sign-in":  # initialize(), accepted or not
            if common.initialize_client(ctx, rest[0]).ok:
                ctx.stimulus(Network.net_initialized)
        elif op == "dial":
            common.dial(ctx)
        elif op == "dial-message":
            common.dial(ctx, message=rest[0])
        elif op == "dial-empty":
            common.dial(ctx, remote="")
        elif op == "relay":
            common.relay(ctx)
            ev = ctx.wait_for("onIncomingCall", timeout=0.5)
            ctx.call = (ev or {}).get("call") or ctx.call
        elif op == "push":
            ctx.stimulus(CallKit.voipPushReceived, args={"subscriberName": ctx.subscriber,
                                                         "callerId": "bob"})
            ctx.stimulus(Network.net_push_valid)
        elif op == "feedback":
            ctx.api(Api.postFeedback, call=ctx.call, args={"rating": int(rest[0]),
                                                           "issue": "NO_ISSUE"})
        elif op == "dtmf":
            ctx.api(Api.sendDtmf, call=ctx.call, args={"digit": rest[0]})
        elif op in ("upload", "upload-backwards"):
            now = time.time()
            span = (now, now - 3600) if op == "upload-backwards" else (now - 3600, now)
            ctx.api(Api.uploadLogs, args={"startDate": span[0], "endDate": span[1],
                                          "description": "app feedback"})
        elif op == CallKit.CXSetMutedCallAction.value:
            ctx.stimulus(op, args={"uuid": common.callkit_uuid(ctx), "muted": True})
        elif op == CallKit.CXEndCallAction.value:
            ctx.stimulus(op, args={"uuid": common.callkit_uuid(ctx)})
        elif op in Api.names():
            ctx.api(op, call=ctx.call)
        else:
            assert op in Network.names() or op in Env.names() or op.startswith("token") \
                or op.endswith("_fails"), f"unknown step {op!r}"
            ctx.stimulus(op)


def judged(client: str, script: str, callkit: bool, complete: bool,
           tmp_path: Path) -> tuple[str | None, str]:
    """The rule the validator cites for the trace `client` leaves (None: it conforms)."""
    factory, _ = make_factory(client, "")
    ctx = ScenarioContext(factory, client_label=client)
    ctx.use_callkit(callkit)
    try:
        drive(ctx, script)
        ctx.settle(0.1)
        ctx.drain()
        text = ctx.trace_text()
    finally:
        ctx.close()
    path = tmp_path / f"{client.replace(':', '-')}.jsonl"
    path.write_text(text, encoding="utf-8")
    v = judge_file(path, Options(callkit=callkit, complete=complete))
    assert v.unusable is None, v.unusable
    return (v.violations[0].rule if v.violations else None), text


# LC-AUTH-CALL: the trace does not say that the platform refused the token (a platform
# control writes no line), so only the owed callback's absence shows the fault
TOKEN_REFUSED = "init; token_expired_silently; dial"


def test_every_mutant_has_a_case_and_names_a_rule() -> None:
    assert set(CASES) | {"silent-on-refused-token"} == set(BROKEN)
    assert len(BROKEN) == len(ALL) >= 22
    for cls in ALL:
        assert cls.rule in RULES, f"{cls.fault}: {cls.rule!r} is no rule of the spec"
        assert cls.rule in (cls.__doc__ or ""), f"{cls.fault}: the docstring names no rule"
        assert cls.area, cls.fault
    assert {c.area for c in ALL} >= {"call state", "PSTN", "CallKit", "arguments", "logs",
                                      "feedback", "media", "ordering", "timing"}


def test_conform_finds_every_mutant_by_its_name() -> None:
    """`--client broken:<fault>` resolves through the exovoice.mutants entry point."""
    assert {k: v for k, v in registered_mutants().items() if k in BROKEN} == BROKEN
    with pytest.raises(ValueError, match="unknown mutant 'no-such-fault'"):
        make_factory("broken:no-such-fault", "")


@pytest.mark.parametrize("fault", sorted(CASES))
def test_the_mutant_breaks_its_rule_where_the_reference_does_not(
        fault: str, tmp_path: Path) -> None:
    script, callkit, complete, shows = CASES[fault]
    rule, text = judged(f"broken:{fault}", script, callkit, complete, tmp_path)
    assert rule == shows, f"{fault}: validator cites {rule}, expected {shows}\n{text}"
    control, text = judged("reference", script, callkit, complete, tmp_path)
    assert control is None, f"the reference client fails the same steps ({control}):\n{text}"



def test_the_silent_mutant_leaves_out_the_authentication_failure(tmp_path: Path) -> None:
    """A call the platform refused for its token ends, in both traces, with the validator's
    blessing; the reference tells the app why (onAuthenticationFailure, LC-AUTH-CALL), the
    mutant does not (conform's step that expects it kills the mutant)."""
    for client, told in (("reference", True), ("broken:silent-on-refused-token", False)):
        rule, text = judged(client, TOKEN_REFUSED, False, False, tmp_path)
        assert rule is None, text
        assert ('"onAuthenticationFailure"' in text) is told, text
        assert '"onCallEnded"' in text, text
