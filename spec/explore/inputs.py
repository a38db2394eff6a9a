"""What an explorer can do to a client: the step library's When steps, each with its phrase,
so that every run is a sequence of steps a feature could have written and a failing run is a
ready scenario.

An input is performed by calling the step's own function on the ScenarioContext, exactly as
pytest-bdd would; its capabilities come from the adapter protocol's catalogue (the entry the
step sends), never restated here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..conform import protocol
from ..conform.adapter import Capability as Cap
from ..conform.steps import audio, callkit, calls, feedback, lifecycle, pstn
from ..conform.steps.common import (
    AUDIO_PHRASES,
    CALLKIT_ARGS,
    CALLKIT_PHRASES,
    DEFAULT_REMOTE,
    NETWORK_PHRASES,
    PSTN_PHRASES,
)
from ..vocabulary import Api, CallKit, Env, Network


@dataclass(frozen=True)
class Input:
    phrase: str  # the When step, as a feature writes it
    run: Callable[..., None] = field(compare=False, repr=False)
    kwargs: tuple[tuple[str, Any], ...] = ()
    needs: tuple[tuple[str, ...], ...] = ()  # each tuple: one of these capabilities
    kind: str = "api"  # api | network | phone | callkit | control
    cause: str | None = None  # the network happening it makes (the oracle predicts from it)
    op: str | None = None  # the API operation it calls (for predictions)
    args: tuple[tuple[str, Any], ...] = ()  # the operation's arguments, as the spec reads them
    gate: str | None = None  # "callkit-call": only while the spec has a CallKit call; "call":
    # only once a call was made (a query about the latest call)

    def usable(self, caps: frozenset[str], callkit_mode: bool) -> bool:
        if self.kind == "callkit" and not callkit_mode:
            return False
        return all(any(c in caps for c in alt) for alt in self.needs)

    def perform(self, ctx: Any) -> None:
        self.run(conform=ctx, **dict(self.kwargs))


def _needs(op: str, name: str) -> tuple[tuple[str, ...], ...]:
    entry = protocol.entry(op, name)
    assert entry is not None, f"{op} {name} is not in the adapter protocol's catalogue"
    return tuple((c,) for c in entry.needs)


def _inputs() -> tuple[Input, ...]:
    out: list[Input] = []
    A, S = protocol.API, protocol.STIMULUS
    # life cycle
    out.append(Input('the app initializes the client as "alice"', lifecycle._w_initialize,
                     (("name", "alice"),), op=Api.initialize.value,
                     args=(("subscriberName", "alice"),)))
    out.append(Input('the app initializes the client as "abcdefghijklmnopq"',
                     lifecycle._w_initialize, (("name", "abcdefghijklmnopq"),),
                     op=Api.initialize.value, args=(("subscriberName", "abcdefghijklmnopq"),)))
    out.append(Input("the app initializes the client again with a new token",
                     lifecycle._w_reinitialize, op=Api.initialize.value,
                     args=(("subscriberName", "alice"),)))
    out.append(Input("the app stops the client", lifecycle._w_stop, op=Api.stop.value))
    out.append(Input("the app resets the client", lifecycle._w_reset, op=Api.reset.value))
    for phrase, fn, cause in (("the subscriber's token expires", lifecycle._w_token_expired,
                               "token_expired"),
                              ("the subscriber's token is revoked", lifecycle._w_token_invalid,
                               "token_invalid")):
        out.append(Input(phrase, fn, needs=((Cap.CONTROLS, Cap.NETWORK),), kind="control",
                         cause=Network.net_token_rejected.value))
    out.append(Input("log uploads will fail", lifecycle._g_upload_fails,
                     needs=((Cap.LOGS,), (Cap.CONTROLS, Cap.NETWORK)), kind="control"))
    out.append(Input("the app uploads its logs", lifecycle._w_upload,
                     needs=_needs(A, Api.uploadLogs.value), op=Api.uploadLogs.value,
                     args=(("endDate", "2020-01-03"), ("startDate", "2020-01-02"))))
    out.append(Input("the app uploads its logs with a start after its end",
                     lifecycle._w_upload_backwards, needs=_needs(A, Api.uploadLogs.value),
                     op=Api.uploadLogs.value,
                     args=(("endDate", "2020-01-01"), ("startDate", "2020-01-02"))))
    # calls
    out.append(Input(f'the app dials "{DEFAULT_REMOTE}"', calls._w_dial,
                     (("remote", DEFAULT_REMOTE),), op=Api.dial.value,
                     args=(("remoteId", DEFAULT_REMOTE),)))
    for message in ("order:42", "hi there!"):
        out.append(Input(f'the app dials with message "{message}"', calls._w_dial_message,
                         (("message", message),), op=Api.dial.value,
                         args=(("message", message), ("remoteId", DEFAULT_REMOTE))))
    out.append(Input("the app dials an empty remote id", calls._w_dial_empty, op=Api.dial.value,
                     args=(("remoteId", ""),)))
    out.append(Input("the app hangs up", calls._w_hangup, op=Api.hangup.value))
    out.append(Input("the app answers", calls._w_answer, op=Api.answer.value))
    relay_args = (("payload", "p"), ("payloadVersion", 1), ("subscriberName", "alice"))
    out.append(Input('a push from "bob" is relayed', calls._w_relay, (("caller", "bob"),),
                     op=Api.relaySessionData.value, args=relay_args))
    out.append(Input('a push for "carol" from "bob" is relayed', calls._w_relay_other,
                     (("sub", "carol"), ("caller", "bob")), op=Api.relaySessionData.value,
                     args=(("payload", "p"), ("payloadVersion", 1), ("subscriberName", "carol"))))
    out.append(Input("a push with a malformed payload is relayed", calls._w_relay_malformed,
                     needs=((Cap.PUSH,),), op=Api.relaySessionData.value, args=relay_args))
    out.append(Input('a push from "bob" is relayed for a call that is already over',
                     calls._w_relay_stale, (("caller", "bob"),), needs=((Cap.NETWORK,),),
                     op=Api.relaySessionData.value, args=relay_args))
    out.append(Input("the app reads the call state", calls._w_read_state,
                     needs=_needs(A, "getCallDetails"), kind="query", gate="call"))
    seen_causes: set[str] = set()
    for phrase, cause in NETWORK_PHRASES.items():
        cause = str(cause)
        if cause in seen_causes:
            continue  # one phrase per happening
        seen_causes.add(cause)
        out.append(Input(phrase, calls._w_network, (("phrase", phrase),), _needs(S, cause),
                         kind="network", cause=cause))
    # audio
    for phrase, op in AUDIO_PHRASES.items():
        out.append(Input(f"the app {phrase}", audio._w_audio, (("phrase", phrase),),
                         _needs(A, str(op)), op=str(op)))
    # DTMF on the latest call (ARG-DTMF: one digit of 0-9, *, #): a plain digit, the last
    # one of the set, and two digits at once (refused). Gated by `audio` as the features
    # that send it are (features/audio.feature), which the catalogue's core entry is not
    for digit in ("5", "#", "55"):
        out.append(Input(f'the app sends the DTMF digit "{digit}"', audio._w_dtmf,
                         (("digit", digit),), ((Cap.AUDIO,),), gate="call",
                         op=Api.sendDtmf.value, args=(("digit", digit),)))
    out.append(Input("the app reads the audio route", audio._w_read_route,
                     needs=_needs(A, Api.getAudioRoute.value), kind="query"))
    out.append(Input("a Bluetooth device connects", audio._w_bt_on,
                     needs=_needs(S, Env.bluetoothConnected.value), kind="phone",
                     op=Env.bluetoothConnected.value))
    out.append(Input("the Bluetooth device disconnects", audio._w_bt_off,
                     needs=_needs(S, Env.bluetoothDisconnected.value), kind="phone",
                     op=Env.bluetoothDisconnected.value))
    out.append(Input("a wired headset is plugged in", audio._wired_in,
                     needs=_needs(S, Env.wiredHeadsetConnected.value), kind="phone",
                     op=Env.wiredHeadsetConnected.value))
    out.append(Input("the wired headset is unplugged", audio._wired_out,
                     needs=_needs(S, Env.wiredHeadsetDisconnected.value), kind="phone",
                     op=Env.wiredHeadsetDisconnected.value))
    # feedback
    # ratings 1-5 only (ARG-RATING): one inside, one on each side of the range
    for rating, issue in ((3, "NO_ISSUE"), (0, "NO_ISSUE"), (9, "NO_ISSUE"),
                          (3, "NOT_AN_ISSUE")):
        out.append(Input(f"the app posts feedback with rating {rating} and issue {issue}",
                         feedback._w_feedback, (("rating", rating), ("issue", issue)),
                         _needs(A, Api.postFeedback.value), op=Api.postFeedback.value,
                         args=(("issue", issue), ("rating", rating))))
    # PSTN
    for phrase, name in PSTN_PHRASES.items():
        out.append(Input(phrase, pstn._w_pstn, (("phrase", phrase),), _needs(S, str(name)),
                         kind="phone", op=str(name)))
    # CallKit: the user's actions on the CallKit call, and VoIP pushes
    for phrase, name in CALLKIT_PHRASES.items():
        if phrase == "rejects the call":
            continue  # the same action as "ends the call"
        out.append(Input(f"the user {phrase} in CallKit", callkit._w_callkit,
                         (("phrase", phrase),), _needs(S, str(name)), kind="callkit",
                         gate="callkit-call", op=str(name),
                         args=tuple(sorted(CALLKIT_ARGS.get(phrase, {}).items()))))
    out.append(Input('a VoIP push from "bob" arrives', callkit._w_voip_push,
                     (("caller", "bob"),), _needs(S, CallKit.voipPushReceived.value),
                     kind="callkit"))
    return tuple(out)


INPUTS: tuple[Input, ...] = _inputs()


def usable(caps: frozenset[str], callkit_mode: bool) -> tuple[Input, ...]:
    """The inputs a client with these capabilities can take, in a fixed order."""
    return tuple(i for i in INPUTS if i.usable(caps, callkit_mode))
