"""Then steps that hold in every area: which callback the app gets (or never gets), and
whether an API call is accepted or refused with which ErrorType."""

from __future__ import annotations

from pytest_bdd import parsers, then

from ...vocabulary import ErrorType
from ..context import SETTLE, ScenarioContext
from .common import P, error_set, expect


@then(P("the app gets {callback:Callback}"))
def _t_gets(conform: ScenarioContext, callback: str) -> None:
    ev = expect(conform, callback)
    if callback == "onIncomingCall" and ev.get("call"):
        conform.call = ev["call"]


@then(P("the app gets {callback:Callback} with error {error:Error}"))
def _t_gets_error(conform: ScenarioContext, callback: str, error: str) -> None:
    ev = expect(conform, callback)
    got = (ev.get("args") or {}).get("error")
    assert got == error, f"{callback} carries error {got}, the guide says {error}"


@then(P("the app gets onCallEnded with reason {reason:Reason}"))
def _t_ended_reason(conform: ScenarioContext, reason: str) -> None:
    ev = expect(conform, "onCallEnded")
    got = (ev.get("args") or {}).get("endReason")
    allowed = {reason, None} | ({"NONE"} if reason in ("LOCAL_HANGUP", "PSTN_HANGUP") else set())
    assert got in allowed, f"onCallEnded carries endReason {got}, expected {reason}"


@then(P('the app gets onMissedCall from "{caller:Name}"'))
def _t_missed_from(conform: ScenarioContext, caller: str) -> None:
    ev = expect(conform, "onMissedCall")
    args = ev.get("args") or {}
    remote = str(args.get("remoteId", ""))
    assert caller in remote, f"onMissedCall names {remote!r}, not the caller {caller!r}"
    assert "time" in args, "onMissedCall carries no time"


@then(P("the app gets no {callback:Callback}"))
def _t_gets_no(conform: ScenarioContext, callback: str) -> None:
    conform.settle(SETTLE)
    got = conform.since_mark(callback)
    assert not got, f"the client sent {callback}: {got[0]}"


@then(P("the app gets either onMissedCall or a SYSTEM_BUSY refusal"))
def _t_missed_or_busy(conform: ScenarioContext) -> None:
    if conform.last is not None and not conform.last.ok:
        assert conform.last.result == ErrorType.SYSTEM_BUSY.value, \
            f"relaySessionData() was refused with {conform.last.result}"
        return
    expect(conform, "onMissedCall")


@then("it is accepted")
def _t_accepted(conform: ScenarioContext) -> None:
    last = conform.last
    assert last is not None, "no operation was made"
    assert last.ok, f"{conform.last_op}() was refused with {last.result}"


@then(parsers.re(r"it is refused with (?P<errors>[A-Z_]+(?: or [A-Z_]+)*)$"))
def _t_refused_with(conform: ScenarioContext, errors: str) -> None:
    want = error_set(errors)
    unknown = want - set(ErrorType.names())
    assert not unknown, f"not ErrorTypes: {', '.join(sorted(unknown))}"
    last = conform.last
    assert last is not None, "no operation was made"
    assert not last.ok, f"{conform.last_op}() was accepted; the guide says it is refused"
    assert last.result in want, f"{conform.last_op}() was refused with {last.result}, not {errors}"


@then("what the app is told is judged against the guide")
def _t_judged(conform: ScenarioContext) -> None:
    """Where the guide leaves every outcome open (a renewal that fails: disrupted again,
    restored first, or ended for media), the step asks nothing of its own: the scenario's
    trace, judged at its end as every scenario's is, must be one the spec allows."""
    conform.settle(SETTLE)


@then("it is refused or has no effect")
def _t_refused_or_nothing(conform: ScenarioContext) -> None:
    """Where the guide leaves open whether a call throws or does nothing (AUDIO-BT,
    AUDIO-LIVE, CALL-OP-STATE): either is conformant, and the trace shows which."""
    assert conform.last is not None, "no operation was made"
    conform.settle(SETTLE)


@then(P("the app gets either {first:Callback} or {second:Callback}"))
def _t_gets_either(conform: ScenarioContext, first: str, second: str) -> None:
    expect(conform, (first, second), what=f"{first} or {second}")


@then("the call attempt is refused or the call ends")
def _t_attempt_refused_or_ends(conform: ScenarioContext) -> None:
    """LC-REINIT: after onAuthenticationFailure the guide lets the SDK refuse a call
    (SDK_UNINITIALIZED or an authentication ErrorType) or take it and let it fail."""
    last = conform.last
    assert last is not None, "no operation was made"
    if not last.ok:
        allowed = {"SDK_UNINITIALIZED", "AUTHENTICATION_EXPIRED_TOKEN",
                   "AUTHENTICATION_INVALID_TOKEN"}
        assert last.result in allowed, f"{conform.last_op}() was refused with {last.result}, " \
            f"not one of {', '.join(sorted(allowed))}"
    # accepted: the call fails or proceeds as the platform decides; the trace is judged
    conform.settle(SETTLE)


@then(P("the app gets onMissedCall {n:Int} times"))
def _t_missed_times(conform: ScenarioContext, n: int) -> None:
    for _ in range(n):
        expect(conform, "onMissedCall")
    conform.settle(SETTLE)
    extra = conform.wait_for("onMissedCall", since=conform.first_when, timeout=0,
                             consume=True)
    assert extra is None, f"onMissedCall came more than {n} times"


@then("it is refused")
def _t_refused(conform: ScenarioContext) -> None:
    last = conform.last
    assert last is not None, "no operation was made"
    assert not last.ok, f"{conform.last_op}() was accepted; the guide says it is refused"
