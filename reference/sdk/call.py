"""The guide's Call object, its CallDetails and CallStatistics."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

from exovoice.spec.vocabulary import (
    Api,
    CallAudioRoute,
    CallDirection,
    CallEndReason,
    CallIssue,
    CallState,
)

from ..net.seam import CallNetwork, CallStatistics
from .core import SpecCore


class CallOwner(Protocol):
    """What a Call asks of the client that made it (sdk.client.ExotelVoiceClient): the guide
    puts the call's API on the Call, the decisions stay in the client's core."""

    network: CallNetwork
    _core: SpecCore
    _latest: "Call | None"

    def _call_api(self, op: str, call: "Call | None",
                  params: dict[str, Any] | None = None) -> None: ...


@dataclass(frozen=True)
class CallDetails:
    callId: str  # noqa: N815
    sessionId: str | None  # noqa: N815
    callState: CallState  # noqa: N815
    callDirection: CallDirection  # noqa: N815
    callEndReason: CallEndReason  # noqa: N815
    remoteId: str  # noqa: N815
    remoteDisplayName: str  # noqa: N815
    callDuration: int  # noqa: N815  seconds since established
    callStartedTime: datetime  # noqa: N815
    callEstablishedTime: datetime | None  # noqa: N815
    callEndedTime: datetime | None  # noqa: N815

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in self.__dict__.items():
            out[k] = v.isoformat() if isinstance(v, datetime) else (
                v.value if hasattr(v, "value") else v)
        return out


class Call:
    """One call. Operations go through the client, which asks the spec; a Call that is no
    longer the client's latest call is detached: its operations are refused locally."""

    def __init__(self, client: CallOwner, call_id: str, direction: CallDirection,
                 remote_id: str, *, session_id: str | None = None,
                 display_name: str | None = None) -> None:
        self._client = client
        self.id = call_id
        self.direction = direction
        self.remote_id = remote_id
        self.session_id = session_id
        self.display_name = display_name or remote_id
        self.started = datetime.now(timezone.utc)
        self._established_mono: float | None = None
        self.established: datetime | None = None
        self.ended: datetime | None = None
        self.end_reason = CallEndReason.NONE
        self.final_state: CallState | None = None
        self.muted = False
        self.speaker = False
        self.bluetooth: bool | None = None  # None: routed automatically (no choice made)

    def __repr__(self) -> str:
        return f"<Call {self.id} {self.direction.value} {self.remote_id}>"

    # --- the guide's operations ----------------------------------------------------------
    def answer(self) -> None:
        self._client._call_api(Api.answer.value, self)
        self._client.network.answer(self)

    def hangup(self) -> None:
        was_ending = self._client._core.call_state() == CallState.ENDING
        self._client._call_api(Api.hangup.value, self)
        if not was_ending:
            self._client.network.end(self)

    def mute(self) -> None:
        self._client._call_api(Api.mute.value, self)
        self.muted = True

    def unmute(self) -> None:
        self._client._call_api(Api.unmute.value, self)
        self.muted = False

    def enableSpeaker(self) -> None:  # noqa: N802
        self._client._call_api(Api.enableSpeaker.value, self)
        self.speaker = True

    def disableSpeaker(self) -> None:  # noqa: N802
        self._client._call_api(Api.disableSpeaker.value, self)
        self.speaker = False

    def enableBluetooth(self) -> None:  # noqa: N802
        self._client._call_api(Api.enableBluetooth.value, self)
        self.bluetooth = True
        if self._client._core.in_state("bt_on"):
            self.speaker = False  # the device takes the audio from the speaker (AUDIO-ROUTE)

    def disableBluetooth(self) -> None:  # noqa: N802
        self._client._call_api(Api.disableBluetooth.value, self)
        self.bluetooth = False

    def sendDtmf(self, digit: str) -> None:  # noqa: N802
        self._client._call_api(Api.sendDtmf.value, self, {"digit": digit})

    def postFeedback(self, rating: int, issue: CallIssue | str) -> None:  # noqa: N802
        issue_name = issue.value if isinstance(issue, CallIssue) else issue
        self._client._call_api(Api.postFeedback.value, self, {"rating": rating, "issue": issue_name})

    def getAudioRoute(self) -> CallAudioRoute:  # noqa: N802
        """Guide 4.4: the earpiece by default; a wired headset or a Bluetooth device takes the
        audio automatically when it connects; the app's speaker and Bluetooth choices win.
        Also written to the trace as a getAudioRoute observation (AUDIO-ROUTE)."""
        core = self._client._core
        bt_on = core.in_state("bt_on")
        if self.speaker:
            route = CallAudioRoute.SPEAKER
        elif self.bluetooth and bt_on:
            route = CallAudioRoute.BLUETOOTH
        elif core.in_state("wired_on"):
            route = CallAudioRoute.HEADPHONES
        elif bt_on and self.bluetooth is not False:
            route = CallAudioRoute.BLUETOOTH
        else:
            route = CallAudioRoute.EARPIECE
        if self._client._latest is self:
            core.observe(Api.getAudioRoute.value, {"route": route.value}, call=self.id)
        return route

    def getCallState(self) -> CallState:  # noqa: N802
        """Also written to the trace as a `state` line (TRACE-FORMAT.md)."""
        if self._client._latest is not self:
            return self.final_state or CallState.ENDED
        return self._client._core.state_line(self.id) or CallState.NONE

    def getCallDetails(self) -> CallDetails:  # noqa: N802
        if self._client._latest is self:
            state = self._client._core.call_state() or CallState.NONE
        else:
            state = self.final_state or CallState.ENDED
        duration = 0
        if self._established_mono is not None:
            end = self._ended_mono if self.ended else time.monotonic()
            duration = int(end - self._established_mono)
        return CallDetails(self.id, self.session_id, state, self.direction, self.end_reason,
                           self.remote_id, self.display_name, duration, self.started,
                           self.established, self.ended)

    def getStatistics(self) -> CallStatistics:  # noqa: N802
        """What the client's network measures (exovoice.reference.net.seam.CallNetwork.statistics)."""
        return self._client.network.statistics(self)

    # --- beyond the guide ----------------------------------------------------------------
    @property
    def media_seconds(self) -> float:
        """Seconds the call has been (or was) established; 0 before that."""
        if self._established_mono is None:
            return 0.0
        end = self._ended_mono if self.ended else time.monotonic()
        return max(0.0, end - self._established_mono)

    # --- the client's bookkeeping --------------------------------------------------------
    _ended_mono: float = 0.0

    def _mark_established(self) -> None:
        if self.established is None:
            self.established = datetime.now(timezone.utc)
            self._established_mono = time.monotonic()

    def _mark_ended(self, reason: str | None) -> None:
        self.ended = datetime.now(timezone.utc)
        self._ended_mono = time.monotonic()
        self.final_state = CallState.ENDED
        if reason:
            self.end_reason = CallEndReason(reason)
