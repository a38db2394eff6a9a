"""Mutants of audio management during a call (guide 4.4): mute, speaker and Bluetooth."""

from __future__ import annotations

from typing import Any

from ...vocabulary import Api, Env, ErrorType
from ..adapter import ApiResult, ClientAdapter
from .base import BrokenClient, Event


class MuteRefusedSecondTime(BrokenClient):
    """Keeps a 'muted once' flag per call instead of the microphone's state: after mute()
    and unmute(), a second mute() of the same call is refused with SYSTEM_BUSY though the
    call is live and unmuted (API-REFUSAL, FACTS; guide 4.4 mutes a live call). Only a call
    muted twice shows it."""

    fault = "mute-refused-second-time"
    rule = "API-REFUSAL"
    area = "audio"

    def __init__(self, inner: ClientAdapter) -> None:
        super().__init__(inner)
        self.muted_once: set[str] = set()

    def on_api(self, name: str, call: str | None, args: dict[str, Any] | None) -> ApiResult | None:
        if name != Api.mute.value:
            return None
        if call in self.muted_once:
            return ApiResult(ErrorType.SYSTEM_BUSY.value, call)
        res = self.inner.api(name, call=call, args=args)
        if res.ok:
            self.muted_once.add(str(call))
        return res


class BluetoothJoinedMidCall(BrokenClient):
    """Lists the Bluetooth devices once, when a call is established: a headset that
    connects during the call is unknown to it, and enableBluetooth() is refused with
    INVALID_PARAMETER though a Bluetooth device is connected (AUDIO-BT, guide 4.4). Only a
    headset paired mid-call and then chosen shows it."""

    fault = "bluetooth-joined-mid-call"
    rule = "AUDIO-BT"
    area = "audio"

    def __init__(self, inner: ClientAdapter) -> None:
        super().__init__(inner)
        self.live: set[str] = set()
        self.unknown_device = False

    def on_event(self, ev: Event) -> list[Event]:
        name, call = ev.get("name"), str(ev.get("call"))
        if name == "onCallEstablished":
            self.live.add(call)
        elif name in ("onCallEnded", "onCallFailed"):
            self.live.discard(call)
            self.unknown_device = False
        return [ev]

    def on_stimulus(self, name: str, call: str | None, args: dict[str, Any] | None) -> None:
        if name == Env.bluetoothConnected.value:
            self.unknown_device = bool(self.live)
        elif name == Env.bluetoothDisconnected.value:
            self.unknown_device = False

    def on_api(self, name: str, call: str | None, args: dict[str, Any] | None) -> ApiResult | None:
        if name == Api.enableBluetooth.value and self.unknown_device and call in self.live:
            return ApiResult(ErrorType.INVALID_PARAMETER.value, call)
        return None
