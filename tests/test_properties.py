"""Properties of the composed model over generated event sequences, and an exhaustive search
showing that no state of any region is unreachable.

Sequences are built from the letters of tests/helpers.py (an event with its result, its
arguments and a symbolic call reference). A letter the model refuses is skipped: it is simply
not allowed there, and the refusal must leave the model exactly as it was (helpers.apply
checks that on every step).
"""

from __future__ import annotations

import copy
import dataclasses
from collections import deque

from helpers import (
    ALL_LETTERS,
    CUR,
    NEW,
    L,
    Letter,
    apply,
    initialized,
    moves_a_call,
    outgoing_established,
    restore,
    snapshot,
)
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from exovoice.spec.charts.call_state import LIVE, SYSTEM_STATE
from exovoice.spec.charts.model import ClientModel
from exovoice.spec.vocabulary import (
    CALL_CALLBACKS,
    CALLKIT_ACTIONS,
    OBSERVABLE_EVENTS,
    CallKit,
    CallState,
    Kind,
)

# region id -> {state id: state value} (the call region's values are the CallState names)
REGIONS: dict[str, dict[str, str]] = {
    r.id: {s.id: s.value for s in r.states} for r in ClientModel.client.states  # type: ignore[attr-defined]
}
CALL_OPS_BUT_FEEDBACK = {"answer", "hangup", "mute", "unmute", "enableSpeaker", "disableSpeaker",
                         "enableBluetooth", "disableBluetooth", "sendDtmf"}

# Letters that move things along, drawn by a rule of their own (beside any letter, a guided
# letter and a whole scenario), so that generated sequences get into calls.
PROGRESS = [
    L("initialize", subscriberName="alice"), L("onInitializationSuccess"),
    L("dial", call=NEW, remoteId="sip:1", message="order:42"),
    L("onCallInitiated", call=CUR), L("onCallRinging", call=CUR),
    L("onCallEstablished", call=CUR), L("onMediaDisrupted", call=CUR),
    L("relaySessionData", payload="p"), L("onIncomingCall", call=NEW), L("answer", call=CUR),
    L("hangup", call=CUR), L("onCallEnded", call=CUR),
    L("pstnRinging"), L("pstnAnswered"), L("pstnDialed"), L("pstnEnded"),
    L("CXStartCallAction", uuid="u1"), L("reportNewIncomingCall", uuid="u1"),
    L("CXAnswerCallAction", uuid="u1"), L("CXEndCallAction", uuid="u1"),
    *[L("actionFulfilled", uuid="u1", action=a) for a in CALLKIT_ACTIONS],
]

# Call set-ups that random letters would rarely complete (the CallKit letters are refused, and
# so skipped, in a model without CallKit).
SCENARIOS = {
    "outgoing": [
        L("dial", call=NEW, remoteId="sip:1"), L("CXStartCallAction", uuid="u1"),
        L("actionFulfilled", uuid="u1", action="CXStartCallAction"),
        L("onCallInitiated", call=CUR), L("onCallRinging", call=CUR),
        L("reportOutgoingCallStartedConnecting", uuid="u1"), L("onCallEstablished", call=CUR),
        L("reportOutgoingCallConnected", uuid="u1"),
    ],
    "outgoing-early": [
        L("dial", call=NEW, remoteId="sip:1", message="{id:7}"), L("onCallInitiated", call=CUR),
        L("net_early_media"), L("net_connecting"), L("onCallEstablished", call=CUR),
    ],
    "media": [
        L("onMediaDisrupted", call=CUR), L("onRenewingMedia", call=CUR),
    ],
    "incoming": [
        L("voipPushReceived", uuid="u1"), L("relaySessionData", payload="p"),
        L("reportNewIncomingCall", uuid="u1"), L("voipPushCompleted", uuid="u1"),
        L("onIncomingCall", call=NEW), L("CXAnswerCallAction", uuid="u1"), L("answer", call=CUR),
        L("actionFulfilled", uuid="u1", action="CXAnswerCallAction"),
        L("onCallEstablished", call=CUR),
    ],
}

# What the "can the call still end?" search may use.
CLOSING = [
    L("hangup", call=CUR), L("onCallEnded", call=CUR),
    L("onCallEnded", call=CUR, endReason="MEDIA_TIMEOUT"),
    L("onIncomingCall", call=NEW), L("onMissedCall"),
]


def can_close(m: ClientModel, depth: int = 4) -> bool:
    """From here, some sequence of CLOSING letters brings the call to ENDED or to no call."""
    if m.call_state in (None, CallState.ENDED):
        return True
    start = snapshot(m)
    seen = {m.key()}
    frontier = [start]
    try:
        for _ in range(depth):
            nxt = []
            for snap in frontier:
                for letter in CLOSING:
                    restore(m, snap)
                    ok, _ = apply(m, letter)
                    if not ok:
                        continue
                    if m.call_state in (None, CallState.ENDED):
                        return True
                    k = m.key()
                    if k not in seen:
                        seen.add(k)
                        nxt.append(snapshot(m))
            frontier = nxt
        return False
    finally:
        restore(m, start)


def check_configuration(m: ClientModel) -> None:
    """Exactly one active state per region, hence a single call state; SystemState agrees."""
    active = set(m.configuration_values)
    for region, states in REGIONS.items():
        on = [sid for sid, value in states.items() if value in active]
        assert len(on) == 1, f"region {region} has {on} active"
    calls = [v for v in active if v in CallState._value2member_map_]
    assert len(calls) <= 1, calls
    cs = m.call_state
    assert m.system_state == SYSTEM_STATE[cs]
    assert (m.system_state == "IDLE") == (cs in (None, CallState.ENDED))
    assert m.call_exists == (cs not in (None, CallState.ENDED))
    assert (cs is None) == m.in_state("no_call")
    v = m.v
    assert v.call_id is None or v.call_id not in v.past_calls
    assert v.ck_pending is None or v.ck_pending in CALLKIT_ACTIONS
    assert not m.in_state("ck_idle") or v.ck_uuid is None
    assert m.in_state("ck_idle") or v.callkit


class ClientMachine(RuleBasedStateMachine):
    """Drives one ClientModel with generated letters and checks the spec's global rules."""

    @initialize(callkit=st.booleans(), ready=st.sampled_from([True, False]))
    def start(self, callkit: bool, ready: bool) -> None:
        self.m = ClientModel(callkit=callkit)
        if ready:
            apply(self.m, L("initialize", subscriberName="alice"))
            apply(self.m, L("onInitializationSuccess"))
        self.ended_ids: set[str] = set()
        self.closed = False  # onCallEnded / onCallFailed seen, no new call yet
        self.failed = False  # onCallFailed was the last call callback
        self.trace: list[str] = []

    @rule(letter=st.sampled_from(ALL_LETTERS))
    def any_letter(self, letter: Letter) -> None:
        self.step(letter)

    @rule(letter=st.sampled_from(PROGRESS))
    def progress(self, letter: Letter) -> None:
        self.step(letter)

    @rule(data=st.data())
    def guided(self, data: st.DataObject) -> None:
        """An event with an edge of a call-side region from the current configuration (each
        such event equally likely), then one of its letters."""
        by_event: dict[str, list[Letter]] = {}
        for letter in ALL_LETTERS:
            if moves_a_call(self.m, letter):
                by_event.setdefault(letter.event, []).append(letter)
        if not by_event:
            return
        event = data.draw(st.sampled_from(sorted(by_event)), label="event")
        self.step(data.draw(st.sampled_from(by_event[event]), label="letter"))

    @rule(scenario=st.sampled_from(sorted(SCENARIOS)))
    def scenario(self, scenario: str) -> None:
        """A whole call set-up, letter by letter (refused letters are skipped as always)."""
        for letter in SCENARIOS[scenario]:
            self.step(letter)

    def step(self, letter: Letter) -> None:
        m = self.m
        before_state = m.call_state
        before_live = m.call_live
        pstn_in_progress = m.pstn_in_progress
        pstn_active = m.pstn_active
        pstn_ringing = m.in_state("pstn_ringing")
        pending, uuid, sdk_done = m.v.ck_pending, m.v.ck_uuid, m.v.ck_sdk_done
        second, pending_second = m.v.ck_second, m.v.ck_pending_second
        ok, call = apply(m, letter)  # asserts a refusal leaves the model unchanged
        if not ok:
            return
        self.trace.append(str(letter))
        ev, args = letter.event, letter.args
        ck = m.v.callkit
        kind = OBSERVABLE_EVENTS.get(ev)

        # --- ENDED is terminal per call ---
        after_failure = self.failed and ev == "onCallEnded"  # CALL-FAILED: one may follow
        if call is not None and call in self.ended_ids:
            assert ev not in CALL_CALLBACKS or after_failure, \
                f"{ev} names ended call {call}: {self.trace}"
            # an accepted operation on an ended call is a no-op (CALL-OP-STATE, AUDIO-LIVE)
            assert not (ev in CALL_OPS_BUT_FEEDBACK and letter.result == "ok") or \
                m.call_state == CallState.ENDED, self.trace
        if self.closed:
            assert ev not in CALL_CALLBACKS or ev == "onIncomingCall" or after_failure, \
                f"{ev} after the call ended: {self.trace}"
        if ev in ("onCallEnded", "onCallFailed"):
            assert m.call_state == CallState.ENDED
            self.closed = True
        self.failed = ev == "onCallFailed" or (self.failed and ev not in CALL_CALLBACKS
                                               and m.call_state == CallState.ENDED)
        if m.call_state == CallState.ENDED and m.v.call_id is not None:
            self.ended_ids.add(m.v.call_id)
        if m.call_state not in (None, CallState.ENDED):
            self.closed = False
        if before_state == CallState.ENDED:
            assert m.call_state in (CallState.ENDED, CallState.OUTGOING_INITIATED, CallState.NONE), \
                f"ENDED left for {m.call_state} by {ev}"

        # --- PSTN ---
        if ev == "dial" and letter.result == "ok":
            assert not pstn_in_progress, f"dial accepted during a PSTN call: {self.trace}"
            assert before_state in (None, CallState.ENDED)
        if ev == "relaySessionData" and letter.result == "ok" and pstn_active and not ck:
            assert m.call_state == before_state and m.in_state("missed_due"), self.trace
        if ev == "onIncomingCall":
            assert before_state == CallState.NONE
            assert not (self.none_from_pstn_relay and not ck), \
                f"onIncomingCall after a relay during an active PSTN call: {self.trace}"
        if ev == "relaySessionData" and m.call_state == CallState.NONE and before_state != CallState.NONE:
            self.none_from_pstn_relay = pstn_active and not ck
        if ev == "pstnAnswered":
            assert pstn_ringing and m.pstn_active, f"pstnAnswered without a ringing PSTN call: {self.trace}"
        if ev == "pstnAnswered" and before_live:
            if ck:
                assert m.call_state == before_state, self.trace
            else:
                assert m.call_state == CallState.ENDING and m.v.end_cause == "PSTN_HANGUP", self.trace

        # --- CallKit ---
        if kind == Kind.CALLKIT:
            assert ck, f"{ev} accepted without CallKit"
        if ev in CALLKIT_ACTIONS:
            assert pending is None, f"{ev} while {pending} pending: {self.trace}"
            assert m.v.ck_pending == ev
        if ev in ("actionFulfilled", "actionFailed"):
            assert pending is not None and args.get("action") == pending, self.trace
            assert args.get("uuid") in (None, second if pending_second else uuid)
            assert m.v.ck_pending is None
            if ev == "actionFulfilled" and not pending_second and (
                    pending == "CXAnswerCallAction"
                    or (pending == "CXEndCallAction" and before_live)):
                assert sdk_done, f"{pending} fulfilled before the SDK call: {self.trace}"
        if ev == CallKit.reportNewIncomingCall.value:
            assert (uuid is None and m.v.ck_uuid == args.get("uuid")) or (
                second is None and m.v.ck_second == args.get("uuid") != uuid), self.trace

    none_from_pstn_relay = False

    @invariant()
    def configuration_is_consistent(self) -> None:
        check_configuration(self.m)

    @invariant()
    def the_call_can_always_end(self) -> None:
        assert can_close(self.m), f"stuck in {self.m.leaf_states()} after {self.trace}"

    @invariant()
    def obligations_match_the_state(self) -> None:
        m = self.m
        owed = {r.id for r, _ in m.obligations()}
        assert ("CALL-ENDED-TERMINAL" in owed) == (m.call_state not in (None, CallState.ENDED))
        assert ("CK-ACTION-ONCE" in owed) == (m.v.ck_pending is not None)
        assert ("CK-RESET" in owed) == m.v.hangup_owed
        assert not m.v.hangup_owed or m.call_state in LIVE


ClientMachine.TestCase.settings = settings(
    max_examples=120, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestClientMachine = ClientMachine.TestCase


# ============================================================================================
# exhaustive search: every state of every region is reachable
# ============================================================================================


def normal_key(m: ClientModel) -> tuple:
    """The model's key with call ids abstracted: letters only name calls symbolically (latest,
    new, an earlier one), so models that differ only in the ids behave alike."""
    conf, values = m.key()
    names = [f.name for f in dataclasses.fields(m.v)]
    return conf, tuple(bool(x) if n in ("call_id", "past_calls") else x for n, x in zip(names, values))


def bfs(callkit: bool, letters: list[Letter], max_depth: int = 9,
        max_keys: int = 3000) -> tuple[set[str], int, int]:
    """Breadth-first over the composed model; returns (leaf states reached, keys, depth)."""
    m = ClientModel(callkit=callkit)
    reached = set(m.leaf_states())
    seen = {normal_key(m)}
    frontier = deque([snapshot(m)])
    depth = 0
    while frontier and depth < max_depth and len(seen) < max_keys:
        depth += 1
        nxt: deque = deque()
        for snap in frontier:
            for letter in letters:
                restore(m, snap)
                ok, _ = apply(m, letter)
                if not ok:
                    continue
                check_configuration(m)
                k = normal_key(m)
                if k in seen:
                    continue
                seen.add(k)
                reached.update(m.leaf_states())
                nxt.append(snapshot(m))
        frontier = nxt
    return reached, len(seen), depth


INIT = [L("initialize", subscriberName="alice"), L("onInitializationSuccess")]
# Three searches, each over the letters one concern needs, so that each finishes within the
# bound while together they visit every state of every region.
SEARCHES = {
    "calls": (False, INIT + [
        L("dial", call=NEW, remoteId="sip:1"), L("onCallInitiated", call=CUR),
        L("net_early_media"), L("onCallRinging", call=CUR), L("net_connecting"),
        L("onCallEstablished", call=CUR), L("onMediaDisrupted", call=CUR),
        L("onRenewingMedia", call=CUR), L("hangup", call=CUR), L("onCallEnded", call=CUR),
        L("relaySessionData", payload="p"), L("onIncomingCall", call=NEW),
        L("answer", call=CUR), L("onMissedCall"),
    ]),
    "client": (False, [
        *INIT, L("onInitializationFailure"),
        L("onAuthenticationFailure", error="AUTHENTICATION_INVALID_TOKEN"),
        L("reset"), L("stop"), L("onDeinitialized"),
        L("uploadLogs"), L("onUploadLogSuccess"), L("onUploadLogFailure"),
        L("pstnRinging"), L("pstnAnswered"), L("pstnDeclined"), L("pstnDialed"), L("pstnEnded"),
        L("bluetoothConnected"), L("bluetoothDisconnected"), L("networkLost"),
        L("networkRestored"), L("wiredHeadsetConnected"), L("wiredHeadsetDisconnected"),
        L("onLog", level="INFO"),
    ]),
    "callkit": (True, INIT + [
        L("dial", call=NEW, remoteId="sip:1"), L("onCallInitiated", call=CUR),
        L("onCallEstablished", call=CUR),
        L("CXStartCallAction", uuid="u1"),
        L("actionFulfilled", uuid="u1", action="CXStartCallAction"),
        L("reportOutgoingCallConnected", uuid="u1"),
        L("voipPushReceived", uuid="u1"), L("reportNewIncomingCall", uuid="u1"),
        L("voipPushCompleted", uuid="u1"), L("relaySessionData", payload="p"),
        L("onIncomingCall", call=NEW),
    ]),
}


def test_every_state_of_every_region_is_reachable() -> None:
    reached: set[str] = set()
    for name, (callkit, letters) in SEARCHES.items():
        got, keys, depth = bfs(callkit, letters)
        assert keys > 1, name
        reached |= got
    unreached = {region: sorted(set(states) - reached) for region, states in REGIONS.items()
                 if set(states) - reached}
    assert unreached == {}, unreached
    assert {REGIONS["call"][s] for s in REGIONS["call"] if s != "no_call"} == set(CallState.names())


def test_search_from_every_reached_call_configuration_can_end_the_call() -> None:
    """Over the whole call-focused search space (not a sample), the call can always end."""
    callkit, letters = SEARCHES["calls"]
    m = ClientModel(callkit=callkit)
    seen = {normal_key(m)}
    frontier = [snapshot(m)]
    states = 0
    for _ in range(8):
        nxt = []
        for snap in frontier:
            for letter in letters:
                restore(m, snap)
                if not apply(m, letter)[0]:
                    continue
                k = normal_key(m)
                if k in seen:
                    continue
                seen.add(k)
                assert can_close(m), m.leaf_states()
                states += 1
                nxt.append(snapshot(m))
        frontier = nxt
    assert states > 50


def test_letters_bank_covers_the_vocabulary() -> None:
    """Every observable and internal event the model knows appears in some letter."""
    named = {letter.event for letter in ALL_LETTERS}
    missing = set(OBSERVABLE_EVENTS) - named
    assert missing == set(), missing
    assert {"net_early_media", "net_connecting"} <= named


def test_snapshot_restore_branches_like_deepcopy() -> None:
    """The searches branch with helpers.snapshot/restore instead of copy.deepcopy (~10 ms a
    copy): both must lead to the same models."""
    m = outgoing_established(initialized(callkit=True), uuid="u1")
    m._fire("pstnRinging")
    snap = snapshot(m)
    twin = copy.deepcopy(m)
    for letter in ALL_LETTERS:
        restore(m, snap)
        branch = copy.deepcopy(twin)
        assert m.key() == branch.key()
        assert apply(m, letter) == apply(branch, letter), letter
        assert m.key() == branch.key(), letter
        assert m.leaf_states() == branch.leaf_states()
