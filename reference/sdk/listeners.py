"""The guide's listener interfaces. Subclass and override what you need; every method has a
do-nothing default."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from exovoice.spec.vocabulary import LogLevel

if TYPE_CHECKING:
    from .call import Call
    from .core import ExotelVoiceError


class ExotelVoiceClientEventListener(Protocol):
    def onInitializationSuccess(self) -> None: ...  # noqa: N802
    def onInitializationFailure(self, error: "ExotelVoiceError") -> None: ...  # noqa: N802
    def onAuthenticationFailure(self, error: "ExotelVoiceError") -> None: ...  # noqa: N802
    def onLog(self, level: LogLevel, tag: str, message: str) -> None: ...  # noqa: N802
    def onUploadLogSuccess(self) -> None: ...  # noqa: N802
    def onUploadLogFailure(self, error: "ExotelVoiceError") -> None: ...  # noqa: N802
    def onDeinitialized(self) -> None: ...  # noqa: N802


class CallListener(Protocol):
    def onIncomingCall(self, call: "Call") -> None: ...  # noqa: N802
    def onCallInitiated(self, call: "Call") -> None: ...  # noqa: N802
    def onCallRinging(self, call: "Call") -> None: ...  # noqa: N802
    def onCallEstablished(self, call: "Call") -> None: ...  # noqa: N802
    def onMediaDisrupted(self, call: "Call") -> None: ...  # noqa: N802
    def onRenewingMedia(self, call: "Call") -> None: ...  # noqa: N802
    def onCallEnded(self, call: "Call") -> None: ...  # noqa: N802
    def onMissedCall(self, remoteId: str, time: datetime) -> None: ...  # noqa: N802,N803
    def onCallFailed(self, call: "Call", error: "ExotelVoiceError") -> None: ...  # noqa: N802
