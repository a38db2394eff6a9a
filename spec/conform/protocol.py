"""The adapter protocol's messages as pydantic models, and the catalogue of everything that
crosses it: every operation, query, stimulus and platform control, with the capability that
gates it and the arguments it carries (docs/adapter-protocol.md, version 1).

One description serves every reader, so none of them can drift from the others:
- the driver (exovoice.spec.conform.context) refuses to send a request the catalogue does not
  describe, so a step can never ask a client for something the document does not state;
- the JSON-lines driver (exovoice.spec.conform.jsonlines) checks answers and events against
  the message models;
- `exovoice schema adapter` prints their JSON Schemas, and `python docs/adapter_protocol.py`
  writes the document's tables and `docs/adapter-protocol.schema.json` from them.

Argument models describe shapes (types), never the values the guide allows: the features send
a rating of 9 or a dial message with '!' on purpose, and those are judged by the spec, not by
the protocol. Every model ignores fields it does not know (a receiver ignores what it does not
know, so the protocol can grow compatibly).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from ..trace.model import ApiLine, CallbackLine, CallKitLine, EnvLine, StateLine
from ..vocabulary import (
    Api,
    CallAudioRoute,
    CallDirection,
    CallEndReason,
    CallIssue,
    CallKit,
    CallState,
    Env,
    ErrorType,
    Network,
)
from .adapter import PLATFORM_OPS, PROTOCOL_VERSION, UNSUPPORTED_PREFIX, Capability

SCHEMA_ID = "urn:exovoice:schema:adapter-protocol:1"
DRAFT = "https://json-schema.org/draft/2020-12/schema"

_OPEN = ConfigDict(extra="allow", strict=True)  # unknown fields: kept, never refused
Number = Union[StrictInt, StrictFloat]
CallStateName = Literal[CallState.names()]  # type: ignore[valid-type]
DirectionName = Literal[CallDirection.names()]  # type: ignore[valid-type]
EndReasonName = Literal[CallEndReason.names()]  # type: ignore[valid-type]
RouteName = Literal[CallAudioRoute.names()]  # type: ignore[valid-type]
AuthError = Literal[ErrorType.AUTHENTICATION_EXPIRED_TOKEN.value,
                    ErrorType.AUTHENTICATION_INVALID_TOKEN.value]


class _Model(BaseModel):
    model_config = _OPEN


# --- requests: driver -> client ----------------------------------------------------------------
class _Request(_Model):
    v: Literal[1] = Field(description="the protocol version, always 1")
    id: StrictInt = Field(description="unique in the session; the answer carries it back, and "
                          "an event names it as its `cause`")


class HelloRequest(_Request):
    """Start a fresh client instance (a second hello discards the first)."""

    op: Literal["hello"]
    callkit: StrictBool = Field(description="whether the app integrates CallKit (it changes "
                                "the PSTN rules and adds the CallKit stimuli and lines)")


class ApiRequest(_Request):
    """Call one operation of the guide's API, or ask a query."""

    op: Literal["api"]
    name: StrictStr = Field(description="an operation or a query of the catalogue")
    call: Optional[StrictStr] = Field(default=None, description="the call the operation "
                                      "concerns; the latest call when absent")
    args: dict[str, Any] = Field(default_factory=dict,
                                 description="the operation's arguments (see its args model)")


class StimulusRequest(_Request):
    """Make the world do something to the client: the network, the phone, the CallKit user,
    or the platform (a control)."""

    op: Literal["stimulus"]
    name: StrictStr = Field(description="a stimulus or a platform control of the catalogue")
    call: Optional[StrictStr] = Field(default=None, description="the latest call the driver "
                                      "knows of, when there is one")
    args: dict[str, Any] = Field(default_factory=dict)


class PlatformRequest(_Request):
    """Drive the platform simulator and customer backend that come with the client
    (capability `platform`)."""

    op: Literal["platform"]
    name: Literal[PLATFORM_OPS]  # type: ignore[valid-type]
    args: dict[str, Any] = Field(default_factory=dict)


class CloseRequest(_Request):
    """End the session: answer, then exit (also on end of input)."""

    op: Literal["close"]


Request = Annotated[Union[HelloRequest, ApiRequest, StimulusRequest, PlatformRequest,
                          CloseRequest], Field(discriminator="op")]
REQUEST: TypeAdapter[Any] = TypeAdapter(Request)


# --- answers and events: client -> driver ------------------------------------------------------
class HelloAnswer(_Model):
    """The handshake: what the client can do (and the conventions it follows)."""

    id: StrictInt
    v: Optional[Literal[1]] = Field(default=None, description="the protocol version it speaks")
    capabilities: list[StrictStr] = Field(description="capability names; unknown ones are "
                                          "ignored")


class Refusal(_Model):
    """The SDK refused the operation or threw: `error` is its ErrorType."""

    error: StrictStr = Field(description="an ErrorType name (a trace line's result.error)")


class ApiAnswer(_Model):
    """An operation's or a query's result."""

    id: StrictInt
    result: Union[Literal["ok"], Refusal] = Field(
        description='"ok", or {"error": "<ErrorType>"} when the SDK refused or threw')
    call: Optional[StrictStr] = Field(default=None, description="the call the operation "
                                      "created (dial) or concerned")
    value: Any = Field(default=None, description="what a query returned (its value model)")


class AckAnswer(_Model):
    """A stimulus taken, or close done."""

    id: StrictInt
    ok: Literal[True]


class PlatformAnswer(_Model):
    """A platform operation's result: always an object (an HTTP error of the platform is a
    result, not a protocol error)."""

    id: StrictInt
    result: dict[str, Any]


class ErrorAnswer(_Model):
    """A request the client cannot serve (unknown op, name or arguments). An error beginning
    `unsupported:` declines a stimulus or set-up the client cannot give here: the scenario is
    not run. `id` is null for a line that was not JSON."""

    id: Optional[StrictInt]
    error: StrictStr


EventLine = Annotated[Union[ApiLine, CallbackLine, CallKitLine, EnvLine, StateLine],
                      Field(discriminator="kind")]


class EventMessage(_Model):
    """A line the client's trace gained that the driver did not write itself."""

    event: EventLine = Field(description="a trace-format-v1 line (not meta); an api line the "
                             "client's own app layer made carries \"origin\": \"app\"")
    cause: Optional[StrictInt] = Field(
        default=None, ge=1,
        description="the id of the request the client was handling, or had handled last, when "
        "the event happened: for an event a request causes, that request's id. The driver "
        "writes the event after that request's line and before the next request's, whenever "
        "it arrives. Without it, the event is placed by its arrival.")


Answer = Union[HelloAnswer, ApiAnswer, AckAnswer, PlatformAnswer, ErrorAnswer]


# --- arguments -----------------------------------------------------------------------------------
class NoArgs(_Model):
    """Nothing beside the request's `call`."""


class InitializeArgs(_Model):
    subscriberName: StrictStr = Field(description="the subscriber; fewer than 16 letters or "
                                      "digits in the guide (the spec judges the value)")
    hostname: Optional[StrictStr] = None
    displayName: Optional[StrictStr] = None
    accountSid: Optional[StrictStr] = None
    subscriberToken: Optional[StrictStr] = Field(
        default=None, description="absent: the client takes a token from its own platform "
        "(the driver never has one; a token is a secret of the client's world)")


class DialArgs(_Model):
    remoteId: StrictStr = Field(description="whom to call; may be empty or blank on purpose")
    message: Optional[StrictStr] = Field(default=None, description="the call's message "
                                         "(CustomField); may break the guide's rule on purpose")


class PushRequestArgs(_Model):
    """No payload: the client makes up a valid push from its own platform, as if its app had
    just received one, and relays it."""

    subscriberName: StrictStr = Field(description="whom the push is for (the initialized "
                                      "subscriber, or another one on purpose)")
    callerId: Optional[StrictStr] = Field(default=None, description="who is calling; "
                                          "onMissedCall names them")
    ttl: Optional[Number] = Field(
        default=None, description="seconds the push's session stays open; 0: the caller "
        "already gave up, so the session is over before it can be taken (the SDK owes "
        "onMissedCall). Absent: a live session")


class PushPayloadArgs(_Model):
    """A payload the app relays as it is (capability `push` for the scenarios that send one)."""

    payload: StrictStr = Field(description="the push's payload; may be malformed on purpose")
    payloadVersion: StrictInt
    subscriberName: StrictStr


RelaySessionDataArgs = Union[PushPayloadArgs, PushRequestArgs]


class PostFeedbackArgs(_Model):
    rating: StrictInt = Field(description="1 to 5 in the guide (the spec judges the value)")
    issue: StrictStr = Field(description="a CallIssue name: " + ", ".join(CallIssue.names())
                             + " (another on purpose: the spec judges it)")


class UploadLogsArgs(_Model):
    startDate: Number = Field(description="seconds since the epoch")
    endDate: Number = Field(description="seconds since the epoch; may be before startDate on "
                            "purpose")
    description: StrictStr


class SendDtmfArgs(_Model):
    digit: StrictStr


class TokenRejectedArgs(_Model):
    error: AuthError = Field(description="the onAuthenticationFailure error the platform gave")


class CallKitActionArgs(_Model):
    uuid: StrictStr = Field(description="the CallKit call's UUID (the one the client reported "
                            "or started)")


class StartCallArgs(CallKitActionArgs):
    uuid: StrictStr = Field(description="a fresh UUID the driver made up, upper case, for the "
                            "call the app just dialled")
    handle: StrictStr = Field(description="the CXHandle's value: the remoteId dialled")


class SetMutedArgs(CallKitActionArgs):
    muted: StrictBool = Field(description="CXSetMutedCallAction.isMuted: the delegate calls "
                              "mute() (true) or unmute() (false), then fulfils")


class SetHeldArgs(CallKitActionArgs):
    onHold: StrictBool = Field(description="CXSetHeldCallAction.isOnHold")


class SessionEndedArgs(_Model):
    sessionId: Optional[StrictStr] = Field(default=None, description="the session; absent: "
                                           "the latest push's")


class SwitchArgs(_Model):
    on: Optional[StrictBool] = Field(default=None, description="false undoes the control; "
                                     "absent: true")


# --- platform operation arguments (capability `platform`) ---------------------------------------
class SetupArgs(_Model):
    dialWhomAnswer: Optional[StrictStr] = Field(default=None, description="the destination the "
                                                "Dial Whom endpoint answers; default sip:bob")
    dialWhomStatus: Optional[StrictInt] = Field(default=None, description="the Dial Whom "
                                                "endpoint answers this HTTP status instead")
    pushStatus: Optional[StrictInt] = Field(default=None, description="the push endpoint "
                                            "answers this HTTP status instead")
    wrongAuth: Optional[StrictBool] = Field(default=None, description="the Subscriber "
                                            "Management API is called with wrong basic auth")
    voipEnabled: Optional[StrictBool] = Field(default=None, description="default true")
    subscribers: Optional[list[StrictStr]] = Field(default=None, description="created first")


class DialWhomArgs(_Model):
    from_: StrictStr = Field(alias="from", description="the caller")
    to: Optional[StrictStr] = None
    customField: Optional[StrictStr] = None


class PlatformPushArgs(_Model):
    subscriber: StrictStr
    callerId: Optional[StrictStr] = None


class ProvisionArgs(_Model):
    subscribers: list[StrictStr]


class TokenArgs(_Model):
    subscriber: StrictStr
    deviceId: Optional[StrictStr] = None
    devicePlatform: Optional[StrictStr] = None


# --- query values ---------------------------------------------------------------------------
Time = Union[Number, StrictStr, None]


class CallDetails(_Model):
    """getCallDetails()'s value: the latest call's details (guide 4.6, 9.1 a). The steps read
    callState (the call state is ...), callDirection, callId, callEndReason, sessionId and
    callDuration; the rest is shown, not judged."""

    callState: CallStateName
    callId: Optional[StrictStr] = None
    callDirection: Optional[DirectionName] = None
    callEndReason: Optional[EndReasonName] = None
    sessionId: Optional[StrictStr] = Field(default=None, description="for support (guide 9.1 "
                                           "a): a dialled or answered call has one")
    callDuration: Optional[Number] = Field(default=None, ge=0, description="seconds established")
    remoteId: Optional[StrictStr] = None
    remoteDisplayName: Optional[StrictStr] = None
    callStartedTime: Time = Field(default=None, description="epoch seconds or ISO 8601")
    callEstablishedTime: Time = None
    callEndedTime: Time = None


class Statistics(_Model):
    """getStatistics()'s value: a non-empty object of the call's media figures (the reference
    gives codec, audioBitrate, jitter, rttMs, losses, packets, bytes and mos)."""

    model_config = ConfigDict(extra="allow", strict=True, json_schema_extra={"minProperties": 1})
    codec: Optional[StrictStr] = None
    mos: Optional[Number] = None

    @model_validator(mode="before")
    @classmethod
    def _not_empty(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data:
            raise ValueError("statistics are a non-empty object")
        return data


AUDIO_ROUTE: TypeAdapter[Any] = TypeAdapter(RouteName)


# --- the catalogue -------------------------------------------------------------------------------
API, STIMULUS, PLATFORM = "api", "stimulus", "platform"
OPERATION, QUERY, NETWORK, PHONE, CALLKIT, CONTROL, PLATFORM_OP = (
    "operation", "query", "network", "phone", "callkit", "control", "platform")


@dataclass(frozen=True)
class Entry:
    """One thing the driver may ask of a client."""

    name: str
    op: str  # api | stimulus | platform
    group: str  # operation | query | network | phone | callkit | control | platform
    needs: tuple[str, ...]  # the capabilities that gate it (all of them)
    meaning: str
    args: Any = NoArgs  # a model (or a union of models) of its args
    value: Any = None  # a query's value model
    sent: bool = True  # False: no scenario sends it (documented for completeness)
    probed: bool = False  # offered even when undeclared (the version-1 way)
    returns: str = ""  # what a platform operation answers

    @property
    def capability(self) -> str:
        return " + ".join(self.needs) if self.needs else Capability.CORE

    def check_args(self, args: dict[str, Any]) -> str | None:
        """Why `args` do not have this entry's shape, in one line; None when they do."""
        try:
            TypeAdapter(self.args).validate_python(args)
        except ValidationError as e:
            err = e.errors()[0]
            where = ".".join(str(p) for p in err["loc"] if not str(p).endswith("Args")) or "args"
            return f"{self.op} {self.name}: args.{where}: {err['msg']}"
        return None


def _entries() -> tuple[Entry, ...]:
    C = Capability
    a = Api
    n = Network
    out: list[Entry] = [
        # operations: the guide's API
        Entry(a.initialize.value, API, OPERATION, (), "initialize(): sign in the subscriber "
              "(guide 4.2)", InitializeArgs),
        Entry(a.dial.value, API, OPERATION, (), "dial(remoteId, message) (guide 4.3.1); the "
              "answer carries the new call's id in `call`", DialArgs),
        Entry(a.relaySessionData.value, API, OPERATION, (), "relaySessionData(): the app "
              "relays a push (guide 4.3.2): a payload as it is, or (no payload) a push the "
              "client makes up from its own platform", RelaySessionDataArgs),
        Entry(a.answer.value, API, OPERATION, (), "answer() the incoming call"),
        Entry(a.hangup.value, API, OPERATION, (), "hangup() the call"),
        Entry(a.reset.value, API, OPERATION, (), "reset() the client (guide 4.10)"),
        Entry(a.stop.value, API, OPERATION, (), "stop() the client (guide 4.10)"),
        Entry(a.mute.value, API, OPERATION, (C.AUDIO,), "mute() the call (guide 4.4)"),
        Entry(a.unmute.value, API, OPERATION, (C.AUDIO,), "unmute() the call"),
        Entry(a.enableSpeaker.value, API, OPERATION, (C.AUDIO,), "enableSpeaker()"),
        Entry(a.disableSpeaker.value, API, OPERATION, (C.AUDIO,), "disableSpeaker()"),
        Entry(a.enableBluetooth.value, API, OPERATION, (C.AUDIO, C.BLUETOOTH),
              "enableBluetooth()"),
        Entry(a.disableBluetooth.value, API, OPERATION, (C.AUDIO,), "disableBluetooth()"),
        Entry(a.postFeedback.value, API, OPERATION, (C.FEEDBACK,), "postFeedback(rating, "
              "issue) (guide 4.11)", PostFeedbackArgs),
        Entry(a.uploadLogs.value, API, OPERATION, (C.LOGS,), "uploadLogs(startDate, endDate, "
              "description) (guide 4.10)", UploadLogsArgs),
        Entry(a.sendDtmf.value, API, OPERATION, (), "sendDtmf(digit)", SendDtmfArgs,
              sent=False),
        # queries: they write no trace line of their own
        Entry("getCallDetails", API, QUERY, (C.CALL_DETAILS,), "the latest call's details; "
              "the driver writes its callState as a `state` line (the validator judges it)",
              value=CallDetails, probed=True),
        Entry("getStatistics", API, QUERY, (C.STATISTICS,), "the call's media statistics "
              "(guide 4.7)", value=Statistics, probed=True),
        Entry(a.getAudioRoute.value, API, QUERY, (C.AUDIO_ROUTE,), "the audio route now "
              "(guide 4.4); the driver writes the answer as an observation line "
              "`{\"kind\":\"api\",\"name\":\"getAudioRoute\",\"args\":{\"route\":...}}`",
              value=RouteName, probed=True),
        Entry("isInitialized", API, QUERY, (), "whether the client is initialized",
              value=bool, sent=False),
        Entry("getCallState", API, QUERY, (), "the latest call's state; a client writes it "
              "as a `state` event", value=CallStateName, sent=False),
        # network happenings
        Entry(n.net_call_sent.value, STIMULUS, NETWORK, (C.NETWORK,), "the INVITE reached "
              "the platform: sent after every accepted dial(). A client that reports "
              "onCallInitiated only now does so; one that reported it with the dial ignores it"),
        Entry(n.net_early_media.value, STIMULUS, NETWORK, (C.NETWORK,), "183 Session "
              "Progress with SDP (no callback: EARLY is unobserved)"),
        Entry(n.net_ringing.value, STIMULUS, NETWORK, (C.NETWORK,), "180 Ringing: "
              "onCallRinging"),
        Entry(n.net_connecting.value, STIMULUS, NETWORK, (C.NETWORK,), "the callee answered, "
              "media being set up (CONNECTING, unobserved)"),
        Entry(n.net_answered.value, STIMULUS, NETWORK, (C.NETWORK,), "200 OK / ACK, or the "
              "media of an answered incoming call: onCallEstablished"),
        Entry(n.net_busy.value, STIMULUS, NETWORK, (C.NETWORK,), "486 Busy Here: "
              "onCallEnded(BUSY)"),
        Entry(n.net_no_answer.value, STIMULUS, NETWORK, (C.NETWORK,), "max_ringing_duration "
              "elapsed: onCallEnded(TIMEOUT)"),
        Entry(n.net_unreachable.value, STIMULUS, NETWORK, (C.NETWORK,), "480 / 404: "
              "onCallEnded(UNREACHABLE)"),
        Entry(n.net_failure.value, STIMULUS, NETWORK, (C.NETWORK,), "5xx, transport failure: "
              "onCallEnded(FAILURE)"),
        Entry(n.net_congestion.value, STIMULUS, NETWORK, (C.NETWORK,), "503 / rate limit: "
              "onCallFailed(CONGESTION_ERROR)"),
        Entry(n.net_remote_hangup.value, STIMULUS, NETWORK, (C.NETWORK,), "BYE / CANCEL from "
              "the far end: onCallEnded(REMOTE_HANGUP)"),
        Entry(n.net_rtp_lost.value, STIMULUS, NETWORK, (C.NETWORK,), "RTP lost: "
              "onMediaDisrupted"),
        Entry(n.net_rtp_renewing.value, STIMULUS, NETWORK, (C.NETWORK,), "RTP resuming: "
              "onRenewingMedia"),
        Entry(n.net_rtp_restored.value, STIMULUS, NETWORK, (C.NETWORK,), "RTP restored: "
              "onCallEstablished"),
        Entry(n.net_media_timeout.value, STIMULUS, NETWORK, (C.NETWORK,), "the media never "
              "came back: onCallEnded(MEDIA_TIMEOUT)"),
        Entry(n.net_push_valid.value, STIMULUS, NETWORK, (C.NETWORK,), "the platform "
              "confirms the session a relayed push named (the SDK's session take succeeded): "
              "sent after every accepted relaySessionData() of a live push. A client that "
              "announces onIncomingCall only now does so; one that announced it with the relay "
              "ignores it"),
        Entry(n.net_push_stale.value, STIMULUS, NETWORK, (C.NETWORK,), "the platform says the "
              "relayed push's session is over: sent instead of net_push_valid after a relay "
              "with ttl 0. The SDK owes onMissedCall (now, or already with the relay)"),
        Entry(n.net_initialized.value, STIMULUS, NETWORK, (C.NETWORK,), "the platform "
              "accepts the registration: sent after initialize() when "
              "onInitializationSuccess has not come with it"),
        Entry(n.net_init_failed.value, STIMULUS, NETWORK, (C.NETWORK,), "the registration "
              "fails: onInitializationFailure"),
        Entry(n.net_token_rejected.value, STIMULUS, NETWORK, (C.NETWORK,), "the platform "
              "rejects the token in use: onAuthenticationFailure(args.error)",
              TokenRejectedArgs),
        Entry(n.net_upload_done.value, STIMULUS, NETWORK, (C.NETWORK,), "the log upload "
              "completes: onUploadLogSuccess"),
        Entry(n.net_upload_failed.value, STIMULUS, NETWORK, (C.NETWORK,), "the log upload "
              "fails: onUploadLogFailure"),
        Entry(n.net_bye_done.value, STIMULUS, NETWORK, (C.NETWORK,), "a local hangup "
              "completed (the spec's own step)", sent=False),
        Entry(n.net_call_dropping.value, STIMULUS, NETWORK, (C.NETWORK,), "the network drops "
              "the call (ENDING, then onCallEnded)", sent=False),
    ]
    e = Env
    out += [
        Entry(e.pstnRinging.value, STIMULUS, PHONE, (C.PSTN,), "a PSTN call rings on the phone"),
        Entry(e.pstnAnswered.value, STIMULUS, PHONE, (C.PSTN,), "the user accepts it"),
        Entry(e.pstnDeclined.value, STIMULUS, PHONE, (C.PSTN,), "the user declines it"),
        Entry(e.pstnDialed.value, STIMULUS, PHONE, (C.PSTN,), "the user places a PSTN call"),
        Entry(e.pstnEnded.value, STIMULUS, PHONE, (C.PSTN,), "the PSTN call ends"),
        Entry(e.bluetoothConnected.value, STIMULUS, PHONE, (C.BLUETOOTH,), "a Bluetooth "
              "device connects"),
        Entry(e.bluetoothDisconnected.value, STIMULUS, PHONE, (C.BLUETOOTH,), "it disconnects"),
        Entry(e.wiredHeadsetConnected.value, STIMULUS, PHONE, (C.WIRED_HEADSET,), "a wired "
              "headset is plugged in (guide 4.4)"),
        Entry(e.wiredHeadsetDisconnected.value, STIMULUS, PHONE, (C.WIRED_HEADSET,),
              "it is unplugged"),
        Entry(e.networkLost.value, STIMULUS, PHONE, (C.NETWORK,), "the phone loses its data "
              "network", sent=False),
        Entry(e.networkRestored.value, STIMULUS, PHONE, (C.NETWORK,), "it comes back",
              sent=False),
    ]
    k = CallKit
    out += [
        Entry(k.CXStartCallAction.value, STIMULUS, CALLKIT, (C.CALLKIT,), "guide 4.3.3 "
              "Outgoing Calls step 2, played by the driver: after every accepted dial() in a "
              "CallKit session, unless the client declares callkit-app-start or reported the "
              "call over before dial() answered. The delegate "
              "writes the action's line (with args.uuid and args.handle) and fulfils it",
              StartCallArgs),
        Entry(k.CXAnswerCallAction.value, STIMULUS, CALLKIT, (C.CALLKIT,), "the user accepts "
              "the call in CallKit: the delegate calls answer() (an `origin: app` api event) "
              "and fulfils", CallKitActionArgs),
        Entry(k.CXEndCallAction.value, STIMULUS, CALLKIT, (C.CALLKIT,), "the user rejects or "
              "ends the call: the delegate calls hangup() when there is a call, and fulfils",
              CallKitActionArgs),
        Entry(k.CXSetMutedCallAction.value, STIMULUS, CALLKIT, (C.CALLKIT,), "the user mutes "
              "or unmutes in CallKit", SetMutedArgs),
        Entry(k.CXSetHeldCallAction.value, STIMULUS, CALLKIT, (C.CALLKIT,), "the user holds "
              "the call in CallKit", SetHeldArgs),
        Entry(k.voipPushReceived.value, STIMULUS, CALLKIT, (C.CALLKIT, C.PUSH), "a VoIP push "
              "reaches the PushKit handler: report it to CallKit before the handler completes "
              "(reportNewIncomingCall before voipPushCompleted) and relay it; during an active "
              "CallKit call it is a second call, reported under a UUID of its own and ended. "
              "Its args have relaySessionData's two shapes", RelaySessionDataArgs),
        Entry(k.providerDidReset.value, STIMULUS, CALLKIT, (C.CALLKIT,), "CallKit resets the "
              "provider", CallKitActionArgs, sent=False),
    ]
    out += [
        Entry("token_expired", STIMULUS, CONTROL, (C.CONTROLS,), "the platform stops accepting "
              "the tokens issued so far and tells a registered client at once: "
              "onAuthenticationFailure(AUTHENTICATION_EXPIRED_TOKEN). Fallback when refused: "
              "net_token_rejected", probed=True),
        Entry("token_invalid", STIMULUS, CONTROL, (C.CONTROLS,), "the same, revoked: "
              "AUTHENTICATION_INVALID_TOKEN. Fallback: net_token_rejected", probed=True),
        Entry("token_expired_silently", STIMULUS, CONTROL, (C.CONTROLS,), "the platform stops "
              "accepting the token without telling the client: its next dial or session take "
              "is refused, and the SDK owes onAuthenticationFailure with the call's end. No "
              "fallback: refused, the scenario is not run", probed=True),
        Entry("init_fails", STIMULUS, CONTROL, (C.CONTROLS,), "the next registration fails "
              "(onInitializationFailure). Fallback: net_init_failed right after the next "
              "accepted initialize()", probed=True),
        Entry("upload_fails", STIMULUS, CONTROL, (C.CONTROLS,), "log uploads fail "
              "(onUploadLogFailure). Fallback: net_upload_failed right after the next accepted "
              "uploadLogs()", SwitchArgs, probed=True),
        Entry("session_ended", STIMULUS, CONTROL, (), "a push's caller gave up, so relaying "
              "that push gives onMissedCall (the reference's own tests)", SessionEndedArgs,
              sent=False),
        Entry("media_manual", STIMULUS, CONTROL, (), "answer() is no longer followed by the "
              "media by itself: the call stays ANSWERING until net_answered (the reference's "
              "own tests)", SwitchArgs, sent=False),
    ]
    out += [
        Entry("setup", PLATFORM, PLATFORM_OP, (C.PLATFORM,), "a fresh platform and backend; "
              "an operation before setup works on a default setup", SetupArgs,
              returns="free-form details, e.g. `accountSid`, `apiUrl`"),
        Entry("dial_whom", PLATFORM, PLATFORM_OP, (C.PLATFORM,), "the platform calls the "
              "backend's Dial Whom endpoint (guide 5.1)", DialWhomArgs,
              returns="`ok`; when ok `remoteId`, `numbers`, `transport` (`\"voip\"`); else "
              "`reason` (one line), `httpStatus`; `received`: the query fields the backend got "
              "(`CallSid`, `CallFrom`, `CallTo`, ..., `CustomField`), or null"),
        Entry("push", PLATFORM, PLATFORM_OP, (C.PLATFORM,), "the platform calls the backend's "
              "push endpoint (guide 5.1)", PlatformPushArgs,
              returns="`ok`, `httpStatus`, `reason`; `received`: `{method, path, headers, "
              "body}` of the request the backend got, or null"),
        Entry("provision", PLATFORM, PLATFORM_OP, (C.PLATFORM,), "the Subscriber Management "
              "API creates subscribers (guide 5.2)", ProvisionArgs,
              returns="`status` (HTTP), `body` (the API's JSON answer, e.g. 207 with "
              "`response`: a result per item)"),
        Entry("token", PLATFORM, PLATFORM_OP, (C.PLATFORM,), "the Subscriber Management API "
              "issues a subscriber token (guide 5.2, 9.3 a)", TokenArgs,
              returns="`status`, `body` (200: `subscriber_token` with `refresh_token` and "
              "`access_token`; else `message`)"),
    ]
    return tuple(out)


CATALOGUE: tuple[Entry, ...] = _entries()
_BY_KEY: dict[tuple[str, str], Entry] = {(e.op, e.name): e for e in CATALOGUE}
CONTROLS = frozenset(e.name for e in CATALOGUE if e.group == CONTROL)
QUERIES = frozenset(e.name for e in CATALOGUE if e.group == QUERY)


def entry(op: str, name: str) -> Entry | None:
    """The catalogue's entry for a request (op "api", "stimulus" or "platform")."""
    return _BY_KEY.get((op, name))


class UndocumentedRequest(AssertionError):
    """The driver was about to send something docs/adapter-protocol.md does not describe: a
    bug of the step library, never of the client."""


def check_request(op: str, name: str, args: dict[str, Any] | None) -> Entry:
    """The entry a request the driver sends must have, with arguments of its shape."""
    found = entry(op, name)
    if found is None:
        raise UndocumentedRequest(f"the driver sent {op} {name!r}, which the adapter protocol's "
                                  "catalogue does not describe")
    problem = found.check_args(dict(args or {}))
    if problem is not None:
        raise UndocumentedRequest(f"the driver sent arguments the protocol does not describe: "
                                  f"{problem}")
    return found


def value_problem(name: str, value: Any) -> str | None:
    """Why a query's value does not have its documented shape (one line), or None."""
    found = entry(API, name)
    if found is None or found.value is None:
        return None
    try:
        TypeAdapter(found.value).validate_python(value)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "value"
        return f"{name}() answered {where}: {err['msg']}"
    return None


# --- JSON Schema ---------------------------------------------------------------------------------
MESSAGES: dict[str, Any] = {
    "HelloRequest": HelloRequest, "ApiRequest": ApiRequest, "StimulusRequest": StimulusRequest,
    "PlatformRequest": PlatformRequest, "CloseRequest": CloseRequest,
    "HelloAnswer": HelloAnswer, "ApiAnswer": ApiAnswer, "AckAnswer": AckAnswer,
    "PlatformAnswer": PlatformAnswer, "ErrorAnswer": ErrorAnswer, "EventMessage": EventMessage,
}
VALUES: dict[str, Any] = {"CallDetails": CallDetails, "Statistics": Statistics,
                          "AudioRoute": RouteName}


def _args_name(e: Entry) -> str:
    return f"args.{e.op}.{e.name}"


def adapter_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one JSON-lines message, with every message, every
    catalogue entry's arguments and every query's value under $defs, generated from the
    models above."""
    defs: dict[str, Any] = {}
    union = TypeAdapter(Union[tuple(MESSAGES.values())])  # type: ignore[arg-type]
    body = union.json_schema(ref_template="#/$defs/{model}", by_alias=True)
    defs.update(body.pop("$defs", {}))
    by_op: dict[str, list[dict[str, Any]]] = {API: [], STIMULUS: [], PLATFORM: []}
    for e in CATALOGUE:
        schema = TypeAdapter(e.args).json_schema(ref_template="#/$defs/{model}", by_alias=True)
        defs.update(schema.pop("$defs", {}))
        schema["description"] = (f"{e.group} {e.name}, capability {e.capability}"
                                 + ("" if e.sent else "; no scenario sends it")
                                 + f": {e.meaning}")
        defs[_args_name(e)] = schema
        by_op[e.op].append({"if": {"properties": {"name": {"const": e.name}}},
                            "then": {"properties": {"args": {"$ref": f"#/$defs/{_args_name(e)}"}}}})
    for model, op in (("ApiRequest", API), ("StimulusRequest", STIMULUS),
                      ("PlatformRequest", PLATFORM)):
        names = [e.name for e in CATALOGUE if e.op == op]
        defs[model]["properties"]["name"] = {**defs[model]["properties"]["name"], "enum": names}
        defs[model]["allOf"] = by_op[op]
    for name, model in VALUES.items():
        schema = TypeAdapter(model).json_schema(ref_template="#/$defs/{model}")
        defs.update(schema.pop("$defs", {}))
        defs[f"value.{name}"] = schema
    defs = {k: _no_null_defaults(v) for k, v in sorted(defs.items())}
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": f"exovoice adapter protocol, JSON-lines form, version {PROTOCOL_VERSION}",
        "description": "One JSON object per line. The driver sends requests (hello, api, "
        "stimulus, platform, close); the client answers each by its id and may send events at "
        "any time. Receivers ignore fields they do not know. `args.<op>.<name>` is the shape "
        "of each request's args, `value.<Name>` of each query's value "
        "(docs/adapter-protocol.md). An error answer beginning "
        f"'{UNSUPPORTED_PREFIX}' declines a stimulus the client cannot give.",
        "anyOf": body.get("anyOf", []),
        "$defs": defs,
    }


def _no_null_defaults(node: Any) -> Any:
    """Optional fields are optional by absence: `default: null` says nothing a reader needs."""
    if isinstance(node, list):
        return [_no_null_defaults(x) for x in node]
    if not isinstance(node, dict):
        return node
    return {k: _no_null_defaults(v) for k, v in node.items()
            if not (k == "default" and v is None)}
