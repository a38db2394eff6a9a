"""The phone around the app: the PSTN call (guide 4.8, 4.9), Bluetooth (4.4) and the network.

The PSTN chart holds only the PSTN call's own states; what it does to a VoIP call lives on the
call region's `pstnAnswered` edge and in the refusal rules, so each rule is stated once.
"""

from __future__ import annotations

from typing import Any

from statemachine import State

from .. import rules as R
from ..base import tag
from ..vocabulary import Api
from ..vocabulary import CallAudioRoute as A
from .call_state import edges


class PstnRegion(State.Compound, name="PSTN call"):
    pstn_idle = State("no PSTN call", initial=True)
    pstn_ringing = State("PSTN ringing")
    pstn_active = State("PSTN in progress")

    pstnRinging = tag(pstn_idle.to(pstn_ringing), R.PSTN_ENV, cause="a PSTN call lands")
    pstnAnswered = tag(pstn_ringing.to(pstn_active, cond="callkit_voip_call_cleared"), R.PSTN_ENV,
                       cause="the user accepts it")
    pstnDeclined = tag(pstn_ringing.to(pstn_idle), R.PSTN_VOIP_CONTINUES,
                       cause="the user declines or ignores it")
    pstnDialed = tag(pstn_idle.to(pstn_active), R.PSTN_ENV, cause="the user places a PSTN call")
    pstnEnded = tag(edges([pstn_active, pstn_ringing], pstn_idle), R.PSTN_ENV,
                    cause="the PSTN call is over")


class BluetoothRegion(State.Compound, name="Bluetooth"):
    bt_off = State("no Bluetooth device", initial=True)
    bt_on = State("Bluetooth device connected")

    bluetoothConnected = tag(bt_off.to(bt_on, on="device_changed"), R.AUDIO_BT_ENV)
    bluetoothDisconnected = tag(bt_on.to(bt_off, on="device_changed"), R.AUDIO_BT_ENV)


class AudioRegion(State.Compound, name="audio route"):
    """AUDIO-ROUTE: the wired headset, and the route getAudioRoute() may report (computed from
    the devices and the app's speaker and Bluetooth choices, see AudioGuards.routes)."""

    wired_off = State("no wired headset", initial=True)
    wired_on = State("wired headset plugged in")

    wiredHeadsetConnected = tag(wired_off.to(wired_on, on="device_changed"), R.AUDIO_WIRED_ENV)
    wiredHeadsetDisconnected = tag(wired_on.to(wired_off, on="device_changed"), R.AUDIO_WIRED_ENV)
    getAudioRoute = tag(edges([wired_off, wired_on], None, cond="route_ok"), R.AUDIO_ROUTE,
                        guard="the route the devices and choices allow")


class AudioGuards:
    """The audio route (guide 4.4): what a device change or an audio API call does to it."""

    v: Any

    def routes(self) -> frozenset[str]:
        """Every route getAudioRoute() may report now (AUDIO-ROUTE, permissive where the guide
        is silent: two devices connected, a choice carried over from an earlier call)."""
        bt_on = self.in_state("bt_on")
        if self.v.speaker is True:
            return frozenset({A.SPEAKER.value})
        if bt_on and self.v.bt_selected is True:
            device = {A.BLUETOOTH.value}
        else:
            device = set()
            if self.in_state("wired_on"):
                device.add(A.HEADPHONES.value)
            if bt_on and self.v.bt_selected is not False:
                device.add(A.BLUETOOTH.value)
            device = device or {A.EARPIECE.value}
        if self.v.speaker is None:
            device.add(A.SPEAKER.value)
        return frozenset(device)

    def route_ok(self, params: dict | None = None, **_: Any) -> bool:
        route = (params or {}).get("route")
        allowed = self.routes()
        return self.deny_unless(isinstance(route, str) and route in allowed, R.AUDIO_ROUTE,
                                f"route {route} reported where the guide gives "
                                f"{' or '.join(sorted(allowed))}")

    def device_changed(self, **_: Any) -> None:
        """A device came or went: audio is routed automatically again, and an earlier speaker
        choice may or may not survive the change."""
        self.v.bt_selected = None
        if self.v.speaker is True:
            self.v.speaker = None

    def audio_choice(self, event: Any = None, **_: Any) -> None:
        """An accepted audio API call: the app's choice of route."""
        name = getattr(event, "id", event)
        if name == Api.enableSpeaker.value:
            self.v.speaker = True
        elif name == Api.disableSpeaker.value:
            self.v.speaker = False
        elif name == Api.enableBluetooth.value:
            if self.in_state("bt_on"):  # AUDIO-BT: without a device the route is unchanged
                self.v.bt_selected = True
                self.v.speaker = False
        elif name == Api.disableBluetooth.value:
            self.v.bt_selected = False

    def callkit_voip_call_cleared(self) -> bool:
        """PSTN-CALLKIT: with CallKit, a PSTN call is accepted during an active CallKit VoIP call
        only once that call was held or ended."""
        if not self.v.callkit or not self.call_live or self.in_state("ck_idle"):
            return True
        return self.deny_unless(self.v.ck_held, R.PSTN_CALLKIT,
                                "the active CallKit VoIP call was neither held nor ended")

    # provided by the model
    call_live: bool

    def in_state(self, state_id: str) -> bool:
        raise NotImplementedError

    def deny_unless(self, ok: bool, rule: R.Rule, detail: str) -> bool:
        raise NotImplementedError


class NetworkRegion(State.Compound, name="network"):
    net_up = State("network up", initial=True)
    net_down = State("network lost")

    networkLost = tag(net_up.to(net_down), R.NET_ENV)
    networkRestored = tag(net_down.to(net_up), R.NET_ENV)
