"""Steps of the CallKit and PushKit layer: an app with or without CallKit, the user's
CallKit actions, VoIP pushes, and what CallKit is told (guide 4.3.3, 4.9)."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from ...vocabulary import CallKit
from ..adapter import Capability as Cap
from ..context import ScenarioContext
from .common import CALLKIT_ARGS, CALLKIT_PHRASES, P, alternatives, callkit_uuid, expect


@given("an app that integrates CallKit")
def _app_callkit(conform: ScenarioContext) -> None:
    if not conform.callkit:
        conform.use_callkit(True)
    conform.need(Cap.CALLKIT)


@given("an app without CallKit")
def _app_plain(conform: ScenarioContext) -> None:
    conform.use_callkit(False)
    conform.client()


@when(parsers.re("the user (?P<phrase>" + alternatives(list(CALLKIT_PHRASES)) + ") in CallKit$"))
def _w_callkit(conform: ScenarioContext, phrase: str) -> None:
    conform.need(Cap.CALLKIT)
    conform.stimulus(CALLKIT_PHRASES[phrase],
                     args={"uuid": callkit_uuid(conform), **CALLKIT_ARGS.get(phrase, {})})


@when(P('a VoIP push from "{caller:Name}" arrives'))
def _w_voip_push(conform: ScenarioContext, caller: str) -> None:
    conform.need(Cap.CALLKIT, Cap.PUSH)
    conform.caller = caller
    data = {"subscriberName": conform.subscriber, "callerId": caller}
    conform.values["push"] = data
    conform.stimulus(CallKit.voipPushReceived, args=data)


@when("a VoIP push with a malformed payload arrives")
def _w_voip_push_malformed(conform: ScenarioContext) -> None:
    conform.need(Cap.CALLKIT, Cap.PUSH)
    data = {"payload": "not-a-jwt", "payloadVersion": 1, "subscriberName": conform.subscriber}
    conform.values["push"] = data
    conform.stimulus(CallKit.voipPushReceived, args=data)


@then(P("CallKit gets {name:CallKit} for a second call"))
def _t_callkit_second(conform: ScenarioContext, name: str) -> None:
    """CK-SECOND-CALL: the line names a UUID other than the active CallKit call's."""
    active = callkit_uuid(conform, before=conform.first_when)
    expect(conform, name, what=f"{name} under a UUID other than {active}",
           where=lambda e: e.get("kind") == "callkit"
           and (e.get("args") or {}).get("uuid") not in (None, active))


@then("the CallKit call is ended")
def _t_callkit_call_ended(conform: ScenarioContext) -> None:
    """CK-END / CK-REPORT-ENDED: reported ended, or ended through a fulfilled CXEndCallAction
    (the guide's handler, which needs no SDK hangup when there is no call)."""
    expect(conform, ("reportCallEnded", "actionFulfilled"), what="the CallKit call's end",
           where=lambda e: e.get("kind") == "callkit" and (
               e["name"] == "reportCallEnded"
               or (e.get("args") or {}).get("action") == CallKit.CXEndCallAction.value))


@then(P("CallKit gets {name:CallKit}"))
def _t_callkit_line(conform: ScenarioContext, name: str) -> None:
    expect(conform, name, where=lambda e: e.get("kind") == "callkit")


@then(P("the CallKit action {action:CallKit} is fulfilled"))
def _t_fulfilled(conform: ScenarioContext, action: str) -> None:
    expect(conform, "actionFulfilled",
           where=lambda e: (e.get("args") or {}).get("action") == action,
           what=f"actionFulfilled for {action}")


@then(P("the app calls {op:Api} for CallKit"))
def _t_app_calls(conform: ScenarioContext, op: str) -> None:
    expect(conform, op, where=lambda e: e.get("kind") == "api", what=f"the app's {op}() call")


@then("the VoIP push is reported to CallKit before its handler completes")
def _t_push_reported(conform: ScenarioContext) -> None:
    done = expect(conform, "voipPushCompleted")
    report = expect(conform, "reportNewIncomingCall")
    assert conform.seen.index(report) < conform.seen.index(done), \
        "voipPushCompleted came before reportNewIncomingCall (Apple's iOS 13 rule)"
