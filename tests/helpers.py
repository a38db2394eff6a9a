"""Builders and a bank of event "letters" shared by the rule tests and the property tests.

The composed model is driven through `ClientModel._fire`, the same entry point the validator
engine uses: `fire` only adds `.expected` (allowed_events(), ~60 deep copies, ~0.5 s) to a
SpecViolation, which the bulk tests do not need. tests/test_rules.py checks once that `fire`
raises the same violation and fills `.expected`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Iterable

from statemachine.orderedset import OrderedSet

from exovoice.spec.base import SpecViolation
from exovoice.spec.charts.model import ClientModel
from exovoice.spec.vocabulary import CALLKIT_ACTIONS, CallEndReason, CallState

# --- builders ----------------------------------------------------------------------------------


def initialized(callkit: bool = False, name: str = "alice") -> ClientModel:
    m = ClientModel(callkit=callkit)
    m._fire("initialize", params={"subscriberName": name})
    m._fire("onInitializationSuccess")
    assert m.in_state("initialized")
    return m


def outgoing(m: ClientModel, call: str = "c1", remote: str = "sip:1", message: str | None = None,
             uuid: str | None = None) -> ClientModel:
    """dial() and onCallInitiated (with CallKit and a uuid, also CXStartCallAction fulfilled)."""
    params: dict[str, Any] = {"remoteId": remote}
    if message is not None:
        params["message"] = message
    m._fire("dial", params=params, call=call)
    if uuid is not None:
        m._fire("CXStartCallAction", params={"uuid": uuid})
        m._fire("actionFulfilled", params={"uuid": uuid, "action": "CXStartCallAction"})
    m._fire("onCallInitiated", call=call)
    assert m.call_state == CallState.OUTGOING_INITIATED
    return m


def outgoing_established(m: ClientModel, call: str = "c1", uuid: str | None = None) -> ClientModel:
    outgoing(m, call, uuid=uuid)
    m._fire("onCallRinging", call=call)
    if uuid is not None:
        m._fire("reportOutgoingCallStartedConnecting", params={"uuid": uuid})
    m._fire("onCallEstablished", call=call)
    if uuid is not None:
        m._fire("reportOutgoingCallConnected", params={"uuid": uuid})
    assert m.call_state == CallState.ESTABLISHED
    return m


def incoming(m: ClientModel, call: str = "c2", uuid: str | None = None) -> ClientModel:
    """relaySessionData() and onIncomingCall (with CallKit and a uuid, reported to CallKit)."""
    m._fire("relaySessionData", params={"payload": "p", "payloadVersion": "1"})
    assert m.call_state == CallState.NONE
    m._fire("onIncomingCall", call=call)
    if uuid is not None:
        m._fire("reportNewIncomingCall", params={"uuid": uuid})
    assert m.call_state == CallState.INCOMING
    return m


def incoming_established(m: ClientModel, call: str = "c2", uuid: str | None = None) -> ClientModel:
    incoming(m, call, uuid=uuid)
    if uuid is not None:
        m._fire("CXAnswerCallAction", params={"uuid": uuid})
    m._fire("answer", call=call)
    if uuid is not None:
        m._fire("actionFulfilled", params={"uuid": uuid, "action": "CXAnswerCallAction"})
    assert m.call_state == CallState.ANSWERING
    m._fire("onCallEstablished", call=call)
    assert m.call_state == CallState.ESTABLISHED
    return m


def ended(m: ClientModel, call: str = "c1") -> ClientModel:
    """hangup() and onCallEnded(LOCAL_HANGUP) of a live call."""
    m._fire("hangup", call=call)
    m._fire("onCallEnded", params={"endReason": "LOCAL_HANGUP"}, call=call)
    assert m.call_state == CallState.ENDED
    return m


def violation(m: ClientModel, event: str, *, result: str = "ok", params: dict | None = None,
              call: str | None = None) -> SpecViolation:
    """Assert that the event is refused and that the refusal left the model unchanged."""
    before = m.key()
    try:
        m._fire(event, result=result, params=params, call=call)
    except SpecViolation as v:
        assert m.key() == before, f"{event}: a refused event changed the model"
        return v
    raise AssertionError(f"{event} was accepted in {m.leaf_states()}; expected a SpecViolation")


def rule_ids(v: SpecViolation) -> set[str]:
    return {r.id for r in v.rules}


def obligation_ids(m: ClientModel) -> set[str]:
    return {r.id for r, _ in m.obligations()}


# --- cheap branching ---------------------------------------------------------------------------
# copy.deepcopy of a ClientModel costs ~10 ms; its whole state is the configuration values and
# the Vars dataclass (immutable fields), so a snapshot is those two.

Snapshot = tuple[OrderedSet, Any]


def snapshot(m: ClientModel) -> Snapshot:
    return OrderedSet(m.current_state_value), copy.copy(m.v)


def restore(m: ClientModel, snap: Snapshot) -> None:
    m.current_state_value = OrderedSet(snap[0])
    m.v = copy.copy(snap[1])


# --- letters -----------------------------------------------------------------------------------
# A letter is one trace line with its call reference kept symbolic, so that generated
# sequences name the right call often enough to get far:
#   CUR = the latest call, NEW = a fresh id, OLD = an id of an earlier (ended) call,
#   or a literal id, or None (no call field).

CUR, NEW, OLD = "<cur>", "<new>", "<old>"


@dataclass(frozen=True)
class Letter:
    event: str
    result: str = "ok"
    params: tuple[tuple[str, Any], ...] = ()
    call: str | None = None

    @property
    def args(self) -> dict[str, Any]:
        return dict(self.params)

    def resolve_call(self, m: ClientModel) -> tuple[bool, str | None]:
        """(applicable, call id) for this model."""
        if self.call == CUR:
            return True, m.v.call_id
        if self.call == NEW:
            used = set(m.v.past_calls) | ({m.v.call_id} if m.v.call_id else set())
            n = len(used) + 1
            while f"c{n}" in used:
                n += 1
            return True, f"c{n}"
        if self.call == OLD:
            if not m.v.past_calls:
                return False, None
            return True, sorted(m.v.past_calls)[0]
        return True, self.call

    def __str__(self) -> str:
        bits = [self.event]
        if self.result != "ok":
            bits.append(f"!{self.result}")
        if self.params:
            bits.append(",".join(f"{k}={v!r}" for k, v in self.params))
        if self.call:
            bits.append(f"@{self.call}")
        return " ".join(bits)


def L(event: str, result: str = "ok", call: str | None = None, **params: Any) -> Letter:
    return Letter(event, result, tuple(sorted(params.items())), call)


def apply(m: ClientModel, letter: Letter) -> tuple[bool, str | None]:
    """Apply a letter: (True, call id) if accepted; (False, None) if refused or not applicable.
    A refused letter must leave the model exactly as it was."""
    ok, call = letter.resolve_call(m)
    if not ok:
        return False, None
    before = m.key()
    try:
        m._fire(letter.event, result=letter.result, params=letter.args, call=call)
    except SpecViolation:
        after = m.key()
        assert after == before, f"refused {letter} changed the model:\n{before}\n{after}"
        return False, None
    return True, call


R_ = CallEndReason
ALL_END_REASONS = [r.value for r in R_]

LIFECYCLE_LETTERS = [
    L("initialize", subscriberName="alice"),
    L("initialize", subscriberName="a" * 17),
    L("initialize", "INVALID_PARAMETER", subscriberName="bad name"),
    L("onInitializationSuccess"),
    L("onInitializationFailure", error="INTERNAL_ERROR"),
    L("onAuthenticationFailure", error="AUTHENTICATION_EXPIRED_TOKEN"),
    L("reset"),
    L("stop"),
    L("stop", "SYSTEM_BUSY"),
    L("onDeinitialized"),
    L("onInitializationDelay"),
    L("onAlreadyIntialized"),
    L("onAlreadyInitialized"),
    L("onLog", level="INFO", tag="sip", message="x"),
    L("onLog", level="LOUD"),
    L("onDestroyMediaSession"),
]
LOG_LETTERS = [
    L("uploadLogs"),
    L("uploadLogs", "SDK_UNINITIALIZED"),
    L("onUploadLogSuccess"),
    L("onUploadLogFailure", error="UPLOAD_LOG_FAILURE"),
    L("uploadLogs", startDate="2024-02-01", endDate="2024-01-01"),
    L("uploadLogs", "INVALID_PARAMETER", startDate="2024-02-01", endDate="2024-01-01"),
    L("uploadLogs", "MISSING_PERMISSION"),
]
OUTGOING_LETTERS = [
    L("dial", call=NEW, remoteId="sip:1", message="order:42"),
    L("dial", call=NEW, remoteId="sip:1", message="hi there!"),
    L("dial", "SYSTEM_BUSY", remoteId="sip:1"),
    L("dial", "SDK_UNINITIALIZED", remoteId="sip:1"),
    L("dial", "PSTN_CALL_INPROGRESS", remoteId="sip:1"),
    L("onCallInitiated", call=CUR),
    L("net_early_media"),
    L("onCallRinging", call=CUR),
    L("net_connecting"),
    L("onCallFailed", call=CUR, error="CONGESTION_ERROR"),
]
INCOMING_LETTERS = [
    L("relaySessionData", payload="p", payloadVersion="1"),
    L("relaySessionData", "SYSTEM_BUSY", payload="p", payloadVersion="1"),
    L("relaySessionData", "PSTN_CALL_INPROGRESS", payload="p", payloadVersion="1"),
    L("onIncomingCall", call=NEW),
    L("onMissedCall", remoteId="sip:9", time="1"),
    L("answer", call=CUR),
]
COMMON_CALL_LETTERS = [
    L("onCallEstablished", call=CUR),
    L("onMediaDisrupted", call=CUR),
    L("onRenewingMedia", call=CUR),
    L("hangup", call=CUR),
    L("mute", call=CUR),
    L("unmute", call=CUR),
    L("enableSpeaker", call=CUR),
    L("disableSpeaker", "INTERNAL_ERROR", call=CUR),
    L("enableBluetooth", call=CUR),
    L("disableBluetooth", call=CUR),
    L("sendDtmf", call=CUR, digit="5"),
    L("sendDtmf", call=CUR, digit="55"),
    L("postFeedback", call=CUR, rating=4, issue="NO_ISSUE"),
    L("postFeedback", call=CUR, rating=7, issue="NO_ISSUE"),
    L("onCallDisrupted", call=CUR),
    L("onCallRenewed", call=CUR),
    *[L("getAudioRoute", call=CUR, route=r) for r in ("EARPIECE", "SPEAKER", "BLUETOOTH",
                                                      "HEADPHONES")],
]
END_LETTERS = [L("onCallEnded", call=CUR)] + [
    L("onCallEnded", call=CUR, endReason=r) for r in ALL_END_REASONS
]
STALE_CALL_LETTERS = [
    L("onCallEstablished", call=OLD),
    L("onCallEnded", call=OLD, endReason="REMOTE_HANGUP"),
    L("hangup", call=OLD),
    L("postFeedback", call=OLD, rating=3, issue="ECHO"),
    L("onCallInitiated", call="c1"),
]
ENV_LETTERS = [
    L("pstnRinging"), L("pstnAnswered"), L("pstnDeclined"), L("pstnDialed"), L("pstnEnded"),
    L("bluetoothConnected"), L("bluetoothDisconnected"), L("networkLost"), L("networkRestored"),
    L("wiredHeadsetConnected"), L("wiredHeadsetDisconnected"),
]
CALLKIT_LETTERS = [
    L("CXStartCallAction", uuid="u1"),
    L("CXAnswerCallAction", uuid="u1"),
    L("CXEndCallAction", uuid="u1"),
    L("CXSetMutedCallAction", uuid="u1"),
    L("CXSetHeldCallAction", uuid="u1"),
    *[L("actionFulfilled", uuid="u1", action=a) for a in CALLKIT_ACTIONS],
    L("actionFailed", uuid="u1", action="CXStartCallAction"),
    L("actionFailed", uuid="u1", action="CXSetMutedCallAction"),
    L("reportNewIncomingCall", uuid="u1"),
    L("reportNewIncomingCall", uuid="u2"),
    L("reportOutgoingCallStartedConnecting", uuid="u1"),
    L("reportOutgoingCallConnected", uuid="u1"),
    L("reportCallEnded", uuid="u1"),
    L("reportCallEnded", uuid="u2"),
    L("CXEndCallAction", uuid="u2"),
    L("actionFulfilled", uuid="u2", action="CXEndCallAction"),
    L("providerDidReset"),
    L("voipPushReceived", uuid="u1"),
    L("voipPushCompleted", uuid="u1"),
    L("voipPushReceived", uuid="u2"),
    L("voipPushCompleted", uuid="u2"),
    L("CXSetMutedCallAction", uuid="u1", muted=True),
    L("CXSetMutedCallAction", uuid="u1", muted=False),
    L("CXSetHeldCallAction", uuid="u1", onHold=True),
]

ALL_LETTERS: list[Letter] = [
    *LIFECYCLE_LETTERS, *LOG_LETTERS, *OUTGOING_LETTERS, *INCOMING_LETTERS,
    *COMMON_CALL_LETTERS, *END_LETTERS, *STALE_CALL_LETTERS, *ENV_LETTERS, *CALLKIT_LETTERS,
]


def run(m: ClientModel, letters: Iterable[Letter]) -> ClientModel:
    """Apply letters that must all be accepted (for readable scenario set-ups)."""
    for letter in letters:
        ok, _ = apply(m, letter)
        assert ok, f"{letter} refused in {m.leaf_states()}"
    return m


# --- guidance for generated sequences ----------------------------------------------------------


def _sources() -> dict[str, frozenset]:
    from exovoice.spec.charts.model import transitions_of

    out: dict[str, set] = {}
    for t, spec in transitions_of(ClientModel):
        if spec.rule.id == "API-REFUSAL":  # every API call may be refused from the one api state
            continue
        for ev in t.events:
            out.setdefault(str(ev), set()).add(t.source.value)
    return {ev: frozenset(s) for ev, s in out.items()}


SOURCES = _sources()


def plausible(m: ClientModel, letter: Letter) -> bool:
    """Cheap pre-filter: some region has an edge for the letter's event from its active state
    (a refused API call always has one). The model may still refuse the letter."""
    if letter.result != "ok":
        return True
    return not SOURCES.get(letter.event, frozenset()).isdisjoint(m.configuration_values)


CALL_SIDE = frozenset(
    s.value for r in ClientModel.client.states  # type: ignore[attr-defined]
    if r.id in ("call", "callkit", "pushkit", "missed") for s in r.states
)


def moves_a_call(m: ClientModel, letter: Letter) -> bool:
    """plausible(), through an edge of the call, CallKit, push or missed-call regions."""
    if letter.result != "ok":
        return False
    sources = SOURCES.get(letter.event, frozenset()) & CALL_SIDE
    return not sources.isdisjoint(m.configuration_values)
