"""Mutants of the app's CallKit integration (guide 4.3.3, 4.9 and Apple's CallKit rules in
FACTS): what the CXProviderDelegate does with CallKit's actions and reports."""

from __future__ import annotations

import uuid as uuidlib

from ...vocabulary import Api, CallKit
from .base import BrokenClient, Event


class CallKitNeverFulfils(BrokenClient):
    """Its CXProviderDelegate never fulfils an action (CK-ACTION-ONCE, FACTS)."""

    fault = "callkit-never-fulfils"
    rule = "CK-ACTION-ONCE"
    area = "CallKit"
    callkit = True

    def on_event(self, ev: Event) -> list[Event]:
        if ev.get("name") == CallKit.actionFulfilled.value:
            return []
        return [ev]


class CallKitMuteWithoutSdk(BrokenClient):
    """Fulfils CXSetMutedCallAction without muting the SDK's call (CK-MUTE, FACTS)."""

    fault = "callkit-mute-without-sdk"
    rule = "CK-MUTE"
    area = "CallKit"
    callkit = True

    def on_event(self, ev: Event) -> list[Event]:
        if ev.get("kind") == "api" and ev.get("name") in (Api.mute.value, Api.unmute.value):
            return []
        return [ev]


class CallKitDoubleFulfil(BrokenClient):
    """Fulfils every CXAction twice (once in the action handler and once more in a
    completion block) where each is fulfilled or failed exactly once (CK-ACTION-ONCE)."""

    fault = "callkit-double-fulfil"
    rule = "CK-ACTION-ONCE"
    area = "CallKit"
    callkit = True

    def on_event(self, ev: Event) -> list[Event]:
        if ev.get("name") == CallKit.actionFulfilled.value:
            return [ev, dict(ev)]
        return [ev]


class CallKitEndUnreported(BrokenClient):
    """Never tells CallKit that a call ended other than by the user's CXEndCallAction (no
    reportCallEnded), so the call lingers in the CallKit UI and its UUID is never freed
    (CK-REPORT-ENDED, FACTS)."""

    fault = "callkit-end-unreported"
    rule = "CK-REPORT-ENDED"
    area = "CallKit"
    callkit = True

    def on_event(self, ev: Event) -> list[Event]:
        if ev.get("name") == CallKit.reportCallEnded.value:
            return []
        return [ev]


class CallKitWrongUuid(BrokenClient):
    """Reports the outgoing call connected under a UUID of a fresh CXCallUpdate instead of
    the UUID CallKit started the call with (CK-ONE-UUID, guide 4.3.3)."""

    fault = "callkit-wrong-uuid"
    rule = "CK-ONE-UUID"
    area = "CallKit"
    callkit = True

    def on_event(self, ev: Event) -> list[Event]:
        if ev.get("name") == CallKit.reportOutgoingCallConnected.value:
            args = dict(ev.get("args") or {})
            args["uuid"] = str(uuidlib.uuid4()).upper()
            return [{**ev, "args": args}]
        return [ev]
