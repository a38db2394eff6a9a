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

    @property
    def cite(self) -> str:
        where = f"guide {self.section}" if self.section[0].isdigit() else self.section
        return f"{self.id} ({where})"


RULES: dict[str, Rule] = {}


def rule(id: str, section: str, text: str, permissive: str | None = None) -> Rule:
    if id in RULES:
        raise ValueError(f"rule id {id} defined twice")
    r = Rule(id, section, text, permissive)
    RULES[id] = r
    return r


# --- call state (4.3, 4.5, Call State Flow diagram) ------------------------------------------
CALL_DIAL = rule("CALL-DIAL", "4.3.1", "dial() creates the call and returns it in OUTGOING_INITIATED.")
CALL_INITIATED = rule(
    "CALL-INITIATED",
    "4.3",
    "onCallInitiated fires once for an outgoing call, while it is OUTGOING_INITIATED, before any "
    "other progress callback.",
)
CALL_EARLY = rule("CALL-EARLY", "4.5", "Early media moves an outgoing call to EARLY, with no callback.")
CALL_RINGING = rule(
    "CALL-RINGING",
    "4.5",
    "onCallRinging moves an outgoing call (never an incoming one) from OUTGOING_INITIATED or "
    "EARLY to RINGING.",
)
CALL_CONNECTING = rule("CALL-CONNECTING", "4.5", "A call starting to connect moves to CONNECTING, with no callback.")
CALL_ESTABLISHED_OUT = rule(
    "CALL-ESTABLISHED-OUT",
    "4.5",
    "onCallEstablished moves an answered outgoing call to ESTABLISHED (EARLY, RINGING and "
    "CONNECTING are each optional).",
)
CALL_RELAY = rule(
    "CALL-RELAY",
    "4.3.2",
    "relaySessionData() with a valid push creates an incoming call in NONE.",
)
CALL_INCOMING = rule("CALL-INCOMING", "4.3.2", "onIncomingCall moves a relayed call from NONE to INCOMING.")
CALL_ANSWER = rule("CALL-ANSWER", "4.3.2", "answer() on an INCOMING call moves it to ANSWERING.")
CALL_ESTABLISHED_IN = rule("CALL-ESTABLISHED-IN", "4.5", "onCallEstablished moves an ANSWERING call to ESTABLISHED.")
CALL_MEDIA_DISRUPTED = rule(
    "CALL-MEDIA-DISRUPTED", "4.5", "RTP loss moves an ESTABLISHED call to MEDIA_DISRUPTED (onMediaDisrupted)."
)
CALL_MEDIA_RENEWING = rule(
    "CALL-MEDIA-RENEWING",
    "4.5",
    "RTP resuming or port renewal moves MEDIA_DISRUPTED to RENEWING_MEDIA (onRenewingMedia).",
)
CALL_MEDIA_RESTORED = rule(
    "CALL-MEDIA-RESTORED",
    "4.5",
    "Restored media moves MEDIA_DISRUPTED or RENEWING_MEDIA back to ESTABLISHED, and "
    "onCallEstablished fires again.",
)
CALL_MEDIA_TIMEOUT = rule(
    "CALL-MEDIA-TIMEOUT",
    "4.5",
    "Media never restored ends the call from MEDIA_DISRUPTED or RENEWING_MEDIA with "
    "onCallEnded(MEDIA_TIMEOUT or MEDIA_FAILED_HANGUP).",
)
CALL_HANGUP = rule(
    "CALL-HANGUP",
    "4.3.1",
    "hangup() on a live call (cancel, terminate, or decline an incoming call) moves it to ENDING.",
)
CALL_ENDED_LOCAL = rule(
    "CALL-ENDED-LOCAL",
    "4.5",
    "An ENDING call ends with onCallEnded carrying the reason it was ended for (LOCAL_HANGUP "
    "after hangup(), PSTN_HANGUP after an accepted PSTN call).",
    permissive="The guide never says which CallEndReason a local hangup reports, so NONE is "
    "also allowed beside the cause's own reason.",
)
CALL_REMOTE_END_OUT = rule(
    "CALL-REMOTE-END-OUT",
    "4.3.1",
    "An outgoing call not yet established ends from the network with onCallEnded: busy, no "
    "answer within max_ringing_duration (TIMEOUT), unreachable, failure, remote rejection.",
)
CALL_REMOTE_END_IN = rule(
    "CALL-REMOTE-END-IN",
    "4.3.2",
    "An incoming call ends from the network (the caller hangs up first, ringing timeout, "
    "failure) with onCallEnded.",
)
CALL_REMOTE_END_EST = rule(
    "CALL-REMOTE-END-EST",
    "4.5",
    "An established call ends from the network (remote hangup, failure, "
    "max_conversation_duration) with onCallEnded.",
)
CALL_FAILED = rule(
    "CALL-FAILED",
    "9.1",
    "onCallFailed (CONGESTION_ERROR when the rate limit is exceeded) ends an outgoing call "
    "before it is established; it is that call's last callback.",
    permissive="The guide names onCallFailed only in troubleshooting, so the spec takes it as "
    "a final callback that may come with or without onCallInitiated.",
)
CALL_MISSED = rule(
    "CALL-MISSED",
    "FACTS",
    "A relayed call that is over before it could be announced is reported through "
    "onMissedCall(remoteId, time), never onIncomingCall.",
)
CALL_ENDED_TERMINAL = rule(
    "CALL-ENDED-TERMINAL",
    "4.5",
    "ENDED is terminal: no call callback and no call operation but postFeedback follows "
    "onCallEnded for that call.",
)

# --- system state (FACTS.md) ----------------------------------------------------------------
SYS_ONE_CALL = rule(
    "SYS-ONE-CALL",
    "4.7",
    "The SDK keeps a single call context: lines name the latest call, and a new call id only "
    "appears through dial() or an incoming call.",
)
SYS_UNINIT = rule(
    "SYS-UNINIT",
    "FACTS",
    "dial() and relaySessionData() before initialization succeeded are refused with "
    "SDK_UNINITIALIZED.",
)
SYS_BUSY = rule("SYS-BUSY", "FACTS", "dial() while a call exists is refused with SYSTEM_BUSY.")
SYS_RELAY_BUSY = rule(
    "SYS-RELAY-BUSY",
    "FACTS",
    "A push relayed while a call exists gives no onIncomingCall; it is reported through "
    "onMissedCall.",
    permissive="The Call State Flow diagram says relaySessionData throws when SystemState is "
    "not IDLE while the API docs say onMissedCall fires, so a SYSTEM_BUSY refusal is allowed "
    "as well.",
)
SYS_PAYLOAD = rule(
    "SYS-PAYLOAD",
    "4.3.2",
    "relaySessionData() may refuse a malformed push with PAYLOAD_ERROR; a push for another "
    "subscriber never yields a call.",
)
SYS_STATE = rule(
    "SYS-STATE",
    "FACTS",
    "SystemState follows the call: dial sets OUTGOING_CALL, relay INCOMING_CALL, ESTABLISHED "
    "IN_CALL, ENDED IDLE.",
)

API_REFUSAL = rule(
    "API-REFUSAL",
    "FACTS",
    "An API call is refused only where a refusal rule applies, with an ErrorType that rule "
    "lists, and is accepted otherwise.",
)

# --- client lifecycle (4.2, 6, 4.10) --------------------------------------------------------
LC_INIT = rule("LC-INIT", "4.2", "initialize() starts initialization.")
LC_INIT_OK = rule("LC-INIT-OK", "4.2", "onInitializationSuccess ends a started initialization.")
LC_INIT_FAIL = rule("LC-INIT-FAIL", "4.2", "onInitializationFailure ends a started initialization.")
LC_AUTH_FAIL = rule(
    "LC-AUTH-FAIL",
    "6",
    "onAuthenticationFailure carries AUTHENTICATION_INVALID_TOKEN or "
    "AUTHENTICATION_EXPIRED_TOKEN and leaves the client needing a new token.",
)
LC_REINIT = rule(
    "LC-REINIT",
    "6",
    "After onAuthenticationFailure the app re-initializes with a new token.",
)
LC_RESET = rule("LC-RESET", "FACTS", "reset() returns the client to not initialized.")
LC_STOP = rule(
    "LC-STOP",
    "FACTS",
    "stop() is allowed only when no call exists; otherwise it is refused with SYSTEM_BUSY.",
)
LC_DEINIT = rule("LC-DEINIT", "FACTS", "onDeinitialized fires at most once, after stop() or reset().")
LOG_UPLOAD = rule(
    "LOG-UPLOAD",
    "4.10",
    "uploadLogs() is answered by exactly one of onUploadLogSuccess or onUploadLogFailure.",
)
LOG_UNINIT = rule(
    "LOG-UNINIT",
    "4.10",
    "uploadLogs() before initialization is refused with SDK_UNINITIALIZED.",
    permissive="The guide does not say whether logs can be uploaded before initialization, so "
    "an accepted upload is allowed as well.",
)

# --- PSTN interruption (4.8, 4.9) -----------------------------------------------------------
PSTN_ENV = rule(
    "PSTN-ENV",
    "4.8",
    "The PSTN call on the phone rings, is accepted, declined or placed, and ends.",
)
PSTN_NO_DIAL = rule(
    "PSTN-NO-DIAL",
    "4.8",
    "While a PSTN call is in progress (ringing or active) dial() is refused with "
    "PSTN_CALL_INPROGRESS, with or without CallKit.",
)
PSTN_AUTO_DECLINE = rule(
    "PSTN-AUTO-DECLINE",
    "4.8",
    "Without CallKit, an incoming VoIP call during a PSTN call is declined automatically and "
    "reported through onMissedCall, never onIncomingCall.",
    permissive="The guide does not say whether a ringing PSTN call is 'in progress' for an "
    "incoming VoIP call, so while it rings both the automatic decline and the normal flow are "
    "allowed; relaySessionData may report the decline as accepted or as PSTN_CALL_INPROGRESS.",
)
PSTN_VOIP_CONTINUES = rule(
    "PSTN-VOIP-CONTINUES",
    "4.8",
    "A VoIP call continues when a PSTN call lands and the user declines or ignores it.",
)
PSTN_VOIP_TERMINATED = rule(
    "PSTN-VOIP-TERMINATED",
    "4.8",
    "Without CallKit, accepting a PSTN call during a VoIP call terminates the VoIP call "
    "(onCallEnded with PSTN_HANGUP).",
)
PSTN_CALLKIT = rule(
    "PSTN-CALLKIT",
    "4.9",
    "With CallKit, CallKit (not the SDK) resolves a VoIP call incoming during a PSTN call and "
    "a PSTN call landing during a VoIP call: the user rejects, or holds and accepts.",
)

# --- CallKit lifecycle (4.3.3, 4.9, FACTS) --------------------------------------------------
CK_MODE = rule("CK-MODE", "4.3.3", "CallKit lines appear only in a trace of an app that integrates CallKit.")
CK_START = rule(
    "CK-START",
    "4.3.3",
    "An outgoing call is dialled first, then started in CallKit with CXStartCallAction and a "
    "new UUID, which the delegate fulfils.",
)
CK_ONE_UUID = rule(
    "CK-ONE-UUID",
    "4.3.3",
    "One active CallKit UUID at a time (maximumCallsPerCallGroup = 1); every line names it.",
)
CK_ACTION_ONCE = rule(
    "CK-ACTION-ONCE",
    "FACTS",
    "Every CXAction is fulfilled or failed exactly once, naming the action.",
)
CK_ANSWER = rule(
    "CK-ANSWER",
    "4.3.3",
    "CXAnswerCallAction on the reported incoming call: the delegate calls answer(), then fulfils.",
)
CK_END = rule(
    "CK-END",
    "4.3.3",
    "CXEndCallAction (reject, or end from the app or the CallKit UI): the delegate calls "
    "hangup(), then fulfils.",
)
CK_MUTE = rule("CK-MUTE", "FACTS", "CXSetMutedCallAction maps to mute()/unmute() on the active call.")
CK_HOLD = rule(
    "CK-HOLD",
    "4.9",
    "CXSetHeldCallAction holds the active call while the user accepts a PSTN call.",
)
CK_REPORT_INCOMING = rule(
    "CK-REPORT-INCOMING",
    "4.3.3",
    "An incoming call is reported with reportNewIncomingCall after onIncomingCall, or as soon "
    "as its VoIP push arrives.",
)
CK_REPORT_CONNECTING = rule(
    "CK-REPORT-CONNECTING",
    "4.3.3",
    "reportOutgoingCallStartedConnecting follows onCallRinging of the CallKit outgoing call.",
)
CK_REPORT_CONNECTED = rule(
    "CK-REPORT-CONNECTED",
    "FACTS",
    "reportOutgoingCallConnected follows onCallEstablished of the CallKit outgoing call.",
)
CK_REPORT_ENDED = rule(
    "CK-REPORT-ENDED",
    "FACTS",
    "A CallKit call that ends other than by CXEndCallAction is reported with reportCallEnded, "
    "which frees its UUID.",
)
CK_RESET = rule(
    "CK-RESET",
    "FACTS",
    "providerDidReset drops every CallKit call and action; the app hangs up the call.",
)
CK_PUSH = rule(
    "CK-PUSH",
    "FACTS",
    "A VoIP push is reported with reportNewIncomingCall before its handler completes "
    "(Apple's iOS 13 rule).",
)

# --- arguments and audio (4.3.1, 4.4, 4.11, 5.2, 9.3) ---------------------------------------
ARG_DIAL_MESSAGE = rule(
    "ARG-DIAL-MESSAGE",
    "4.3.1",
    "dial()'s message allows letters, digits, comma, colon and the brackets {}()[] only; any "
    "other character is refused.",
    permissive="The guide names no ErrorType for a bad message, so INVALID_PARAMETER and "
    "INVALID_DIAL_INFO are both allowed.",
)
ARG_DIAL_REMOTE = rule(
    "ARG-DIAL-REMOTE",
    "4.3.1",
    "dial() needs a non-empty remoteId; an empty one is refused with INVALID_DIAL_INFO or "
    "INVALID_PARAMETER.",
)
ARG_RATING = rule("ARG-RATING", "4.11", "postFeedback()'s rating is a whole number from 1 to 5.")
ARG_ISSUE = rule("ARG-ISSUE", "4.11", "postFeedback()'s issue is a CallIssue.")
ARG_FEEDBACK_ENDED = rule(
    "ARG-FEEDBACK-ENDED",
    "4.11",
    "Feedback is posted at the end of the call: postFeedback() only for the latest call once "
    "it has ENDED.",
)
ARG_SUBSCRIBER = rule(
    "ARG-SUBSCRIBER",
    "9.3",
    "A subscriber name is alphanumeric and at most 16 bytes; initialize() with another is "
    "refused or fails, never succeeds.",
    permissive="The guide gives the limit only for the platform's 400 answer, so the SDK may "
    "refuse initialize() with INVALID_PARAMETER or report onInitializationFailure.",
)
ARG_DTMF = rule("ARG-DTMF", "FACTS", "sendDtmf() sends one of 0-9, *, # on a live call.")
CALL_OP_STATE = rule(
    "CALL-OP-STATE",
    "4.3",
    "answer() needs an INCOMING call and hangup() a live one; otherwise they are refused.",
    permissive="The guide names no ErrorType for these refusals, so any ErrorType is allowed.",
)
AUDIO_LIVE = rule(
    "AUDIO-LIVE",
    "4.4",
    "mute, unmute, speaker and Bluetooth controls work only on a live call; otherwise they are "
    "refused.",
    permissive="The guide names no ErrorType for these refusals, so any ErrorType is allowed.",
)
AUDIO_BT = rule(
    "AUDIO-BT",
    "4.4",
    "enableBluetooth() works only while a Bluetooth device is connected.",
)
AUDIO_BT_ENV = rule("AUDIO-BT-ENV", "4.4", "A Bluetooth device connects and disconnects.")
NET_ENV = rule(
    "NET-ENV",
    "FACTS",
    "The phone's network is lost and restored; the SDK reports what follows through the media "
    "and ending callbacks.",
)


def by_id(rule_id: str) -> Rule:
    return RULES[rule_id]
