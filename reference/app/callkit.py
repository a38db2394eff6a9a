"""The sample app's CallKit layer (guide 4.3.3, FACTS.md): a ProviderDelegate over the
reference client, and the PushKit handler.

CallKit's deliveries (user actions, provider reset, VoIP pushes) arrive on the client's
dispatcher thread, one at a time, so the delegate's SDK calls and its fulfil/fail lines are
ordered with the SDK's callbacks. Every line it writes goes through the spec (SpecCore), so a
delegate that broke the CallKit rules would fail loudly here, not only in a trace.
"""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from exovoice.spec.vocabulary import CallKit

from ..sdk.call import Call
from ..sdk.client import ExotelVoiceClient
from ..sdk.core import ExotelVoiceError
from ..sdk.listeners import CallListener

NIL_UUID = "00000000-0000-0000-0000-000000000000"
USER_ACTIONS = frozenset({CallKit.CXStartCallAction.value, CallKit.CXAnswerCallAction.value,
                          CallKit.CXEndCallAction.value, CallKit.CXSetMutedCallAction.value,
                          CallKit.CXSetHeldCallAction.value, CallKit.providerDidReset.value,
                          CallKit.voipPushReceived.value})


def new_uuid() -> str:
    return str(uuidlib.uuid4()).upper()


class ProviderDelegate(CallListener):
    """Installs itself as the client's call listener and forwards every callback to `inner`
    (the rest of the app), after doing the CallKit reporting the guide asks for."""

    def __init__(self, client: ExotelVoiceClient, inner: CallListener | None = None) -> None:
        self.client = client
        self.inner = inner
        self.active_uuid: str | None = None
        self.outgoing = False
        self.connected_reported = False
        self.ending = False  # a CXEndCallAction ended the call: CallKit already knows
        self.answered_in_callkit = False  # the incoming call was answered through CallKit
        client.getCallController().setCallListener(self)

    # --- deliveries from CallKit (on the dispatcher thread) ------------------------------
    def deliver(self, name: str, uuid: str | None = None, args: dict[str, Any] | None = None
                ) -> None:
        """CallKit performs a user action or event; schedule it like CallKit's queue would."""
        if name not in USER_ACTIONS:
            raise ValueError(f"{name} is not something CallKit delivers to the app")
        self.client.later(lambda: self.perform(name, uuid, dict(args or {})))

    def perform(self, name: str, uuid: str | None, args: dict[str, Any]) -> None:
        core = self.client._core
        if name == CallKit.CXStartCallAction.value:
            uuid = uuid or new_uuid()
            core.callkit(name, uuid, _handle(args))
            self.active_uuid, self.outgoing, self.connected_reported = uuid, True, False
            self.ending = False
            core.callkit(CallKit.actionFulfilled.value, uuid, {"action": name})
        elif name == CallKit.CXAnswerCallAction.value:
            uuid = uuid or self.active_uuid or NIL_UUID
            core.callkit(name, uuid)
            self._sdk(lambda c: c.answer())
            core.callkit(CallKit.actionFulfilled.value, uuid, {"action": name})
            self.answered_in_callkit = True
        elif name == CallKit.CXEndCallAction.value:
            uuid = uuid or self.active_uuid or NIL_UUID
            core.callkit(name, uuid)
            self.ending = True
            if core.model.call_live:  # the guide's sample: try hangup, then fulfil
                self._sdk(lambda c: c.hangup())
            core.callkit(CallKit.actionFulfilled.value, uuid, {"action": name})
            self.active_uuid = None
        elif name == CallKit.CXSetMutedCallAction.value:
            uuid = uuid or self.active_uuid or NIL_UUID
            muted = bool(args.get("muted", True))
            core.callkit(name, uuid, {"muted": muted})
            ok = self._sdk(lambda c: c.mute() if muted else c.unmute())
            core.callkit((CallKit.actionFulfilled if ok else CallKit.actionFailed).value, uuid,
                         {"action": name})
        elif name == CallKit.CXSetHeldCallAction.value:
            uuid = uuid or self.active_uuid or NIL_UUID
            core.callkit(name, uuid, {"onHold": bool(args.get("onHold", True))})
            core.callkit(CallKit.actionFulfilled.value, uuid, {"action": name})
        elif name == CallKit.providerDidReset.value:
            core.callkit(name, uuid or self.active_uuid or NIL_UUID)
            self.active_uuid = None
            self.ending = True
            call = self.client.latest_call
            if call is not None and core.model.call_live:
                self._sdk(lambda c: c.hangup())
        elif name == CallKit.voipPushReceived.value:
            self._voip_push(uuid or new_uuid(), args)

    def _voip_push(self, uuid: str, args: dict[str, Any]) -> None:
        """Apple's rule: report the call to CallKit before the push handler returns."""
        core = self.client._core
        if self.active_uuid is not None:
            self._second_push(uuid, args)
            return
        core.callkit(CallKit.voipPushReceived.value, uuid)
        data = args.get("data") or {k: args[k] for k in ("payload", "payloadVersion",
                                                         "subscriberName") if k in args}
        try:
            self.client.relaySessionData(data)
            relayed = True
        except ExotelVoiceError:
            relayed = False
        handle = (self.client.latest_call.remote_id if relayed and self.client.latest_call
                  else "unknown")
        core.callkit(CallKit.reportNewIncomingCall.value, uuid, {"handle": handle})
        self.active_uuid, self.outgoing, self.ending = uuid, False, False
        self.connected_reported = self.answered_in_callkit = False
        core.callkit(CallKit.voipPushCompleted.value, uuid)
        if not relayed:  # nothing will ring: the app ends the CallKit call it reported, through
            # CallKit, as the guide's handler does; there is no SDK call to hang up (CK-END)
            self.client.later(lambda: self.perform(CallKit.CXEndCallAction.value, uuid, {}))

    def _second_push(self, uuid: str, args: dict[str, Any]) -> None:
        """CK-SECOND-CALL: a VoIP push during an active CallKit call. Apple's rule still holds,
        so it is reported under a UUID of its own (another call group); the SDK declines its
        call (busy: onMissedCall, or a SYSTEM_BUSY refusal), and the app ends that second
        CallKit call at once while the first goes on."""
        core = self.client._core
        if uuid == self.active_uuid:
            uuid = new_uuid()
        core.callkit(CallKit.voipPushReceived.value, uuid)
        data = args.get("data") or {k: args[k] for k in ("payload", "payloadVersion",
                                                         "subscriberName") if k in args}
        try:
            self.client.relaySessionData(data)
        except ExotelVoiceError:
            pass
        core.callkit(CallKit.reportNewIncomingCall.value, uuid, {"handle": "unknown"})
        core.callkit(CallKit.voipPushCompleted.value, uuid)
        core.callkit(CallKit.reportCallEnded.value, uuid)

    def _sdk(self, op: Any) -> bool:
        call = self.client.latest_call
        try:
            if call is None:
                raise ExotelVoiceError("INVALID_PARAMETER", "no call")
            op(call)
            return True
        except ExotelVoiceError:
            return False

    def _report_ended(self) -> None:
        if self.active_uuid is not None and not self.ending:
            self.client._core.callkit(CallKit.reportCallEnded.value, self.active_uuid)
        self.active_uuid = None

    # --- the SDK's callbacks -------------------------------------------------------------
    def onIncomingCall(self, call: Call) -> None:  # noqa: N802
        if self.active_uuid is None:
            uuid = new_uuid()
            self.client._core.callkit(CallKit.reportNewIncomingCall.value, uuid,
                                      {"handle": call.remote_id})
            self.active_uuid, self.outgoing, self.ending = uuid, False, False
            self.connected_reported = self.answered_in_callkit = False
        self._forward("onIncomingCall", call)

    def onCallInitiated(self, call: Call) -> None:  # noqa: N802
        self._forward("onCallInitiated", call)

    def onCallRinging(self, call: Call) -> None:  # noqa: N802
        if self.active_uuid is not None and self.outgoing:
            self.client._core.callkit(CallKit.reportOutgoingCallStartedConnecting.value,
                                      self.active_uuid)
        self._forward("onCallRinging", call)

    def onCallEstablished(self, call: Call) -> None:  # noqa: N802
        # the lifecycle diagram's "Connected Call" block, for either direction (as Exotel's
        # sample reports the connected call on whichever call is active)
        if (self.active_uuid is not None and not self.connected_reported
                and (self.outgoing or self.answered_in_callkit)):
            self.client._core.callkit(CallKit.reportOutgoingCallConnected.value, self.active_uuid)
            self.connected_reported = True
        self._forward("onCallEstablished", call)

    def onMediaDisrupted(self, call: Call) -> None:  # noqa: N802
        self._forward("onMediaDisrupted", call)

    def onRenewingMedia(self, call: Call) -> None:  # noqa: N802
        self._forward("onRenewingMedia", call)

    def onCallEnded(self, call: Call) -> None:  # noqa: N802
        self._report_ended()
        self.ending = False
        self._forward("onCallEnded", call)

    def onCallFailed(self, call: Call, error: ExotelVoiceError) -> None:  # noqa: N802
        self._report_ended()
        self.ending = False
        self._forward("onCallFailed", call, error)

    def onMissedCall(self, remoteId: str, time: Any) -> None:  # noqa: N802,N803
        if self.active_uuid is not None and not self.outgoing and \
                self.client.latest_call is None:
            self._report_ended()  # a pushed call CallKit showed, over before it was announced
        self._forward("onMissedCall", remoteId, time)

    def _forward(self, method: str, *args: Any) -> None:
        fn = getattr(self.inner, method, None) if self.inner is not None else None
        if fn is not None:
            fn(*args)


def _handle(args: dict[str, Any]) -> dict[str, Any] | None:
    handle = args.get("handle")
    return {"handle": handle} if handle else None
