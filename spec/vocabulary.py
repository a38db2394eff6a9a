"""The words of the guide, defined once.

Every other module (charts, trace model, validator, diagrams, reference client, step library)
takes its names from here, so a name that is not in the guide, FACTS.md or TRACE-FORMAT.md
cannot appear anywhere else without failing an import.
"""

from __future__ import annotations

from enum import Enum


class _Named(str, Enum):
    """A str enum whose value is the exact spelling of the guide (and of the trace format)."""

    def __str__(self) -> str:
        return self.value

    @classmethod
    def names(cls) -> tuple[str, ...]:
        got = _NAMES_OF.get(cls)
        if got is None:  # asked per trace line by the argument checks: computed once
            got = _NAMES_OF[cls] = tuple(m.value for m in cls)
        return got


_NAMES_OF: dict[type, tuple[str, ...]] = {}


class CallState(_Named):
    """Guide 4.5 table plus ENDED (Call State Flow diagram); the diagram's MEDIA_RENEWING is
    spelled RENEWING_MEDIA as in the guide."""

    NONE = "NONE"
    OUTGOING_INITIATED = "OUTGOING_INITIATED"
    EARLY = "EARLY"
    RINGING = "RINGING"
    CONNECTING = "CONNECTING"
    INCOMING = "INCOMING"
    ANSWERING = "ANSWERING"
    ESTABLISHED = "ESTABLISHED"
    MEDIA_DISRUPTED = "MEDIA_DISRUPTED"
    RENEWING_MEDIA = "RENEWING_MEDIA"
    ENDING = "ENDING"
    ENDED = "ENDED"


class SystemState(_Named):
    """FACTS.md: the SDK's second state variable beside the CallState."""

    IDLE = "IDLE"
    OUTGOING_CALL = "OUTGOING_CALL"
    INCOMING_CALL = "INCOMING_CALL"
    IN_CALL = "IN_CALL"


class ErrorType(_Named):
    AUTHENTICATION_EXPIRED_TOKEN = "AUTHENTICATION_EXPIRED_TOKEN"
    AUTHENTICATION_INVALID_TOKEN = "AUTHENTICATION_INVALID_TOKEN"
    DEVICE_INTEGRITY_TEST_FAILURE = "DEVICE_INTEGRITY_TEST_FAILURE"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    INVALID_DIAL_INFO = "INVALID_DIAL_INFO"
    INVALID_PARAMETER = "INVALID_PARAMETER"
    MISSING_PERMISSION = "MISSING_PERMISSION"
    NETWORK_ERROR = "NETWORK_ERROR"
    PAYLOAD_ERROR = "PAYLOAD_ERROR"
    PSTN_CALL_INPROGRESS = "PSTN_CALL_INPROGRESS"
    SDK_UNINITIALIZED = "SDK_UNINITIALIZED"
    SERVER_ERROR = "SERVER_ERROR"
    SYSTEM_BUSY = "SYSTEM_BUSY"
    TONE_PLAYBACK_ERROR = "TONE_PLAYBACK_ERROR"
    UPLOAD_LOG_FAILURE = "UPLOAD_LOG_FAILURE"
    CONGESTION_ERROR = "CONGESTION_ERROR"  # guide 9.1: rate limit, through onCallFailed


class CallEndReason(_Named):
    NONE = "NONE"
    BUSY = "BUSY"
    FAILURE = "FAILURE"
    INVALID_DIAL_INFO = "INVALID_DIAL_INFO"
    LOCAL_HANGUP = "LOCAL_HANGUP"
    REMOTE_HANGUP = "REMOTE_HANGUP"
    MEDIA_FAILED_HANGUP = "MEDIA_FAILED_HANGUP"
    MEDIA_TIMEOUT = "MEDIA_TIMEOUT"
    PSTN_HANGUP = "PSTN_HANGUP"
    THROTTLED = "THROTTLED"
    TIMEOUT = "TIMEOUT"
    UNREACHABLE = "UNREACHABLE"


class CallIssue(_Named):
    """Guide 4.11."""

    NO_ISSUE = "NO_ISSUE"
    BACKGROUND_NOISE = "BACKGROUND_NOISE"
    CHOPPY_AUDIO = "CHOPPY_AUDIO"
    HIGH_LATENCY = "HIGH_LATENCY"
    NO_AUDIO = "NO_AUDIO"
    ECHO = "ECHO"


class CallDirection(_Named):
    INCOMING = "INCOMING"
    OUTGOING = "OUTGOING"


class CallAudioRoute(_Named):
    """Guide 4.4: EARPIECE is the default route."""

    EARPIECE = "EARPIECE"
    SPEAKER = "SPEAKER"
    BLUETOOTH = "BLUETOOTH"
    HEADPHONES = "HEADPHONES"


class LogLevel(_Named):
    NONE = "NONE"
    ERROR = "ERROR"
    WARNING = "WARNING"
    DEBUG = "DEBUG"
    INFO = "INFO"
    VERBOSE = "VERBOSE"
    ALL = "ALL"


class Kind(_Named):
    """TRACE-FORMAT.md line kinds."""

    META = "meta"
    API = "api"
    CALLBACK = "callback"
    STATE = "state"
    ENV = "env"
    CALLKIT = "callkit"


class Api(_Named):
    """The app calls the SDK (TRACE-FORMAT.md `api`)."""

    initialize = "initialize"
    reset = "reset"
    stop = "stop"
    dial = "dial"
    relaySessionData = "relaySessionData"
    answer = "answer"
    hangup = "hangup"
    mute = "mute"
    unmute = "unmute"
    enableSpeaker = "enableSpeaker"
    disableSpeaker = "disableSpeaker"
    enableBluetooth = "enableBluetooth"
    disableBluetooth = "disableBluetooth"
    sendDtmf = "sendDtmf"
    postFeedback = "postFeedback"
    uploadLogs = "uploadLogs"
    # an observation, not an operation (TRACE-FORMAT.md, added compatibly in v1): what
    # getAudioRoute() answered, in args.route
    getAudioRoute = "getAudioRoute"


class Callback(_Named):
    """The SDK calls the app (TRACE-FORMAT.md `callback`)."""

    onInitializationSuccess = "onInitializationSuccess"
    onInitializationFailure = "onInitializationFailure"
    onAuthenticationFailure = "onAuthenticationFailure"
    onDeinitialized = "onDeinitialized"
    onUploadLogSuccess = "onUploadLogSuccess"
    onUploadLogFailure = "onUploadLogFailure"
    onIncomingCall = "onIncomingCall"
    onCallInitiated = "onCallInitiated"
    onCallRinging = "onCallRinging"
    onCallEstablished = "onCallEstablished"
    onMediaDisrupted = "onMediaDisrupted"
    onRenewingMedia = "onRenewingMedia"
    onCallEnded = "onCallEnded"
    onMissedCall = "onMissedCall"
    onCallFailed = "onCallFailed"
    # added compatibly in v1 (TRACE-FORMAT.md): the guide's onLog (4.2), newer SDKs'
    # onInitializationDelay (FACTS.md), and the names the shipping SDKs use beside the guide's
    onLog = "onLog"
    onInitializationDelay = "onInitializationDelay"
    onAlreadyInitialized = "onAlreadyInitialized"
    onAlreadyIntialized = "onAlreadyIntialized"  # sic: the iOS SDK's spelling
    onDestroyMediaSession = "onDestroyMediaSession"
    onCallDisrupted = "onCallDisrupted"  # iOS
    onCallRenewed = "onCallRenewed"  # iOS


class Env(_Named):
    """The phone around the app (TRACE-FORMAT.md `env`)."""

    pstnRinging = "pstnRinging"
    pstnAnswered = "pstnAnswered"
    pstnDeclined = "pstnDeclined"
    pstnDialed = "pstnDialed"
    pstnEnded = "pstnEnded"
    bluetoothConnected = "bluetoothConnected"
    bluetoothDisconnected = "bluetoothDisconnected"
    networkLost = "networkLost"
    networkRestored = "networkRestored"
    wiredHeadsetConnected = "wiredHeadsetConnected"  # added compatibly in v1 (guide 4.4)
    wiredHeadsetDisconnected = "wiredHeadsetDisconnected"


class CallKit(_Named):
    """Between app and CallKit (TRACE-FORMAT.md `callkit`); all carry args.uuid."""

    CXStartCallAction = "CXStartCallAction"
    CXAnswerCallAction = "CXAnswerCallAction"
    CXEndCallAction = "CXEndCallAction"
    CXSetMutedCallAction = "CXSetMutedCallAction"
    CXSetHeldCallAction = "CXSetHeldCallAction"
    actionFulfilled = "actionFulfilled"
    actionFailed = "actionFailed"
    reportNewIncomingCall = "reportNewIncomingCall"
    reportOutgoingCallStartedConnecting = "reportOutgoingCallStartedConnecting"
    reportOutgoingCallConnected = "reportOutgoingCallConnected"
    reportCallEnded = "reportCallEnded"
    providerDidReset = "providerDidReset"
    voipPushReceived = "voipPushReceived"
    voipPushCompleted = "voipPushCompleted"


class Network(_Named):
    """What happens on the network: never written in a trace, so the validator treats these
    as unobserved internal steps (TRACE-FORMAT.md). Names are prefixed so they can never
    collide with an observable name."""

    net_early_media = "net_early_media"  # 183 Session Progress with SDP
    net_ringing = "net_ringing"  # 180 Ringing
    net_connecting = "net_connecting"  # the callee answered; media is being set up
    net_answered = "net_answered"  # 200 OK / ACK: both parties accepted
    net_rtp_lost = "net_rtp_lost"
    net_rtp_renewing = "net_rtp_renewing"  # RTP resuming or the port renewing
    net_rtp_restored = "net_rtp_restored"
    net_media_timeout = "net_media_timeout"
    net_remote_hangup = "net_remote_hangup"  # BYE / CANCEL from the far end
    net_busy = "net_busy"  # 486 Busy Here
    net_no_answer = "net_no_answer"  # max_ringing_duration elapsed
    net_unreachable = "net_unreachable"  # 480 / 404
    net_failure = "net_failure"  # 5xx, transport failure
    net_congestion = "net_congestion"  # 503 / rate limit
    net_push_valid = "net_push_valid"  # the relayed push named a live session
    net_push_stale = "net_push_stale"  # the session was over before it could be announced
    net_call_sent = "net_call_sent"  # the INVITE reached the platform
    net_bye_done = "net_bye_done"  # a local hangup completed
    net_initialized = "net_initialized"
    net_init_failed = "net_init_failed"
    net_token_rejected = "net_token_rejected"
    net_upload_done = "net_upload_done"
    net_upload_failed = "net_upload_failed"
    net_call_dropping = "net_call_dropping"  # the network drops the call; ENDING, then onCallEnded


# The CallKit actions a CXProviderDelegate must fulfil or fail exactly once (FACTS.md).
CALLKIT_ACTIONS: tuple[str, ...] = (
    CallKit.CXStartCallAction.value,
    CallKit.CXAnswerCallAction.value,
    CallKit.CXEndCallAction.value,
    CallKit.CXSetMutedCallAction.value,
    CallKit.CXSetHeldCallAction.value,
)

# Which enum holds the names of each observable kind (meta has the single name `trace`).
KIND_NAMES: dict[Kind, tuple[str, ...]] = {
    Kind.META: ("trace",),
    Kind.API: Api.names(),
    Kind.CALLBACK: Callback.names(),
    Kind.STATE: CallState.names() + ("CALLING", "INCOMING_INITIATED", "MEDIA_ACTIVE"),
    Kind.ENV: Env.names(),
    Kind.CALLKIT: CallKit.names(),
}

# Events the composed model accepts, by the kind a trace writes them with.
OBSERVABLE_EVENTS: dict[str, Kind] = {
    name: kind
    for kind in (Kind.API, Kind.CALLBACK, Kind.ENV, Kind.CALLKIT)
    for name in KIND_NAMES[kind]
}
# What a diagram writes for each network happening.
NETWORK_LABEL: dict[str, str] = {
    "net_early_media": "183 early media",
    "net_ringing": "180 Ringing",
    "net_connecting": "callee answered",
    "net_answered": "200 OK, media up",
    "net_rtp_lost": "RTP loss",
    "net_rtp_renewing": "RTP resuming / port renewal",
    "net_rtp_restored": "RTP back",
    "net_media_timeout": "media never restored",
    "net_remote_hangup": "remote hangup",
    "net_busy": "486 busy",
    "net_no_answer": "no answer in max_ringing_duration",
    "net_unreachable": "unreachable",
    "net_failure": "failure",
    "net_congestion": "rate limit",
    "net_push_valid": "session confirmed",
    "net_push_stale": "session already over",
    "net_call_sent": "call reached the platform",
    "net_bye_done": "hangup completed",
    "net_initialized": "registration ok",
    "net_init_failed": "initialization failed",
    "net_token_rejected": "token rejected",
    "net_upload_done": "upload done",
    "net_upload_failed": "upload failed",
    "net_call_dropping": "call dropping",
}
assert set(NETWORK_LABEL) == set(Network.names()), "every network happening needs a label"

# Network causes that change a state without any callback: the only events the composed model
# takes that no trace line can name.
INTERNAL_EVENTS: tuple[str, ...] = (Network.net_early_media.value, Network.net_connecting.value)

# The iOS CallState enum's values beyond the guide's (TRACE-FORMAT.md, added compatibly in
# v1), each observed as the guide states it may stand for (rule VOCAB-SHIPPING): CALLING is
# the dialled call before any answer (pjsip's CALLING), INCOMING_INITIATED the incoming call
# object before or at its announcement, MEDIA_ACTIVE the established call (the sample app
# treats it like ESTABLISHED).
STATE_ALIASES: dict[str, frozenset[str]] = {
    "CALLING": frozenset({CallState.OUTGOING_INITIATED.value}),
    "INCOMING_INITIATED": frozenset({CallState.NONE.value, CallState.INCOMING.value}),
    "MEDIA_ACTIVE": frozenset({CallState.ESTABLISHED.value}),
}


def guide_states(name: str) -> frozenset[str]:
    """The guide's CallState values a `state` line's name stands for."""
    return STATE_ALIASES.get(name, frozenset({name}))


# Callbacks that are the shipping SDKs' names for a guide callback (rule VOCAB-SHIPPING):
# the iOS onCallDisrupted is onMediaDisrupted, onCallRenewed the onCallEstablished that
# restores media (the sample shows "Connected" on it), and onAlreadyIntialized (sic) and
# onAlreadyInitialized answer an initialize() as onInitializationSuccess does (the SDK was
# already registered). The charts give each alias the edges of its guide callback.
CALLBACK_ALIASES: dict[str, str] = {
    "onCallDisrupted": "onMediaDisrupted",
    "onCallRenewed": "onCallEstablished",
    "onAlreadyIntialized": "onInitializationSuccess",
    "onAlreadyInitialized": "onInitializationSuccess",
}

# Listener callbacks that report and change nothing: allowed in every configuration.
INFORMATIONAL_CALLBACKS: frozenset[str] = frozenset({"onLog", "onDestroyMediaSession"})

# API lines that observe instead of operate: never refused, judged on what they report.
OBSERVATIONS: frozenset[str] = frozenset({"getAudioRoute"})

# Callbacks that concern one call (the others concern the client).
CALL_CALLBACKS: frozenset[str] = frozenset(
    {
        Callback.onIncomingCall,
        Callback.onCallInitiated,
        Callback.onCallRinging,
        Callback.onCallEstablished,
        Callback.onMediaDisrupted,
        Callback.onRenewingMedia,
        Callback.onCallEnded,
        Callback.onCallFailed,
        Callback.onCallDisrupted,
        Callback.onCallRenewed,
    }
)

# Guide 4.5: the message to show on the calling screen for each state ("-" where none).
DISPLAY_MESSAGE: dict[CallState, str | None] = {
    CallState.NONE: None,
    CallState.OUTGOING_INITIATED: "Connecting",
    CallState.EARLY: None,
    CallState.RINGING: "Ringing",
    CallState.CONNECTING: "Connecting",
    CallState.INCOMING: "Caller ID",
    CallState.ANSWERING: "Answering",
    CallState.ESTABLISHED: "Connected",
    CallState.MEDIA_DISRUPTED: "Reconnecting",
    CallState.RENEWING_MEDIA: "Reconnecting",
    CallState.ENDING: None,
    CallState.ENDED: None,
}
