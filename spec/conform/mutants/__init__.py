"""Mutants: deliberately broken clients, each the reference client with exactly one
realistic violation of one named rule of the spec, so the conformance suite and the
explorer can be measured by the faults they catch (bench/mutation.py).

    exovoice conform --client broken:<fault>      (EXOVOICE_CLIENT=broken:<fault>)

`exovoice.spec.conform` finds them through the entry-point group `exovoice.mutants` (this
package registers BROKEN there), the way it finds the reference client, so the conformance
room never imports the mutants it is measured with. Every mutant names its rule (`rule`,
an id of exovoice.spec.rules) and the part of the guide it lives in (`area`); its docstring
tells the bug as a developer would have written it.
"""

from __future__ import annotations

from .arguments import (
    AcceptsRatingNine,
    AcceptsRatingZero,
    DialsEmptyRemote,
    RefusesDtmfHash,
    SendsDtmfString,
    StripsDialMessage,
    TruncatesSubscriber,
)
from .audio import BluetoothJoinedMidCall, MuteRefusedSecondTime
from .base import BrokenClient
from .call_state import (
    AnswerTwiceAccepted,
    CallbackAfterEnded,
    EstablishedTwice,
    EstablishedWithoutAnswer,
    LeakedCallListener,
    RingingOnIncoming,
)
from .callkit import (
    CallKitDoubleFulfil,
    CallKitEndUnreported,
    CallKitMuteWithoutSdk,
    CallKitNeverFulfils,
    CallKitWrongUuid,
)
from .lifecycle import ListenerTwiceAfterReset, StopDuringCall
from .logs_feedback import (
    FeedbackDuringCall,
    FeedbackOncePerSession,
    SwapsLogDates,
    UploadNeverAnswered,
    UploadSuccessAfterFailure,
)
from .media import MediaNeverRestored, RenewingWithoutDisrupted, SecondDisruptionUnreported
from .ordering import EndedBeforeFailed, InitiatedAfterRinging, PushReportedAfterCompletion
from .pstn import DialDuringPstn, KeepsVoipAfterPstn, NoMissedCallDuringPstn, PlacedPstnUnseen
from .tokens import SilentOnRefusedToken
from .timing import LateEndAfterHangup

ALL: tuple[type[BrokenClient], ...] = (
    # call state
    RingingOnIncoming, EstablishedWithoutAnswer, EstablishedTwice, CallbackAfterEnded,
    LeakedCallListener, AnswerTwiceAccepted,
    # PSTN
    DialDuringPstn, NoMissedCallDuringPstn, KeepsVoipAfterPstn, PlacedPstnUnseen,
    # CallKit
    CallKitNeverFulfils, CallKitMuteWithoutSdk, CallKitDoubleFulfil, CallKitEndUnreported,
    CallKitWrongUuid,
    # arguments
    AcceptsRatingNine, AcceptsRatingZero, StripsDialMessage, DialsEmptyRemote,
    TruncatesSubscriber, RefusesDtmfHash, SendsDtmfString,
    # logs and feedback
    UploadNeverAnswered, UploadSuccessAfterFailure, SwapsLogDates, FeedbackDuringCall,
    FeedbackOncePerSession,
    # media
    RenewingWithoutDisrupted, MediaNeverRestored, SecondDisruptionUnreported,
    # ordering
    InitiatedAfterRinging, PushReportedAfterCompletion, EndedBeforeFailed,
    # life cycle, tokens, audio, timing
    ListenerTwiceAfterReset, StopDuringCall, SilentOnRefusedToken, MuteRefusedSecondTime,
    BluetoothJoinedMidCall, LateEndAfterHangup,
)

BROKEN: dict[str, type[BrokenClient]] = {cls.fault: cls for cls in ALL}

__all__ = ["ALL", "BROKEN", "BrokenClient"]
