"""Steps of the platform side (guide 5.x): the client's platform simulator and customer
backend, driven through the adapter's optional platform(op, args) operation
(capability `platform`); the Then steps judge what it answered: HTTP status codes
and bodies, and what the backend received over HTTP."""

from __future__ import annotations

from typing import Any

from pytest_bdd import given, parsers, then, when

from ..adapter import Capability as Cap
from ..context import ScenarioContext
from ..payload import PAYLOAD_VERSION
from .common import P

STANDARD_HEADERS = frozenset({"host", "user-agent", "accept", "accept-encoding", "connection",
                              "content-type", "content-length", "authorization"})


def _platform_setup(conform: ScenarioContext, **args: Any) -> None:
    conform.need(Cap.PLATFORM)
    conform.platform("setup", {k: v for k, v in args.items() if v is not None})


@given(parsers.re(r'the platform simulator(?: with (?:'
                  r'(?P<dial_whom>a Dial Whom endpoint)(?: answering (?:"(?P<dw_answer>[^"]+)"'
                  r'|(?P<dw_code>[1-5]\d\d)))?'
                  r'|(?P<push>a push endpoint)(?: answering (?P<push_code>[1-5]\d\d))?'
                  r'|subscriber "(?P<subscriber>[^"]+)"'
                  r'|(?P<wrong_auth>wrong basic auth)'
                  r'|(?P<no_voip>VoIP disabled)))?'))
def _g_platform(conform: ScenarioContext, dial_whom: str | None, dw_answer: str | None,
                dw_code: str | None, push: str | None, push_code: str | None,
                subscriber: str | None, wrong_auth: str | None, no_voip: str | None) -> None:
    _platform_setup(conform, dialWhomAnswer=dw_answer,
                    dialWhomStatus=int(dw_code) if dw_code else None,
                    pushStatus=int(push_code) if push_code else None,
                    subscribers=[subscriber] if subscriber else None,
                    wrongAuth=True if wrong_auth else None,
                    voipEnabled=False if no_voip else None)
    if push_code:
        conform.values["push_status"] = int(push_code)


@when(P('the platform asks the Dial Whom endpoint for a call from "{caller:Name}"'))
def _w_dial_whom(conform: ScenarioContext, caller: str) -> None:
    conform.platform("dial_whom", {"from": caller})


@when(P('the platform asks the Dial Whom endpoint for a call from "{caller:Name}" '
        'with message "{message:Name}"'))
def _w_dial_whom_message(conform: ScenarioContext, caller: str, message: str) -> None:
    conform.platform("dial_whom", {"from": caller, "customField": message})


@when(P('the platform pushes a call for "{name:Name}"'))
def _w_push(conform: ScenarioContext, name: str) -> None:
    conform.platform("push", {"subscriber": name})


@when(P('the platform provisions subscriber "{name:Name}"'))
def _w_provision(conform: ScenarioContext, name: str) -> None:
    conform.platform("provision", {"subscribers": [name]})


@when(P('the platform issues a subscriber token for "{name:Name}"'))
def _w_token(conform: ScenarioContext, name: str) -> None:
    conform.platform("token", {"subscriber": name})


def _query(conform: ScenarioContext) -> dict[str, Any]:
    res = conform.platform_answer("dial_whom")
    got = res.get("received")
    assert isinstance(got, dict), f"the backend received no Dial Whom request: {res!r}"
    return got


@then(P('the backend gets CallSid, CallFrom, CallTo and CustomField "{value:Name}"'))
def _t_dial_whom_query(conform: ScenarioContext, value: str) -> None:
    got = _query(conform)
    for key in ("CallSid", "CallFrom", "CallTo"):
        assert isinstance(got.get(key), str) and got[key], f"the Dial Whom query lacks {key}: {got!r}"
    assert got.get("CustomField") == value, \
        f"the Dial Whom query's CustomField is {got.get('CustomField')!r}, not {value!r}"


@then(P('the platform connects the call to subscriber "{name:Name}" over VoIP'))
def _t_dial_whom_routed(conform: ScenarioContext, name: str) -> None:
    res = conform.platform_answer("dial_whom")
    _query(conform)
    assert res.get("ok") is True, f"the platform failed the call: {res.get('reason')}"
    assert res.get("remoteId") == name, f"the call goes to {res.get('remoteId')!r}, not {name!r}"
    numbers = res.get("numbers")
    assert isinstance(numbers, list) and numbers and all(
        isinstance(n, str) and n.startswith("sip:") for n in numbers), \
        f"the destination is not VoIP (sip:<remoteId>): {numbers!r}"


@then(parsers.re(r"the platform fails the call"
                 r"(?P<intermix> because SIP and PSTN intermixing is not supported)?"))
def _t_dial_whom_failed(conform: ScenarioContext, intermix: str | None) -> None:
    res = conform.platform_answer("dial_whom")
    _query(conform)
    assert res.get("ok") is False, f"the platform connected the call: {res!r}"
    reason = res.get("reason")
    assert isinstance(reason, str) and reason, "the platform gave no reason for the failure"
    if intermix:
        assert "intermixing" in reason, f"the failure is not about SIP/PSTN intermixing: {reason}"


@then("the backend gets a POST with subscriberName, payload and payloadVersion and no custom "
      "headers")
def _t_push_received(conform: ScenarioContext) -> None:
    res = conform.platform_answer("push")
    got = res.get("received")
    assert isinstance(got, dict), f"the backend received no push: {res!r}"
    assert got.get("method") == "POST", f"the push came as {got.get('method')!r}, not POST"
    body = got.get("body")
    assert isinstance(body, dict), f"the push body is not a JSON object: {body!r}"
    assert set(body) == {"subscriberName", "payload", "payloadVersion"}, \
        f"the push body has the fields {sorted(body)}"
    assert isinstance(body["payload"], str) and body["payload"], "the push carries no payload"
    assert body["payloadVersion"] == PAYLOAD_VERSION, \
        f"payloadVersion {body['payloadVersion']!r}, not {PAYLOAD_VERSION}"
    headers = got.get("headers")
    assert isinstance(headers, dict), "the backend did not report the push's headers"
    custom = sorted(h for h in headers if h.lower() not in STANDARD_HEADERS)
    assert not custom, f"the push carries custom headers: {', '.join(custom)}"
    assert res.get("ok") is True, f"the push failed: {res.get('reason')}"


@then("the platform treats the push as failed")
def _t_push_failed(conform: ScenarioContext) -> None:
    res = conform.platform_answer("push")
    assert res.get("ok") is False, f"the platform took the push as delivered: {res!r}"
    expected = conform.values.get("push_status")
    if expected is not None:
        assert res.get("httpStatus") == expected, \
            f"the push endpoint answered {res.get('httpStatus')!r}, not {expected}"


def _status(conform: ScenarioContext, op: str, code: int) -> dict[str, Any]:
    res = conform.platform_answer(op)
    assert res.get("status") == code, \
        f"the {op} request answered {res.get('status')!r}, not {code}: {res.get('body')!r}"
    body = res.get("body")
    assert isinstance(body, dict), f"the {op} answer is not a JSON object: {body!r}"
    if code >= 400:
        msg = body.get("message")
        assert isinstance(msg, str) and msg and "\n" not in msg, \
            f"the {code} answer has no one-line message: {body!r}"
    return body


@then(P('the subscriber request answers {code:Int} with a result for "{name:Name}"'))
def _t_provisioned(conform: ScenarioContext, code: int, name: str) -> None:
    body = _status(conform, "provision", code)
    items = body.get("response")
    assert isinstance(items, list), f"the answer has no per-item results: {body!r}"
    mine = [i for i in items if isinstance(i, dict) and (
        (i.get("subscriber") or {}).get("subscriber_name") == name
        or i.get("subscriber_name") == name)]
    assert len(mine) == 1, f"the answer has {len(mine)} results for {name!r}: {items!r}"
    assert mine[0].get("code") == 201, f"{name!r} was not created: {mine[0]!r}"


@then(P("the token request answers {code:Int} with a refresh token and an access token"))
def _t_token_issued(conform: ScenarioContext, code: int) -> None:
    body = _status(conform, "token", code)
    token = body.get("subscriber_token")
    assert isinstance(token, dict), f"the answer has no subscriber_token: {body!r}"
    for kind in ("refresh_token", "access_token"):
        assert isinstance(token.get(kind), str) and token[kind], f"the answer has no {kind}"
    assert token["refresh_token"] != token["access_token"], "refresh and access token are one"


@then(P("the token request answers {code:Int}"))
def _t_token_status(conform: ScenarioContext, code: int) -> None:
    _status(conform, "token", code)
