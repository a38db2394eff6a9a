"""The phone around the app: the PSTN call (guide 4.8, 4.9), Bluetooth (4.4) and the network.

The PSTN chart holds only the PSTN call's own states; what it does to a VoIP call lives on the
call region's `pstnAnswered` edge and in the refusal rules, so each rule is stated once.
"""

from __future__ import annotations

from statemachine import State

from .. import rules as R
from ..base import tag
from .call_state import edges


class PstnRegion(State.Compound, name="PSTN call"):
    pstn_idle = State("no PSTN call", initial=True)
    pstn_ringing = State("PSTN ringing")
    pstn_active = State("PSTN in progress")

    pstnRinging = tag(pstn_idle.to(pstn_ringing), R.PSTN_ENV, cause="a PSTN call lands")
    pstnAnswered = tag(pstn_ringing.to(pstn_active), R.PSTN_ENV, cause="the user accepts it")
    pstnDeclined = tag(pstn_ringing.to(pstn_idle), R.PSTN_VOIP_CONTINUES,
                       cause="the user declines or ignores it")
    pstnDialed = tag(pstn_idle.to(pstn_active), R.PSTN_ENV, cause="the user places a PSTN call")
    pstnEnded = tag(edges([pstn_active, pstn_ringing], pstn_idle), R.PSTN_ENV,
                    cause="the PSTN call is over")


class BluetoothRegion(State.Compound, name="Bluetooth"):
    bt_off = State("no Bluetooth device", initial=True)
    bt_on = State("Bluetooth device connected")

    bluetoothConnected = tag(bt_off.to(bt_on), R.AUDIO_BT_ENV)
    bluetoothDisconnected = tag(bt_on.to(bt_off), R.AUDIO_BT_ENV)


class NetworkRegion(State.Compound, name="network"):
    net_up = State("network up", initial=True)
    net_down = State("network lost")

    networkLost = tag(net_up.to(net_down), R.NET_ENV)
    networkRestored = tag(net_down.to(net_up), R.NET_ENV)
