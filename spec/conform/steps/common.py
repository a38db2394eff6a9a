"""What every area's steps share: the typed parsers (closed alternatives from the
spec's vocabulary, never evaluated), the features' phrases for what the world does,
and the helpers that bring a client to a state with bounded waits."""

from __future__ import annotations

import re
import uuid
from typing import Any

from pytest_bdd import parsers

from ...vocabulary import (
    Api,
    CallAudioRoute,
    Callback,
    CallEndReason,
    CallIssue,
    CallKit,
    CallState,
    Env,
    ErrorType,
    Network,
)
from ..adapter import Capability as Cap
from ..context import WAIT, Position, ScenarioContext
from ..payload import PAYLOAD_VERSION


def alternatives(values: tuple[str, ...] | list[str]) -> str:
    return "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))


def _typed(values: tuple[str, ...]) -> Any:
    def convert(text: str) -> str:
        return text

    convert.pattern = alternatives(values)  # type: ignore[attr-defined]
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
    "unmutes the call": CallKit.CXSetMutedCallAction,
    "holds the call": CallKit.CXSetHeldCallAction,
}
# what each of those actions carries beside its UUID (CXSetMutedCallAction.isMuted,
# CXSetHeldCallAction.isOnHold)
CALLKIT_ARGS: dict[str, dict[str, bool]] = {
    "mutes the call": {"muted": True},
    "unmutes the call": {"muted": False},
    "holds the call": {"onHold": True},
}


def world(ctx: ScenarioContext, phrase_or_name: str, *, args: dict | None = None) -> None:
    """A network happening: needs the `network` capability."""
    name = str(NETWORK_PHRASES.get(phrase_or_name, phrase_or_name))
    ctx.need(Cap.NETWORK)
    ctx.stimulus(name, args=args)


def expect(ctx: ScenarioContext, name: Any, *, since: Position | None = None,
           timeout: float = WAIT, where: Any = None, what: str | None = None) -> dict[str, Any]:
    """Wait for an event. Given steps pass `since` (where their own work began, ctx.here());
    Then steps do not: they look at everything since the first When and take each event
    once."""
    then = since is None
    if then:
        since = ctx.first_when if ctx.first_when is not None else ctx.mark
    ev = ctx.wait_for(name, since=since, timeout=timeout, where=where, consume=then)
    if ev is None:
        raise AssertionError(
            f"expected {what or name} within {timeout:g} s; the client sent: "
            f"{', '.join(ctx.events_seen()[-12:]) or 'nothing'}")
    return ev


def initialize_client(ctx: ScenarioContext, name: str) -> Any:
    """initialize(); the adapter obtains the subscriber's token from its platform (a token is
    a secret of the client's world, not of the scenario)."""
    ctx.subscriber = name
    res = ctx.api(Api.initialize, args={
        "subscriberName": name, "displayName": name, "accountSid": "exotelvoip1",
        "hostname": "https://miles.apac-sg.exotel.in/v2"})
    ctx.after_op(Api.initialize, res)
    return res


def initialized(ctx: ScenarioContext, name: str = "alice") -> None:
    start = ctx.here()
    res = initialize_client(ctx, name)
    assert res.ok, f"initialize() was refused with {res.result}"
    ctx.drain()
    if Cap.NETWORK in ctx.caps and ctx.wait_for("onInitializationSuccess", since=start,
                                                timeout=0) is None:
        ctx.stimulus(Network.net_initialized)
    expect(ctx, "onInitializationSuccess", since=start)


def callkit_uuid(ctx: ScenarioContext, before: Position | None = None) -> str:
    """The UUID of the latest CallKit call (reported or started) that is not over, among the
    events before position `before` when given; when every one is over, the latest. A second
    call reported during an active one and ended (CK-SECOND-CALL) does not take the active
    call's place."""
    live: list[str] = []
    latest: str | None = None
    for ev in (ctx.seen if before is None else ctx.before(before)):
        if ev.get("kind") != "callkit":
            continue
        uuid_ = (ev.get("args") or {}).get("uuid")
        if not uuid_:
            continue
        uuid_ = str(uuid_)
        if ev["name"] in ("reportNewIncomingCall", "CXStartCallAction"):
            latest = uuid_
            if uuid_ not in live:
                live.append(uuid_)
        elif uuid_ in live and (ev["name"] == "reportCallEnded" or (
                ev["name"] == "actionFulfilled"
                and (ev.get("args") or {}).get("action") == "CXEndCallAction")):
            live.remove(uuid_)
    if live:
        return live[-1]
    if latest is not None:
        return latest
    raise AssertionError("no CallKit UUID seen: the call was never reported to or started in CallKit")


def dial(ctx: ScenarioContext, remote: str | None = DEFAULT_REMOTE, message: str | None = None) -> Any:
    """dial(); in a CallKit app the app then starts the call in CallKit with a new UUID
    (guide 4.3.3, Outgoing Calls 1-2), which CallKit delivers as CXStartCallAction. The driver
    plays that step 2 for the app unless the client declares callkit-app-start (its own app
    layer starts the transaction, and its CXStartCallAction line comes as an event), or the
    client reported the call ended (onCallEnded, onCallFailed) before dial() returned."""
    args: dict[str, Any] = {"remoteId": remote if remote is not None else ""}
    if message is not None:
        args["message"] = message
    start = ctx.here()
    res = ctx.api(Api.dial, args=args)
    ctx.drain()
    over = any(e.get("name") in ("onCallEnded", "onCallFailed") and e.get("call") == res.call
               for e in ctx.since(start))
    if res.ok and ctx.callkit and Cap.CALLKIT_APP_START not in ctx.caps and not over:
        # an app does not start a CallKit call for a call its dial() already reported over
        ctx.stimulus(CallKit.CXStartCallAction,
                     args={"uuid": str(uuid.uuid4()).upper(), "handle": args["remoteId"]})
    return res


def outgoing(ctx: ScenarioContext, upto: str) -> None:
    """Bring an outgoing call to `upto`: dialled, ringing or established."""
    start = ctx.here()
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
    """relaySessionData(). Without a payload, the args ask the client for a valid push from
    its platform: {subscriberName, callerId} (plus ttl 0 for a session already over); with
    one, that payload is relayed as is. Then, with `network`, the platform's answer to the
    session take: net_push_valid, or net_push_stale for a session already over."""
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
    start = ctx.here()
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
        ctx.stimulus(CallKit.CXAnswerCallAction, args={"uuid": callkit_uuid(ctx)})
        expect(ctx, "actionFulfilled", since=start)
    else:
        res = ctx.api(Api.answer, call=ctx.call)
        assert res.ok, f"answer() was refused with {res.result}"
    world(ctx, Network.net_answered)
    expect(ctx, "onCallEstablished", since=start)


def ended_call(ctx: ScenarioContext) -> None:
    outgoing(ctx, "established")
    start = ctx.here()
    res = ctx.api(Api.hangup, call=ctx.call)
    assert res.ok, f"hangup() was refused with {res.result}"
    expect(ctx, "onCallEnded", since=start)


def error_set(text: str) -> set[str]:
    return {e.strip() for e in text.split(" or ")}


def enum_value(v: Any) -> Any:
    """A value as the trace writes it: an enum member's value, anything else as it is."""
    return getattr(v, "value", v)
