"""The step library: client-agnostic pytest-bdd steps for the features in features/.

Every step drives the client through the `conform` fixture (a ScenarioContext over a
ClientAdapter) and waits on its events with a bound, never a fixed sleep. Arguments are parsed
by typed parsers (parse formats and regular expressions with closed alternatives); nothing a
feature file says is ever evaluated as code.

A step that needs a capability the client did not declare makes the scenario not-run.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from pytest_bdd import given, parsers, then, when

from ..vocabulary import (
    DISPLAY_MESSAGE,
    Api,
    CallAudioRoute,
    CallEndReason,
    CallIssue,
    CallKit,
    CallState,
    Callback,
    Env,
    ErrorType,
    Network,
)
from .adapter import Capability as Cap
from .context import SETTLE, WAIT, ScenarioContext
from .payload import PAYLOAD_VERSION


def _alternatives(values: tuple[str, ...] | list[str]) -> str:
    return "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))


def _typed(values: tuple[str, ...]) -> Any:
    def convert(text: str) -> str:
        return text

    convert.pattern = _alternatives(values)  # type: ignore[attr-defined]
    return convert


TYPES = {
    "Error": _typed(ErrorType.names()),
    "Reason": _typed(CallEndReason.names()),
    "State": _typed(CallState.names()),
    "Issue": _typed(CallIssue.names() + ("NOT_AN_ISSUE",)),
    "Route": _typed(CallAudioRoute.names()),
    "Callback": _typed(Callback.names()),
    "CallKit": _typed(CallKit.names()),
    "Api": _typed(Api.names()),
}


def _name(text: str) -> str:
    return text


_name.pattern = r'[^"]*'  # type: ignore[attr-defined]


def _int(text: str) -> int:
    return int(text)


_int.pattern = r"-?\d+"  # type: ignore[attr-defined]
TYPES["Name"] = _name
TYPES["Int"] = _int


def P(fmt: str) -> Any:
    return parsers.parse(fmt, extra_types=TYPES)


DEFAULT_REMOTE = "sip:08040408080"

# What the world does, in the features' words -> the adapter's network stimulus.
NETWORK_PHRASES: dict[str, str] = {
    "the call reaches the platform": Network.net_call_sent,
    "the platform sends early media": Network.net_early_media,
    "the callee's phone rings": Network.net_ringing,
    "the callee starts connecting": Network.net_connecting,
    "the callee answers": Network.net_answered,
    "the media is established": Network.net_answered,
    "the callee is busy": Network.net_busy,
    "nobody answers within max_ringing_duration": Network.net_no_answer,
    "the callee is unreachable": Network.net_unreachable,
    "the call fails in the network": Network.net_failure,
    "the platform rate-limits the call": Network.net_congestion,
    "the remote party hangs up": Network.net_remote_hangup,
    "the caller hangs up": Network.net_remote_hangup,
    "RTP is lost": Network.net_rtp_lost,
    "RTP starts resuming": Network.net_rtp_renewing,
    "RTP is restored": Network.net_rtp_restored,
    "the media is never restored": Network.net_media_timeout,
    "the platform accepts the registration": Network.net_initialized,
    "the registration fails": Network.net_init_failed,
    "the log upload completes": Network.net_upload_done,
    "the log upload fails": Network.net_upload_failed,
}
PSTN_PHRASES: dict[str, str] = {
    "a PSTN call lands on the phone": Env.pstnRinging,
    "the user accepts the PSTN call": Env.pstnAnswered,
    "the user declines the PSTN call": Env.pstnDeclined,
    "the user places a PSTN call": Env.pstnDialed,
    "the PSTN call ends": Env.pstnEnded,
}
AUDIO_PHRASES: dict[str, str] = {
    "mutes the call": Api.mute,
    "unmutes the call": Api.unmute,
    "enables the speaker": Api.enableSpeaker,
    "disables the speaker": Api.disableSpeaker,
    "enables Bluetooth": Api.enableBluetooth,
    "disables Bluetooth": Api.disableBluetooth,
}
CALLKIT_PHRASES: dict[str, str] = {
    "accepts the call": CallKit.CXAnswerCallAction,
    "rejects the call": CallKit.CXEndCallAction,
    "ends the call": CallKit.CXEndCallAction,
    "mutes the call": CallKit.CXSetMutedCallAction,
    "holds the call": CallKit.CXSetHeldCallAction,
}


# --- helpers --------------------------------------------------------------------------------
def world(ctx: ScenarioContext, phrase_or_name: str, *, args: dict | None = None) -> None:
    """A network happening: needs the `network` capability."""
    name = str(NETWORK_PHRASES.get(phrase_or_name, phrase_or_name))
    ctx.need(Cap.NETWORK)
    ctx.stimulus(name, args=args)


def expect(ctx: ScenarioContext, name: Any, *, since: int | None = None, timeout: float = WAIT,
           where: Any = None, what: str | None = None) -> dict[str, Any]:
    """Wait for an event. Given steps pass `since` (the start of their own work); Then steps
    do not: they look at everything since the first When and take each event once."""
    then = since is None
    if then:
        since = ctx.first_when if ctx.first_when is not None else ctx.mark
    ev = ctx.wait_for(name, since=since, timeout=timeout, where=where, consume=then)
    if ev is None:
        raise AssertionError(
            f"expected {what or name} within {timeout:g} s; the client sent: "
            f"{', '.join(ctx.callbacks_seen()[-12:]) or 'nothing'}")
    return ev


def _initialize(ctx: ScenarioContext, name: str) -> Any:
    """initialize(); the adapter obtains the subscriber's token from its platform (a token is
    a secret of the client's world, not of the scenario)."""
    ctx.subscriber = name
    res = ctx.api(Api.initialize, args={
        "subscriberName": name, "displayName": name, "accountSid": "exotelvoip1",
        "hostname": "https://miles.apac-sg.exotel.in/v2"})
    ctx.after_op(Api.initialize, res)
    return res


def initialized(ctx: ScenarioContext, name: str = "alice") -> None:
    start = len(ctx.seen)
    res = _initialize(ctx, name)
    assert res.ok, f"initialize() was refused with {res.result}"
    ctx.drain()
    if Cap.NETWORK in ctx.caps and ctx.wait_for("onInitializationSuccess", since=start,
                                                timeout=0) is None:
        ctx.stimulus(Network.net_initialized)
    expect(ctx, "onInitializationSuccess", since=start)


def _callkit_uuid(ctx: ScenarioContext) -> str:
    for ev in reversed(ctx.seen):
        if ev.get("kind") == "callkit" and (ev.get("args") or {}).get("uuid") and ev["name"] in (
                "reportNewIncomingCall", "CXStartCallAction"):
            return str(ev["args"]["uuid"])
    raise AssertionError("no CallKit UUID seen: the call was never reported to or started in CallKit")


def dial(ctx: ScenarioContext, remote: str | None = DEFAULT_REMOTE, message: str | None = None) -> Any:
    """dial(); in a CallKit app the app then starts the call in CallKit with a new UUID
    (guide 4.3.3, Outgoing Calls 1-2), which CallKit delivers as CXStartCallAction."""
    args: dict[str, Any] = {"remoteId": remote if remote is not None else ""}
    if message is not None:
        args["message"] = message
    res = ctx.api(Api.dial, args=args)
    if res.ok and ctx.callkit:
        ctx.stimulus(CallKit.CXStartCallAction,
                     args={"uuid": str(uuid.uuid4()).upper(), "handle": args["remoteId"]})
    return res


def outgoing(ctx: ScenarioContext, upto: str) -> None:
    """Bring an outgoing call to `upto`: dialled, ringing or established."""
    start = len(ctx.seen)
    res = dial(ctx)
    assert res.ok, f"dial() was refused with {res.result}"
    world(ctx, Network.net_call_sent)
    expect(ctx, "onCallInitiated", since=start)
    if ctx.callkit:
        expect(ctx, "actionFulfilled", since=start, what="CXStartCallAction fulfilled")
    if upto == "dialled":
        return
    world(ctx, Network.net_ringing)
    expect(ctx, "onCallRinging", since=start)
    if upto == "ringing":
        return
    world(ctx, Network.net_answered)
    expect(ctx, "onCallEstablished", since=start)


def relay(ctx: ScenarioContext, caller: str = "bob", *, for_subscriber: str | None = None,
          payload: Any = None, data: dict | None = None, stale: bool = False,
          confirm: str | None = Network.net_push_valid) -> Any:
    """relaySessionData(). Without a payload, the args ask the adapter for a valid push from
    its platform: {subscriberName, callerId} (plus ttl 0 for a session already over); with
    one, that payload is relayed as is."""
    ctx.caller = caller
    if data is None:
        data = {"subscriberName": for_subscriber or ctx.subscriber, "callerId": caller}
        if payload is not None:
            data = {"payload": payload, "payloadVersion": PAYLOAD_VERSION,
                    "subscriberName": for_subscriber or ctx.subscriber}
        elif stale:
            data["ttl"] = 0
    ctx.values["push"] = data
    res = ctx.api(Api.relaySessionData, args=data)
    if stale:
        confirm = Network.net_push_stale
    if res.ok and confirm is not None and Cap.NETWORK in ctx.caps:
        ctx.stimulus(confirm)
    return res


def incoming(ctx: ScenarioContext, upto: str, caller: str = "bob") -> None:
    start = len(ctx.seen)
    res = relay(ctx, caller)
    assert res.ok, f"relaySessionData() was refused with {res.result}"
    ev = expect(ctx, "onIncomingCall", since=start)
    ctx.call = ev.get("call") or ctx.call
    if upto == "ringing":
        if ctx.callkit:
            expect(ctx, "reportNewIncomingCall", since=start)
        return
    if ctx.callkit:
        expect(ctx, "reportNewIncomingCall", since=start)
        ctx.stimulus(CallKit.CXAnswerCallAction, args={"uuid": _callkit_uuid(ctx)})
        expect(ctx, "actionFulfilled", since=start)
    else:
        res = ctx.api(Api.answer, call=ctx.call)
        assert res.ok, f"answer() was refused with {res.result}"
    world(ctx, Network.net_answered)
    expect(ctx, "onCallEstablished", since=start)


def ended_call(ctx: ScenarioContext) -> None:
    outgoing(ctx, "established")
    start = len(ctx.seen)
    res = ctx.api(Api.hangup, call=ctx.call)
    assert res.ok, f"hangup() was refused with {res.result}"
    expect(ctx, "onCallEnded", since=start)


def _errors(text: str) -> set[str]:
    return {e.strip() for e in text.split(" or ")}


# --- Given ----------------------------------------------------------------------------------
@given("an app that integrates CallKit")
def _app_callkit(conform: ScenarioContext) -> None:
    if not conform.callkit:
        conform.use_callkit(True)
    conform.need(Cap.CALLKIT)


@given("an app without CallKit")
def _app_plain(conform: ScenarioContext) -> None:
    conform.use_callkit(False)
    conform.client()


@given("the client is not initialized")
def _not_initialized(conform: ScenarioContext) -> None:
    conform.client()


@given("the client is initialized")
def _initialized(conform: ScenarioContext) -> None:
    initialized(conform)


@given(P('the client is initialized as "{name:Name}"'))
def _initialized_as(conform: ScenarioContext, name: str) -> None:
    initialized(conform, name)


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


@given("a PSTN call is in progress")
def _pstn_active(conform: ScenarioContext) -> None:
    conform.need(Cap.PSTN)
    conform.stimulus(Env.pstnRinging)
    conform.stimulus(Env.pstnAnswered)


@given("a PSTN call is ringing")
def _pstn_ringing(conform: ScenarioContext) -> None:
    conform.need(Cap.PSTN)
    conform.stimulus(Env.pstnRinging)


@given("a Bluetooth device is connected")
def _bt_connected(conform: ScenarioContext) -> None:
    conform.need(Cap.BLUETOOTH)
    conform.stimulus(Env.bluetoothConnected)


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
        start = len(ctx.seen)
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


# --- When -----------------------------------------------------------------------------------
@when(P('the app initializes the client as "{name:Name}"'))
def _w_initialize(conform: ScenarioContext, name: str) -> None:
    _initialize(conform, name)


@when("the app initializes the client again with a new token")
def _w_reinitialize(conform: ScenarioContext) -> None:
    _initialize(conform, conform.subscriber)


@when("the subscriber's token expires")
def _w_token_expired(conform: ScenarioContext) -> None:
    conform.control("token_expired", Network.net_token_rejected,
                    {"error": ErrorType.AUTHENTICATION_EXPIRED_TOKEN.value})


@when("the subscriber's token is revoked")
def _w_token_invalid(conform: ScenarioContext) -> None:
    conform.control("token_invalid", Network.net_token_rejected,
                    {"error": ErrorType.AUTHENTICATION_INVALID_TOKEN.value})


@given("the platform will fail the next registration")
def _g_init_fails(conform: ScenarioContext) -> None:
    conform.control("init_fails", Network.net_init_failed, None, after=Api.initialize)


@given("log uploads will fail")
def _g_upload_fails(conform: ScenarioContext) -> None:
    conform.need(Cap.LOGS)
    conform.control("upload_fails", Network.net_upload_failed, None, after=Api.uploadLogs)


@when(parsers.re("(?P<phrase>" + _alternatives(list(NETWORK_PHRASES)) + ")$"))
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
    conform.values["stats"] = conform.api("getStatistics", call=conform.call, record=False)


@when("the app reads the call details")
def _w_read_details(conform: ScenarioContext) -> None:
    conform.drain()
    conform.values["details"] = conform.api("getCallDetails", call=conform.call, record=False)


@when("the app reads the audio route")
def _w_read_route(conform: ScenarioContext) -> None:
    conform.need(Cap.AUDIO)
    conform.values["route"] = conform.api("getAudioRoute", call=conform.call, record=False)


@when(parsers.re("the app (?P<phrase>" + _alternatives(list(AUDIO_PHRASES)) + ")$"))
def _w_audio(conform: ScenarioContext, phrase: str) -> None:
    conform.need(Cap.AUDIO)
    op = AUDIO_PHRASES[phrase]
    if op == Api.enableBluetooth:
        conform.need(Cap.BLUETOOTH)
    conform.api(op, call=conform.call)


@when(parsers.re("(?P<phrase>" + _alternatives(list(PSTN_PHRASES)) + ")$"))
def _w_pstn(conform: ScenarioContext, phrase: str) -> None:
    conform.need(Cap.PSTN)
    conform.stimulus(PSTN_PHRASES[phrase])


@when("a Bluetooth device connects")
def _w_bt_on(conform: ScenarioContext) -> None:
    conform.need(Cap.BLUETOOTH)
    conform.stimulus(Env.bluetoothConnected)


@when("the Bluetooth device disconnects")
def _w_bt_off(conform: ScenarioContext) -> None:
    conform.need(Cap.BLUETOOTH)
    conform.stimulus(Env.bluetoothDisconnected)


@when(parsers.re("the user (?P<phrase>" + _alternatives(list(CALLKIT_PHRASES)) + ") in CallKit$"))
def _w_callkit(conform: ScenarioContext, phrase: str) -> None:
    conform.need(Cap.CALLKIT)
    conform.stimulus(CALLKIT_PHRASES[phrase], args={"uuid": _callkit_uuid(conform)})


@when(P('a VoIP push from "{caller:Name}" arrives'))
def _w_voip_push(conform: ScenarioContext, caller: str) -> None:
    conform.need(Cap.CALLKIT, Cap.PUSH)
    conform.caller = caller
    data = {"subscriberName": conform.subscriber, "callerId": caller}
    conform.values["push"] = data
    conform.stimulus(CallKit.voipPushReceived, args=data)


@when("the app uploads its logs")
def _w_upload(conform: ScenarioContext) -> None:
    conform.need(Cap.LOGS)
    now = time.time()
    res = conform.api(Api.uploadLogs, args={"startDate": now - 3600, "endDate": now,
                                            "description": "call dropped"})
    conform.after_op(Api.uploadLogs, res)


@when(P("the app posts feedback with rating {rating:Int} and issue {issue:Issue}"))
def _w_feedback(conform: ScenarioContext, rating: int, issue: str) -> None:
    conform.need(Cap.FEEDBACK)
    conform.api(Api.postFeedback, call=conform.call, args={"rating": rating, "issue": issue})


@when(P("the app posts feedback with rating {rating:Int}"))
def _w_feedback_rating(conform: ScenarioContext, rating: int) -> None:
    conform.need(Cap.FEEDBACK)
    conform.api(Api.postFeedback, call=conform.call,
                args={"rating": rating, "issue": CallIssue.NO_ISSUE.value})


@when("the app stops the client")
def _w_stop(conform: ScenarioContext) -> None:
    conform.api(Api.stop)


@when("the app resets the client")
def _w_reset(conform: ScenarioContext) -> None:
    conform.api(Api.reset)


# --- Then -----------------------------------------------------------------------------------
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
    want = _errors(errors)
    unknown = want - set(ErrorType.names())
    assert not unknown, f"not ErrorTypes: {', '.join(sorted(unknown))}"
    last = conform.last
    assert last is not None, "no operation was made"
    assert not last.ok, f"{conform.last_op}() was accepted; the guide says it is refused"
    assert last.result in want, f"{conform.last_op}() was refused with {last.result}, not {errors}"


@then("it is refused")
def _t_refused(conform: ScenarioContext) -> None:
    last = conform.last
    assert last is not None, "no operation was made"
    assert not last.ok, f"{conform.last_op}() was accepted; the guide says it is refused"


@then("the initialization is refused or fails")
def _t_init_refused(conform: ScenarioContext) -> None:
    last = conform.last
    assert last is not None
    if last.ok:
        # accepted: the platform refuses the malformed name (guide 9.3 a: 400)
        if Cap.NETWORK in conform.caps:
            conform.stimulus(Network.net_init_failed)
        expect(conform, "onInitializationFailure",
               what="initialize() refused or onInitializationFailure")
    assert not conform.since_mark("onInitializationSuccess"), \
        "the client reported onInitializationSuccess for an invalid subscriber name"


@then(P("the call state is {state:State}"))
def _t_state(conform: ScenarioContext, state: str) -> None:
    deadline = time.monotonic() + WAIT
    got = conform.values.get("state")
    while got != state and time.monotonic() < deadline:
        conform.settle(0.05)
        got = conform.read_state()
    conform.values["state"] = got
    assert got == state, f"getCallState() is {got}, expected {state}"


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
    assert _s(d.get("callState")) == state, f"callState is {d.get('callState')}, expected {state}"
    assert _s(d.get("callDirection")) == direction, \
        f"callDirection is {d.get('callDirection')}, expected {direction}"


@then(P("the call details give the end reason {reason:Reason}"))
def _t_details_reason(conform: ScenarioContext, reason: str) -> None:
    d = _details(conform)
    got = _s(d.get("callEndReason"))
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


@then(P("the audio route is {route:Route}"))
def _t_route(conform: ScenarioContext, route: str) -> None:
    res = conform.api("getAudioRoute", call=conform.call, record=False)
    assert res.ok, f"getAudioRoute() failed with {res.result}"
    assert _s(res.value) == route, f"the audio route is {res.value}, expected {route}"


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


@then(P("the call is still {state:State}"))
def _t_still(conform: ScenarioContext, state: str) -> None:
    conform.settle(SETTLE)
    got = conform.read_state()
    assert got == state, f"getCallState() is {got}, expected {state}"


@then("the log upload is answered exactly once")
def _t_upload_once(conform: ScenarioContext) -> None:
    expect(conform, ("onUploadLogSuccess", "onUploadLogFailure"))
    conform.settle(SETTLE)
    n = len(conform.since_mark("onUploadLogSuccess")) + len(conform.since_mark("onUploadLogFailure"))
    assert n == 1, f"uploadLogs() was answered {n} times"


def _details(conform: ScenarioContext) -> dict[str, Any]:
    res = conform.values.get("details")
    if res is None:
        res = conform.api("getCallDetails", call=conform.call, record=False)
    assert res.ok, f"getCallDetails() failed with {res.result}"
    value = res.value
    if value is None:
        raise AssertionError("getCallDetails() returned nothing for the latest call")
    if not isinstance(value, dict):
        value = {k: getattr(value, k) for k in dir(value) if not k.startswith("_")}
    return value


def _s(v: Any) -> Any:
    return getattr(v, "value", v)


# --- platform (5.x): needs the platform simulator -------------------------------------------
# The client's platform simulator and customer backend, driven through the adapter's optional
# platform(op, args) operation (capability `platform`); the Then steps judge what it answered:
# HTTP status codes and bodies, and what the backend received over HTTP.

# the headers any HTTP client sends on its own; anything else is a custom header
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
