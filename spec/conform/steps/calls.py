"""Steps of a call: outgoing and incoming calls brought to a state, dial, answer, hangup,
relayed pushes, what the network does, and the call state, calling screen, statistics
and details the app reads (guide 4.3, 4.5 to 4.7)."""

from __future__ import annotations

import time
from typing import Any

from pytest_bdd import given, parsers, then, when

from ...vocabulary import DISPLAY_MESSAGE, Api, CallState, Network
from ..adapter import Capability as Cap
from ..context import SETTLE, WAIT, ScenarioContext
from .common import (
    DEFAULT_REMOTE,
    NETWORK_PHRASES,
    P,
    alternatives,
    dial,
    ended_call,
    enum_value,
    expect,
    incoming,
    outgoing,
    relay,
    world,
)


@given("an outgoing call has been dialled")
def _out_dialled(conform: ScenarioContext) -> None:
    outgoing(conform, "dialled")


@given("an outgoing call is ringing")
def _out_ringing(conform: ScenarioContext) -> None:
    outgoing(conform, "ringing")


@given("an outgoing call is established")
def _out_established(conform: ScenarioContext) -> None:
    outgoing(conform, "established")


@given("an incoming call is ringing")
def _in_ringing(conform: ScenarioContext) -> None:
    incoming(conform, "ringing")


@given(P('an incoming call from "{caller:Name}" is ringing'))
def _in_ringing_from(conform: ScenarioContext, caller: str) -> None:
    incoming(conform, "ringing", caller)


@given("an incoming call is established")
def _in_established(conform: ScenarioContext) -> None:
    incoming(conform, "established")


@given("a call has ended")
def _ended(conform: ScenarioContext) -> None:
    ended_call(conform)


@given(P("the call is brought to {state:State}"))
def _bring_to(conform: ScenarioContext, state: str) -> None:
    """A route to each state of the guide's 4.5 table."""
    ctx = conform
    if state == "NONE":
        res = relay(ctx, confirm=None)
        assert res.ok, f"relaySessionData() was refused with {res.result}"
    elif state in ("OUTGOING_INITIATED", "EARLY", "RINGING", "CONNECTING"):
        outgoing(ctx, "ringing" if state in ("RINGING", "CONNECTING") else "dialled")
        if state == "EARLY":
            world(ctx, Network.net_early_media)
        if state == "CONNECTING":
            world(ctx, Network.net_connecting)
    elif state in ("INCOMING", "ANSWERING"):
        incoming(ctx, "ringing")
        if state == "ANSWERING":
            res = ctx.api(Api.answer, call=ctx.call)
            assert res.ok, f"answer() was refused with {res.result}"
    else:
        outgoing(ctx, "established")
        start = ctx.here()
        if state in ("MEDIA_DISRUPTED", "RENEWING_MEDIA"):
            world(ctx, Network.net_rtp_lost)
            expect(ctx, "onMediaDisrupted", since=start)
        if state == "RENEWING_MEDIA":
            world(ctx, Network.net_rtp_renewing)
            expect(ctx, "onRenewingMedia", since=start)
        if state in ("ENDING", "ENDED"):
            res = ctx.api(Api.hangup, call=ctx.call)
            assert res.ok, f"hangup() was refused with {res.result}"
            if state == "ENDED":
                expect(ctx, "onCallEnded", since=start)
    ctx.values["target"] = state


@when(parsers.re("(?P<phrase>" + alternatives(list(NETWORK_PHRASES)) + ")$"))
def _w_network(conform: ScenarioContext, phrase: str) -> None:
    world(conform, phrase)


@when(P('the app dials "{remote:Name}"'))
def _w_dial(conform: ScenarioContext, remote: str) -> None:
    dial(conform, remote)


@when(P('the app dials with message "{message:Name}"'))
def _w_dial_message(conform: ScenarioContext, message: str) -> None:
    dial(conform, DEFAULT_REMOTE, message)


@when("the app dials an empty remote id")
def _w_dial_empty(conform: ScenarioContext) -> None:
    dial(conform, "")


@when("the app dials again")
def _w_dial_again(conform: ScenarioContext) -> None:
    dial(conform)


@when("the app hangs up")
def _w_hangup(conform: ScenarioContext) -> None:
    conform.api(Api.hangup, call=conform.call)


@when("the app answers")
def _w_answer(conform: ScenarioContext) -> None:
    conform.api(Api.answer, call=conform.call)


@when(P('a push from "{caller:Name}" is relayed'))
def _w_relay(conform: ScenarioContext, caller: str) -> None:
    relay(conform, caller)


@when(P('a push for "{sub:Name}" from "{caller:Name}" is relayed'))
def _w_relay_other(conform: ScenarioContext, sub: str, caller: str) -> None:
    relay(conform, caller, for_subscriber=sub)


@when("a push with a malformed payload is relayed")
def _w_relay_malformed(conform: ScenarioContext) -> None:
    conform.need(Cap.PUSH)
    relay(conform, payload="this-is-not-a-jwt")


@when("the same push is relayed again")
def _w_relay_again(conform: ScenarioContext) -> None:
    relay(conform, conform.caller, data=conform.values.get("push"))


@when(P('a push from "{caller:Name}" is relayed for a call that is already over'))
def _w_relay_stale(conform: ScenarioContext, caller: str) -> None:
    conform.need(Cap.NETWORK)
    relay(conform, caller, stale=True)


@when("the app reads the call state")
def _w_read_state(conform: ScenarioContext) -> None:
    conform.values["state"] = conform.read_state()


@when("the app reads the call statistics")
def _w_read_stats(conform: ScenarioContext) -> None:
    conform.values["stats"] = conform.query("getStatistics")


@when("the app reads the call details")
def _w_read_details(conform: ScenarioContext) -> None:
    conform.drain()
    conform.values["details"] = conform.query("getCallDetails")


@then(P("the call state is {state:State}"))
def _t_state(conform: ScenarioContext, state: str) -> None:
    _state_in(conform, (state,))


@then(P("the call state is {first:State} or {second:State}"))
def _t_state_either(conform: ScenarioContext, first: str, second: str) -> None:
    """Where the guide allows either state (a permissive reading of the spec)."""
    _state_in(conform, (first, second))


def _state_in(conform: ScenarioContext, states: tuple[str, ...]) -> None:
    deadline = time.monotonic() + WAIT
    got = conform.values.get("state")
    while got not in states and time.monotonic() < deadline:
        conform.settle(0.05)
        got = conform.read_state()
    conform.values["state"] = got
    assert got in states, f"getCallState() is {got}, expected {' or '.join(states)}"


@then(P('the calling screen shows "{message:Name}"'))
def _t_screen(conform: ScenarioContext, message: str) -> None:
    state = conform.values.get("state")
    assert state is not None, "the call state was not read"
    shown = DISPLAY_MESSAGE[CallState(state)]
    want = None if message in ("-", "") else message
    assert shown == want, f"the guide shows {shown!r} in {state}, the feature says {message!r}"


@then("the statistics report the codec and the QoS figures")
def _t_stats(conform: ScenarioContext) -> None:
    res = conform.values.get("stats")
    assert res is not None and res.ok, f"getStatistics() failed: {res and res.result}"
    assert res.value, "getStatistics() returned nothing"


@then(P("the call details name the call, state {state:State} and direction {direction:Name}"))
def _t_details(conform: ScenarioContext, state: str, direction: str) -> None:
    d = _details(conform)
    assert d.get("callId") in (None, conform.call) or conform.call is None, \
        f"callId {d.get('callId')} is not the latest call {conform.call}"
    assert enum_value(d.get("callState")) == state, f"callState is {d.get('callState')}, expected {state}"
    assert enum_value(d.get("callDirection")) == direction, \
        f"callDirection is {d.get('callDirection')}, expected {direction}"


@then(P("the call details give the end reason {reason:Reason}"))
def _t_details_reason(conform: ScenarioContext, reason: str) -> None:
    d = _details(conform)
    got = enum_value(d.get("callEndReason"))
    allowed = {reason} | ({"NONE"} if reason == "LOCAL_HANGUP" else set())
    assert got in allowed, f"callEndReason is {got}, expected {reason}"


@then("the call details carry a session id")
def _t_details_session(conform: ScenarioContext) -> None:
    d = _details(conform)
    assert d.get("sessionId"), "getCallDetails() has no sessionId (guide 9.1 a)"


@then("the call details give a call duration")
def _t_details_duration(conform: ScenarioContext) -> None:
    d = _details(conform)
    dur = d.get("callDuration")
    assert isinstance(dur, (int, float)) and dur >= 0, f"callDuration is {dur!r}"


@then(P("the call is still {state:State}"))
def _t_still(conform: ScenarioContext, state: str) -> None:
    conform.settle(SETTLE)
    got = conform.read_state()
    assert got == state, f"getCallState() is {got}, expected {state}"


def _details(conform: ScenarioContext) -> dict[str, Any]:
    res = conform.values.get("details")
    if res is None:
        res = conform.query("getCallDetails")
    assert res.ok, f"getCallDetails() failed with {res.result}"
    value = res.value
    if value is None:
        raise AssertionError("getCallDetails() returned nothing for the latest call")
    if not isinstance(value, dict):
        value = {k: getattr(value, k) for k in dir(value) if not k.startswith("_")}
    return value




# --- platform (5.x): needs the platform simulator -------------------------------------------
# The client's platform simulator and customer backend, driven through the adapter's optional
# platform(op, args) operation (capability `platform`); the Then steps judge what it answered:
# HTTP status codes and bodies, and what the backend received over HTTP.

# the headers any HTTP client sends on its own; anything else is a custom header
