"""Every rule of the specification, with a stable id and the place in the guide it comes from.

A rule is what a report cites when a client breaks it, so ids never change meaning once
published: retire an id rather than reuse it. `section` is a guide section as numbered in the
guide's body (its table of contents numbers 4.5 onwards one lower; the body is used), or
"FACTS" for Exotel's public SDK material collected in shared/design/FACTS.md, or "TRACE" for
the trace contract. `permissive` says, in one sentence, where the sources are ambiguous or
contradict each other and the spec therefore allows every documented behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    id: str
    section: str
    text: str
    permissive: str | None = None
    # the exact words of the guide (or of FACTS.md / TRACE-FORMAT.md, as `section` says) the
    # rule rests on, so a reader can audit it without the code; tests check they occur there
    quote: str | None = None
    quote_source: str | None = None  # "guide", "FACTS" or "TRACE"; default: by `section`

    @property
    def cite(self) -> str:
        where = f"guide {self.section}" if self.section[0].isdigit() else self.section
        return f"{self.id} ({where})"


RULES: dict[str, Rule] = {}


def rule(
    id: str,
    section: str,
    text: str,
    permissive: str | None = None,
    quote: str | None = None,
    quote_source: str | None = None,
) -> Rule:
    if id in RULES:
        raise ValueError(f"rule id {id} defined twice")
    source = quote_source or ("guide" if section[0].isdigit() else section)
    r = Rule(id, section, text, permissive, quote, source if quote else None)
    RULES[id] = r
    return r


# --- call state (4.3, 4.5, Call State Flow diagram) ------------------------------------------
CALL_DIAL = rule(
    "CALL-DIAL",
    "4.3.1",
    "dial() creates the call and returns it in OUTGOING_INITIATED.",
    quote="Outgoing: dial -> call object created in NONE -> OUTGOING_INITIATED (dial returns the call).",
    quote_source="FACTS",
)
CALL_INITIATED = rule(
    "CALL-INITIATED",
    "4.3",
    "onCallInitiated fires once for an outgoing call, while it is OUTGOING_INITIATED, before any "
    "other progress callback; an answered incoming call may get it once too.",
    permissive="The guide's comment says 'outgoing call initiated' but does not forbid it for an "
    "incoming call, and Exotel's sample app opens its in-call screen from onCallInitiated after "
    "answer() ('Answering..'), so one onCallInitiated after answer() is allowed as well.",
    quote="// Handler for outgoing call initiated event public func onCallInitiated(call: Call) { . . . }",
)
CALL_EARLY = rule(
    "CALL-EARLY",
    "4.5",
    "Early media moves an outgoing call to EARLY, with no callback.",
    quote="EARLY Indicates early media reception before the call is answered. - -",
)
CALL_RINGING = rule(
    "CALL-RINGING",
    "4.5",
    "onCallRinging moves an outgoing call (never an incoming one) from OUTGOING_INITIATED or "
    "EARLY to RINGING.",
    quote="RINGING The receiver's phone is ringing but hasn't been answered yet. onCallRinging() Ringing",
)
CALL_CONNECTING = rule(
    "CALL-CONNECTING",
    "4.5",
    "A call starting to connect moves to CONNECTING, with no callback.",
    quote="CONNECTING The call starts connecting. - Connecting",
)
CALL_ESTABLISHED_OUT = rule(
    "CALL-ESTABLISHED-OUT",
    "4.5",
    "onCallEstablished moves an answered outgoing call to ESTABLISHED (EARLY, RINGING and "
    "CONNECTING are each optional).",
    quote="ESTABLISHED Indicates that both parties have accepted the call, and communication is established. onCallEstablished() Connected",
)
CALL_RELAY = rule(
    "CALL-RELAY",
    "4.3.2",
    "relaySessionData() with a valid push creates an incoming call in NONE.",
    quote="Incoming: push data relayed -> call created in NONE",
    quote_source="FACTS",
)
CALL_INCOMING = rule(
    "CALL-INCOMING",
    "4.3.2",
    "onIncomingCall moves a relayed call from NONE to INCOMING.",
    quote="The voice library will process and validate the data and send an *onIncomingCall()* event to the application with the call object.",
)
CALL_ANSWER = rule(
    "CALL-ANSWER",
    "4.3.2",
    "answer() on an INCOMING call moves it to ANSWERING.",
    quote="ANSWERING Occurs when the user accepts the incoming call; it's a transitional phase before the call gets established.",
)
CALL_ESTABLISHED_IN = rule(
    "CALL-ESTABLISHED-IN",
    "4.5",
    "onCallEstablished moves an ANSWERING call to ESTABLISHED.",
    quote="`answer()` -> ANSWERING. - Both: ESTABLISHED (`onCallEstablished`).",
    quote_source="FACTS",
)
CALL_MEDIA_DISRUPTED = rule(
    "CALL-MEDIA-DISRUPTED",
    "4.5",
    "RTP loss moves an ESTABLISHED call, or one RENEWING_MEDIA, to MEDIA_DISRUPTED "
    "(onMediaDisrupted).",
    permissive="The guide describes the renewal only as a way back to ESTABLISHED; a renewal "
    "that fails (media lost again while renewing) is allowed to report onMediaDisrupted again.",
    quote="MEDIA_DISRUPTED Occurs if there's a disruption in media transmission during an ongoing call due to issues like RTP loss.",
)
CALL_MEDIA_RENEWING = rule(
    "CALL-MEDIA-RENEWING",
    "4.5",
    "RTP resuming or port renewal moves MEDIA_DISRUPTED to RENEWING_MEDIA (onRenewingMedia).",
    quote="RENEWING_MEDIA This state indicates that media (RTP) is resuming or renewing after being disrupted. onRenewingMedia() Reconnecting",
)
CALL_MEDIA_RESTORED = rule(
    "CALL-MEDIA-RESTORED",
    "4.5",
    "Restored media moves MEDIA_DISRUPTED or RENEWING_MEDIA back to ESTABLISHED, and "
    "onCallEstablished fires again.",
    quote="RTP back -> ESTABLISHED (`onCallEstablished` fires again).",
    quote_source="FACTS",
)
CALL_MEDIA_TIMEOUT = rule(
    "CALL-MEDIA-TIMEOUT",
    "4.5",
    "Media never restored ends the call from MEDIA_DISRUPTED or RENEWING_MEDIA with "
    "onCallEnded(MEDIA_TIMEOUT or MEDIA_FAILED_HANGUP).",
    quote="To handle such disruptions effectively ensuring continuity or termination based on severity it initiates reconnection procedures",
)
CALL_HANGUP = rule(
    "CALL-HANGUP",
    "4.3.1",
    "hangup() on a live call (cancel, terminate, or decline an incoming call) moves it to ENDING; "
    "a call the network drops may read ENDING before its onCallEnded too.",
    permissive="The guide's ENDING is 'ending or dropping' a call, so a dropped call may be "
    "observed ENDING before onCallEnded, or go straight to ENDED.",
    quote="`hangup()` -> ENDING",
    quote_source="FACTS",
)
CALL_ENDED_LOCAL = rule(
    "CALL-ENDED-LOCAL",
    "4.5",
    "An ENDING call ends with onCallEnded carrying the reason it was ended for (LOCAL_HANGUP "
    "after hangup(), PSTN_HANGUP after an accepted PSTN call).",
    permissive="The guide never says which CallEndReason a local hangup reports, so NONE is "
    "also allowed beside the cause's own reason.",
    quote="`hangup()` -> ENDING ; call ended -> ENDED, SystemState IDLE, `onCallEnded`.",
    quote_source="FACTS",
)
CALL_REMOTE_END_OUT = rule(
    "CALL-REMOTE-END-OUT",
    "4.3.1",
    "An outgoing call not yet established ends from the network with onCallEnded: busy, no "
    "answer within max_ringing_duration (TIMEOUT), unreachable, failure, remote rejection.",
    quote="CallEndReason: NONE, BUSY, FAILURE, INVALID_DIAL_INFO, LOCAL_HANGUP, REMOTE_HANGUP, MEDIA_FAILED_HANGUP, MEDIA_TIMEOUT, PSTN_HANGUP, THROTTLED, TIMEOUT, UNREACHABLE.",
    quote_source="FACTS",
)
CALL_REMOTE_END_IN = rule(
    "CALL-REMOTE-END-IN",
    "4.3.2",
    "An incoming call ends from the network (the caller hangs up first, ringing timeout, "
    "failure) with onCallEnded.",
    quote="// Handler for call termination event public func onCallEnded(call: Call) { . . . }",
)
CALL_REMOTE_END_EST = rule(
    "CALL-REMOTE-END-EST",
    "4.5",
    "An established call ends from the network (remote hangup, failure, "
    "max_conversation_duration) with onCallEnded.",
    quote="ENDING The process of ending or dropping an ongoing or established call starts here",
)
CALL_FAILED = rule(
    "CALL-FAILED",
    "9.1",
    "onCallFailed (CONGESTION_ERROR when the rate limit is exceeded) ends an outgoing call "
    "before it is established; at most one onCallEnded (THROTTLED or FAILURE) may follow it.",
    permissive="The guide names onCallFailed only in troubleshooting and never says whether "
    "onCallEnded follows, while the Call State Flow diagram ends every call with onCallEnded and "
    "FACTS lists the end reason THROTTLED, so both an onCallFailed alone and one followed by "
    "onCallEnded(THROTTLED or FAILURE) are allowed, with or without onCallInitiated.",
    quote="Check if `CallListener::onCallFailed()` event was received with error type CONGESTION\\_ERROR, which means rate limit quota was exceeded.",
)
CALL_MISSED = rule(
    "CALL-MISSED",
    "FACTS",
    "A relayed call that is over before it could be announced is reported through "
    "onMissedCall(remoteId, time), never onIncomingCall.",
    quote="`onMissedCall` fires when the user was already in a call, when the call had already ended when the push arrived",
)
CALL_ENDED_TERMINAL = rule(
    "CALL-ENDED-TERMINAL",
    "4.5",
    "ENDED is terminal: no call callback follows onCallEnded for that call (CALL-FAILED "
    "allows one onCallEnded after onCallFailed), and of its operations only postFeedback acts; "
    "the others are refused or do nothing (CALL-OP-STATE, AUDIO-LIVE).",
    quote="call ended -> ENDED, SystemState IDLE, `onCallEnded`.",
    quote_source="FACTS",
)

# --- system state (FACTS.md) ----------------------------------------------------------------
SYS_ONE_CALL = rule(
    "SYS-ONE-CALL",
    "4.7",
    "The SDK keeps a single call context: lines name the latest call, and a new call id only "
    "appears through dial() or an incoming call.",
    quote="This API can be queried only for the latest call since SDK maintains only a single call context.",
)
SYS_UNINIT = rule(
    "SYS-UNINIT",
    "FACTS",
    "dial() and relaySessionData() before initialization succeeded are refused with "
    "SDK_UNINITIALIZED.",
    quote="After successful initialization, the library is ready to handle calls.",
    quote_source="guide",
)
SYS_BUSY = rule(
    "SYS-BUSY",
    "FACTS",
    "dial() while a call exists is refused with SYSTEM_BUSY.",
    quote="`dial()` fails (throws) unless SystemState is IDLE **and** the PSTN call state is idle.",
)
SYS_RELAY_BUSY = rule(
    "SYS-RELAY-BUSY",
    "FACTS",
    "A push relayed while a call exists gives no onIncomingCall; it is reported through "
    "onMissedCall, one report for each push declined, in the order they were relayed.",
    permissive="The Call State Flow diagram says relaySessionData throws when SystemState is "
    "not IDLE while the API docs say onMissedCall fires, so a SYSTEM_BUSY refusal is allowed "
    "as well.",
    quote="The diagram says relaySessionData throws when SystemState is not IDLE; the API docs say `onMissedCall` fires when the user was already in a call",
)
SYS_PAYLOAD = rule(
    "SYS-PAYLOAD",
    "4.3.2",
    "relaySessionData() may refuse a malformed push with PAYLOAD_ERROR; a push for another "
    "subscriber never yields a call.",
    quote="The voice library will process and validate the data",
)
SYS_STATE = rule(
    "SYS-STATE",
    "FACTS",
    "SystemState follows the call: dial sets OUTGOING_CALL, relay INCOMING_CALL, ESTABLISHED "
    "IN_CALL, ENDED IDLE.",
    quote="Dial sets OUTGOING_CALL, relay sets INCOMING_CALL, ESTABLISHED sets IN_CALL, ENDED sets IDLE.",
)

API_REFUSAL = rule(
    "API-REFUSAL",
    "FACTS",
    "An API call is refused only where a refusal rule applies, with an ErrorType that rule "
    "lists, and is accepted otherwise.",
    quote="Where the sources disagree the spec must allow every documented behaviour and say so (permissive reading, written down).",
)
API_ENVIRONMENT = rule(
    "API-ENVIRONMENT",
    "4.1.4",
    "Any API operation may be refused for a cause in the phone rather than in the call flow: "
    "MISSING_PERMISSION (a permission the guide makes a prerequisite, e.g. Record permission, "
    "is not granted) or INTERNAL_ERROR.",
    permissive="The guide makes the permissions a prerequisite without saying which calls fail "
    "without them, so these two ErrorTypes are allowed refusals of every operation.",
    quote="Record permission",
)

# --- client lifecycle (4.2, 6, 4.10) --------------------------------------------------------
LC_INIT = rule(
    "LC-INIT",
    "4.2",
    "initialize() starts initialization.",
    quote="`ExotelVoice` Interface Class provides an entry point to initialize the voice library and set it up for handling calls.",
)
LC_INIT_OK = rule(
    "LC-INIT-OK",
    "4.2",
    "onInitializationSuccess ends a started initialization.",
    quote="Client library notifies *onInitializationSuccess()* on success and *onInitializationFailure()* on failure.",
)
LC_INIT_FAIL = rule(
    "LC-INIT-FAIL",
    "4.2",
    "onInitializationFailure ends a started initialization.",
    quote="Client library notifies *onInitializationSuccess()* on success and *onInitializationFailure()* on failure.",
)
LC_AUTH_FAIL = rule(
    "LC-AUTH-FAIL",
    "6",
    "onAuthenticationFailure carries AUTHENTICATION_INVALID_TOKEN or "
    "AUTHENTICATION_EXPIRED_TOKEN and leaves the client needing a new token.",
    quote="*onAuthenticationError()* event provides following error types: - AUTHENTICATION\\_INVALID\\_TOKEN - token parameters are invalid - AUTHENTICATION\\_EXPIRED\\_TOKEN - token expired",
)
LC_AUTH_CALL = rule(
    "LC-AUTH-CALL",
    "9.3",
    "When the platform refuses the token on a call attempt (a dial, or the session take of a "
    "relayed push), the SDK owes onAuthenticationFailure with AUTHENTICATION_INVALID_TOKEN or "
    "AUTHENTICATION_EXPIRED_TOKEN, before or after that call's end.",
    quote="Why is SDK reporting *onAuthenticationFailure* response for a subscriber token "
    "received from exotel platform?",
)
LC_REINIT = rule(
    "LC-REINIT",
    "6",
    "After onAuthenticationFailure the app re-initializes with a new token; until then the SDK "
    "may accept or refuse dial() and relaySessionData().",
    permissive="The guide says what the app should do after onAuthenticationFailure (request a "
    "new token, initialize again) but never that the SDK refuses every call until then, so "
    "dial() and relaySessionData() may be accepted (the call then fails or proceeds as the "
    "platform decides) or refused with SDK_UNINITIALIZED or an authentication ErrorType.",
    quote="On receiving the *onAuthenticationFailure* event, the application should request a new *subscriber\\_token* from its backend and reinitialize the SDK",
)
LC_RESET = rule(
    "LC-RESET",
    "FACTS",
    "reset() returns the client to not initialized.",
    quote="isInitialized, getCallController, relaySessionData(payload) -> bool, reset, stop (only when idle)",
)
LC_STOP = rule(
    "LC-STOP",
    "FACTS",
    "stop() is allowed only when no call exists; otherwise it is refused with SYSTEM_BUSY.",
    quote="`stop()` works only when the system state is idle (iOS 1.0.11, Android 1.0.62)",
)
LC_DEINIT = rule(
    "LC-DEINIT",
    "FACTS",
    "onDeinitialized fires at most once, after stop() or reset().",
    quote="`onDeinitialized` (1.0.4, with `stop()`)",
)
LC_INIT_DELAY = rule(
    "LC-INIT-DELAY",
    "FACTS",
    "onInitializationDelay (newer SDKs) reports an initialization slower than 5 s: only while "
    "an initialization is under way.",
    quote="newer SDKs add onDeinitialized and onInitializationDelay (initialization slower than "
    "5 s)",
)
LISTENER_LOG = rule(
    "LISTENER-LOG",
    "4.2",
    "onLog(level, tag, message) reports the library's own log lines: allowed at any point, with "
    "a LogLevel.",
    quote="// Logs reported by the voice library",
)
VOCAB_SHIPPING = rule(
    "VOCAB-SHIPPING",
    "FACTS",
    "The shipping SDKs' names stand for the guide's: onCallDisrupted is onMediaDisrupted, "
    "onCallRenewed the onCallEstablished that restores media, onAlreadyIntialized (sic) and "
    "onAlreadyInitialized answer initialize() as onInitializationSuccess does, "
    "onDestroyMediaSession is informational (allowed at any point); the state CALLING is "
    "OUTGOING_INITIATED, INCOMING_INITIATED is NONE or INCOMING, MEDIA_ACTIVE is ESTABLISHED; "
    "an api line's value (relaySessionData's Bool) is recorded, not judged.",
    permissive="Exotel documents these names without mapping them to the guide's, so each is "
    "read as its sample app uses it, and INCOMING_INITIATED, whose moment the sources do not "
    "give, may be either state of a relayed call before it is answered.",
    quote="the sample treats MEDIA_ACTIVE like ESTABLISHED",
)
LOG_UPLOAD = rule(
    "LOG-UPLOAD",
    "4.10",
    "uploadLogs() is answered by exactly one of onUploadLogSuccess or onUploadLogFailure; "
    "several uploads may be in flight, each accepted one owing its own answer.",
    permissive="The guide says each upload is answered but not that uploads run one at a time, "
    "so a second upload while one is in flight may be accepted (owing its own answer) or "
    "refused.",
    quote="The API triggers *onUploadLogSuccess()* or *onUploadLogFailure()* callback based on the success or failure of the operation.",
)
ARG_LOG_DATES = rule(
    "ARG-LOG-DATES",
    "4.10",
    "uploadLogs(startDate:endDate:description:) uploads the logs from startDate to endDate: a "
    "start after the end is refused.",
    permissive="The guide names no ErrorType for a bad range, so any ErrorType is allowed.",
    quote="// Upload logs with description from startDate and endDate",
)
LOG_UNINIT = rule(
    "LOG-UNINIT",
    "4.10",
    "uploadLogs() before initialization is refused with SDK_UNINITIALIZED.",
    permissive="The guide does not say whether logs can be uploaded before initialization, so "
    "an accepted upload is allowed as well.",
    quote="Any issue along with the logs can be reported by app to Exotel using *uploadLogs()* API of *ExotelVoice* Interface.",
)

# --- PSTN interruption (4.8, 4.9) -----------------------------------------------------------
PSTN_ENV = rule(
    "PSTN-ENV",
    "4.8",
    "The PSTN call on the phone rings, is accepted, declined or placed, and ends.",
    quote="`pstnRinging` (a PSTN call lands on the phone), `pstnAnswered` (the user accepts it), `pstnDeclined` (the user declines or lets it go), `pstnDialed` (the user places a PSTN call), `pstnEnded` (the PSTN call is over)",
    quote_source="TRACE",
)
PSTN_NO_DIAL = rule(
    "PSTN-NO-DIAL",
    "4.8",
    "While a PSTN call is in progress (ringing or active) dial() is refused with "
    "PSTN_CALL_INPROGRESS, with or without CallKit.",
    quote="When a PSTN call is in progress, no outgoing calls are allowed by the voice client.",
)
PSTN_AUTO_DECLINE = rule(
    "PSTN-AUTO-DECLINE",
    "4.8",
    "Without CallKit, an incoming VoIP call during a PSTN call is declined automatically and "
    "reported through onMissedCall, never onIncomingCall: each declined push owes its own "
    "onMissedCall, whether relaySessionData was accepted or refused with PSTN_CALL_INPROGRESS.",
    permissive="The guide does not say whether a ringing PSTN call is 'in progress' for an "
    "incoming VoIP call, so while it rings both the automatic decline and the normal flow are "
    "allowed; and it says the call is 'reported as a missed call' without saying whether "
    "relaySessionData also throws, so a PSTN_CALL_INPROGRESS refusal is allowed, but only "
    "together with the onMissedCall report, never instead of it.",
    quote="When a PSTN call is in progress, any incoming VoIP call is automatically declined by the voice library and reported as a missed call to the application.",
)
PSTN_VOIP_CONTINUES = rule(
    "PSTN-VOIP-CONTINUES",
    "4.8",
    "A VoIP call continues when a PSTN call lands and the user declines or ignores it.",
    quote="When a VoIP call is in progress and a PSTN call lands on the phone, then the VoIP call continues if the user declines or does not respond to the PSTN call.",
)
PSTN_VOIP_TERMINATED = rule(
    "PSTN-VOIP-TERMINATED",
    "4.8",
    "Without CallKit, accepting a PSTN call during a VoIP call terminates the VoIP call "
    "(onCallEnded with PSTN_HANGUP).",
    quote="If the user accepts the PSTN call, then the VoIP call is automatically terminated by the voice client.",
)
PSTN_CALLKIT = rule(
    "PSTN-CALLKIT",
    "4.9",
    "With CallKit, CallKit (not the SDK) resolves a VoIP call incoming during a PSTN call and "
    "a PSTN call landing during a VoIP call: the SDK neither declines the VoIP call nor ends it "
    "for the PSTN call, and a PSTN call is answered during an active CallKit VoIP call only "
    "after that call was held (a fulfilled CXSetHeldCallAction) or ended (CXEndCallAction).",
    quote="For these scenarios, Call kit provides options to the end user to either reject and "
    "accept the incoming call or hold and accept the incoming call.",
)

# --- CallKit lifecycle (4.3.3, 4.9, FACTS) --------------------------------------------------
CK_MODE = rule(
    "CK-MODE",
    "4.3.3",
    "CallKit lines appear only in a trace of an app that integrates CallKit.",
    quote="If your app is integrated with Call Kit, refer to the following [lifecycle diagram](#) to ensure there are no conflicts.",
)
CK_START = rule(
    "CK-START",
    "4.3.3",
    "An outgoing call is dialled first, then started in CallKit with CXStartCallAction and a "
    "new UUID, which the delegate fulfils.",
    quote="Then after make sure to call the start Transaction with **CXStartCallAction** (using the UUID).",
)
CK_ONE_UUID = rule(
    "CK-ONE-UUID",
    "4.3.3",
    "One CallKit call per call group (maximumCallsPerCallGroup = 1): one active UUID for the "
    "SDK's call, which its lines name, and at most one more, ungrouped, for a VoIP push that "
    "arrives during it (CK-SECOND-CALL).",
    permissive="Apple defines maximumCallsPerCallGroup as the calls of one group, not of the "
    "provider (maximumCallGroups defaults to 2), so the guide's setting forbids grouping calls, "
    "not a second call reported for a VoIP push.",
    quote="providerConfiguration.maximumCallsPerCallGroup = 1",
)
CK_SECOND_CALL = rule(
    "CK-SECOND-CALL",
    "FACTS",
    "A VoIP push during an active CallKit call is reported to CallKit under a new UUID, the SDK "
    "declines its call (onMissedCall, or a SYSTEM_BUSY refusal), and the app ends that second "
    "CallKit call (reportCallEnded, or a CXEndCallAction fulfilled without an SDK hangup) while "
    "the first goes on; under --complete each one must end.",
    quote="one call per call group (Apple: maximumCallGroups defaults to 2, so a second, "
    "ungrouped call, e.g. a VoIP push during a call, can still be reported)",
)
CK_ACTION_ONCE = rule(
    "CK-ACTION-ONCE",
    "FACTS",
    "Every CXAction is fulfilled or failed exactly once, naming the action.",
    quote="Every CXAction is fulfilled or failed exactly once; a timed-out action is neither.",
)
CK_ANSWER = rule(
    "CK-ANSWER",
    "4.3.3",
    "CXAnswerCallAction on the reported incoming call: the delegate calls answer(), then fulfils.",
    quote='func provider(_ provider: CXProvider, perform action: CXAnswerCallAction) { VoiceAppLogger.info(TAG: TAG, message: "CXAnswerCallAction") VoiceAppService.shared.answer() // Signal to the system that the action was successfully performed. action.fulfill()',
)
CK_END = rule(
    "CK-END",
    "4.3.3",
    "CXEndCallAction (reject, or end from the app or the CallKit UI): the delegate calls "
    "hangup() on the SDK's call, then fulfils; when there is no call to hang up (PushKit "
    "reported the call before anything was relayed, or the call is already over) it fulfils "
    "without an SDK call.",
    permissive="The guide's own handler is `try hangup()` in a do/catch followed by "
    "action.fulfill(), so a fulfilment after a refused hangup, or with no call object at all, "
    "is conformant.",
    quote="Both the sample app and the CallKit UI can initiate the action. - When the user ends the call, the sample app starts a transaction with ***CXEndCallAction*** (using the UUID). - Function *hangup()* is called.",
)
CK_MUTE = rule(
    "CK-MUTE",
    "FACTS",
    "CXSetMutedCallAction maps to mute()/unmute() on the active call: before the action is "
    "fulfilled the delegate calls mute() for muted true, unmute() for muted false (either when "
    "the action does not say).",
    quote="CXSetMutedCallAction maps to mute/unmute",
)
CK_HOLD = rule(
    "CK-HOLD",
    "4.9",
    "CXSetHeldCallAction holds the active call while the user accepts a PSTN call.",
    quote="Call kit provides options to the end user to either reject and accept the incoming call or hold and accept the incoming call.",
)
CK_REPORT_INCOMING = rule(
    "CK-REPORT-INCOMING",
    "4.3.3",
    "An incoming call is reported with reportNewIncomingCall after onIncomingCall, or as soon "
    "as its VoIP push arrives.",
    quote="When relay session data (push notification data) triggers an incoming call notification, the CallKit UI should be set up to display the incoming call with options to accept or reject.",
)
CK_REPORT_CONNECTING = rule(
    "CK-REPORT-CONNECTING",
    "4.3.3",
    "reportOutgoingCallStartedConnecting follows onCallRinging of the CallKit outgoing call.",
    quote="When sdk send **onCallRinging()** callback to app, app will start call kit timer for ringing after updating the status to ringing state. ``` provider?.reportOutgoingCall(with: activeUUID!, startedConnectingAt: nil)",
)
CK_REPORT_CONNECTED = rule(
    "CK-REPORT-CONNECTED",
    "FACTS",
    "reportOutgoingCallConnected follows onCallEstablished of the CallKit call, outgoing or "
    "incoming.",
    permissive="The CallKit lifecycle diagram's 'Connected Call' block applies to both "
    "directions and Exotel's sample reports the connected call on whichever call is active, so "
    "reporting an answered incoming call connected is allowed as well.",
    quote="onCallRinging -> reportOutgoingCall(startedConnectingAt) -> onCallEstablished -> reportOutgoingCall(connectedAt).",
)
CK_REPORT_ENDED = rule(
    "CK-REPORT-ENDED",
    "FACTS",
    "A CallKit call that ends other than by CXEndCallAction is reported with reportCallEnded, "
    "which frees its UUID.",
    quote="ended the CallKit call after onCallEnded through a CXEndCallAction whose SDK hangup may find the call already over.",
)
CK_RESET = rule(
    "CK-RESET",
    "FACTS",
    "providerDidReset drops every CallKit call and action; the app hangs up the call.",
    quote="providerDidReset hangs up the call.",
)
CK_PUSH = rule(
    "CK-PUSH",
    "FACTS",
    "A VoIP push is reported with reportNewIncomingCall before its handler completes "
    "(Apple's iOS 13 rule).",
    quote="a VoIP push received through PushKit must be reported to CallKit with reportNewIncomingCall before the push handler returns",
)

# --- arguments and audio (4.3.1, 4.4, 4.11, 5.2, 9.3) ---------------------------------------
ARG_DIAL_MESSAGE = rule(
    "ARG-DIAL-MESSAGE",
    "4.3.1",
    "dial()'s message allows letters, digits, comma, colon and the brackets {}()[] only; any "
    "other character is refused.",
    permissive="The guide names no ErrorType for a bad message, so INVALID_PARAMETER and "
    "INVALID_DIAL_INFO are both allowed.",
    quote="All alphanumeric characters are allowed along with comma `,` colon `:` and all kinds of brackets - <code>{ } ( ) [ ]</code>",
)
ARG_DIAL_REMOTE = rule(
    "ARG-DIAL-REMOTE",
    "4.3.1",
    "dial() needs a non-empty remoteId; an empty one is refused with INVALID_DIAL_INFO or "
    "INVALID_PARAMETER.",
    quote="Param Mandatory Description remoteID Yes",
)
ARG_RATING = rule(
    "ARG-RATING",
    "4.11",
    "postFeedback()'s rating is a whole number from 1 to 5.",
    quote="The rating is a quality score that can take values 1 to 5.",
)
ARG_ISSUE = rule(
    "ARG-ISSUE",
    "4.11",
    "postFeedback()'s issue is a CallIssue.",
    quote="CallIssue issue = BACKGROUND_NOISE mPreviousCall?.postFeedback(rating: rating, issue: issue)",
)
ARG_FEEDBACK_ENDED = rule(
    "ARG-FEEDBACK-ENDED",
    "4.11",
    "Feedback is posted at the end of the call: postFeedback() only for the latest call once "
    "it has ENDED; a missed call makes no new call object, so after onMissedCall the ended "
    "call before it is still the one feedback is for.",
    quote="Call quality can be queried from the user and reported to the exotel platform at the end of the call.",
)
ARG_SUBSCRIBER = rule(
    "ARG-SUBSCRIBER",
    "9.3",
    "A subscriber name is alphanumeric and fewer than 16 characters; initialize() with another "
    "is refused or fails, never succeeds.",
    permissive="The guide gives the limit only for the platform's 400 answer, so the SDK may "
    "refuse initialize() with INVALID_PARAMETER or report onInitializationFailure.",
    quote="Check subscriber_name format. It should be an alphanumeric string of size less than 16 characters.",
)
ARG_DTMF = rule(
    "ARG-DTMF",
    "FACTS",
    "sendDtmf() sends one of 0-9, *, # on a live call.",
    quote="Call: answer, hangup, mute, unmute, enableSpeaker, disableSpeaker, enableBluetooth, disableBluetooth, getAudioRoute, getCallDetails, getStatistics, postFeedback(rating 1..5, issue), sendDtmf(digit).",
)
CALL_OP_STATE = rule(
    "CALL-OP-STATE",
    "4.3",
    "answer() needs an INCOMING call and hangup() a live one; otherwise they are refused, "
    "except that hangup() on an ENDING or ENDED call may also be accepted as a no-op, and a "
    "refused operation may name the previous (ended) call object.",
    permissive="The guide names no ErrorType for these refusals, so any ErrorType is allowed; "
    "it shows that hangup() may throw, not that it must, so an accepted hangup() of a call "
    "that is already over is allowed too.",
    quote="Each call object provides a Call Interface to manage the call lifecycle and perform operations like answer incoming calls, hangup calls, mute, unmute, and get call statistics.",
)
AUDIO_LIVE = rule(
    "AUDIO-LIVE",
    "4.4",
    "mute, unmute, speaker, Bluetooth and DTMF controls act only on a live call; otherwise they "
    "are refused or do nothing.",
    permissive="The guide says the mic is muted 'during in-call' without saying what the calls "
    "do outside one, and FACTS records that the shipping SDK's mute, unmute and speaker calls "
    "do not throw, so outside a live call a refusal (any ErrorType: the guide names none) and "
    "an accepted no-op are both allowed.",
    quote="Local mic can be muted and unmuted during in-call using *Call* object APIs.",
)
AUDIO_BT = rule(
    "AUDIO-BT",
    "4.4",
    "enableBluetooth() works only while a Bluetooth device is connected: without one it is "
    "refused, or accepted with the audio route unchanged.",
    permissive="'This will only work when any bluetooth device is connected' does not say "
    "whether the call fails or does nothing, so both a refusal and an accepted no-op are "
    "allowed.",
    quote="Bluetooth mode can be enabled and disabled using *Call* object APIs. This will only work when any bluetooth device is connected to the phone.",
)
AUDIO_BT_ENV = rule(
    "AUDIO-BT-ENV",
    "4.4",
    "A Bluetooth device connects and disconnects.",
    quote="When a wired headset is plugged in or a Bluetooth headset is paired with a phone, it automatically routes audio over a new route.",
)
AUDIO_WIRED_ENV = rule(
    "AUDIO-WIRED-ENV",
    "4.4",
    "A wired headset is plugged in and unplugged.",
    quote="When a wired headset is plugged in",
)
AUDIO_ROUTE = rule(
    "AUDIO-ROUTE",
    "4.4",
    "The audio route getAudioRoute() reports: EARPIECE by default; HEADPHONES or BLUETOOTH once "
    "a wired headset or a Bluetooth device connects (automatically); SPEAKER after "
    "enableSpeaker(), BLUETOOTH after an accepted enableBluetooth() with a device, back to the "
    "device route (or EARPIECE) after disableSpeaker(), disableBluetooth() or when the device "
    "goes.",
    permissive="The guide does not say which route wins when a wired headset and a Bluetooth "
    "device are both connected, nor whether a new call keeps the last call's speaker choice, so "
    "either connected device's route is allowed then, and speaker and Bluetooth choices are "
    "allowed to persist or reset between calls.",
    quote="Default audio output mode is the earpiece. When a wired headset is plugged in or a "
    "Bluetooth headset is paired with a phone, it automatically routes audio over a new route.",
)
NET_ENV = rule(
    "NET-ENV",
    "FACTS",
    "The phone's network is lost and restored; the SDK reports what follows through the media "
    "and ending callbacks.",
    quote="it initiates reconnection procedures and moves to RECONNECTING if RTP loss persists.",
    quote_source="guide",
)


def by_id(rule_id: str) -> Rule:
    return RULES[rule_id]
