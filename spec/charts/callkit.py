"""The CallKit lifecycle chart: guide 4.3.3 and 4.9, the CallKit lifecycle diagram, FACTS.md.

In force only when the app integrates CallKit (a trace's meta line, or --callkit). The region
follows the active CallKit UUID of the SDK's call; a second, push-only CallKit call (a VoIP
push during an active call, CK-SECOND-CALL) is the model variable `ck_second`. The action the
delegate is performing (at most one at a time: the sample's delegate fulfils each before
returning), whose call it is and whether its SDK call was made are model variables, so that
"fulfilled or failed exactly once" is checked per action.
"""

from __future__ import annotations

from typing import Any

from statemachine import State

from .. import rules as R
from ..base import tag
from ..vocabulary import CallKit, CallState
from .call_state import LIVE, edges

START = CallKit.CXStartCallAction.value
ANSWER = CallKit.CXAnswerCallAction.value
END = CallKit.CXEndCallAction.value
MUTED = CallKit.CXSetMutedCallAction.value
HELD = CallKit.CXSetHeldCallAction.value


class CallKitRegion(State.Compound, name="CallKit"):
    ck_idle = State("no CallKit call", initial=True)
    ck_outgoing = State("outgoing (UUID active)")
    ck_incoming = State("incoming reported")
    ck_active = State("connected")

    CXStartCallAction = tag(
        ck_idle.to(ck_outgoing, cond=["callkit_on", "dialled_call_live", "no_action_pending"],
                   on="ck_begin_start"),
        R.CK_START, guard="after dial()",
    )
    reportNewIncomingCall = tag(
        ck_idle.to(ck_incoming, cond=["callkit_on", "can_report_incoming"], on="ck_begin"),
        R.CK_REPORT_INCOMING, guard="after onIncomingCall or a VoIP push",
    )
    reportNewIncomingCall |= tag(
        edges([ck_outgoing, ck_incoming, ck_active], None,
              cond=["callkit_on", "can_report_second"], on="ck_begin_second"),
        R.CK_SECOND_CALL, guard="a VoIP push during the call: a new UUID",
    )
    CXAnswerCallAction = tag(
        ck_incoming.to.itself(cond=["callkit_on", "uuid_ok", "no_action_pending"],
                              on="ck_pend"),
        R.CK_ANSWER, emits="answer",
    )
    answer = tag(
        ck_incoming.to.itself(cond=["pending_answer", "api_valid"], on="ck_sdk_done"),
        R.CK_ANSWER, guard="CXAnswerCallAction pending",
    )
    CXEndCallAction = tag(
        edges([ck_outgoing, ck_incoming, ck_active], None,
              cond=["callkit_on", "uuid_ok", "no_action_pending"], on="ck_pend"),
        R.CK_END, emits="hangup",
    )
    CXEndCallAction |= tag(
        edges([ck_idle, ck_outgoing, ck_incoming, ck_active], None,
              cond=["callkit_on", "is_second", "no_action_pending"], on="ck_pend_second"),
        R.CK_SECOND_CALL, guard="the second call: no SDK hangup",
    )
    hangup = tag(
        edges([ck_outgoing, ck_incoming, ck_active], None, cond=["pending_end", "api_valid"],
              on="ck_sdk_done"),
        R.CK_END, guard="CXEndCallAction pending",
    )
    CXSetMutedCallAction = tag(
        edges([ck_outgoing, ck_active], None, cond=["callkit_on", "uuid_ok", "no_action_pending"],
              on="ck_pend_muted"),
        R.CK_MUTE, emits="mute / unmute",
    )
    mute = tag(
        edges([ck_outgoing, ck_active], None, cond=["pending_muted", "wants_mute", "api_valid"],
              on="ck_sdk_done"),
        R.CK_MUTE, guard="CXSetMutedCallAction(muted) pending",
    )
    unmute = tag(
        edges([ck_outgoing, ck_active], None, cond=["pending_muted", "wants_unmute", "api_valid"],
              on="ck_sdk_done"),
        R.CK_MUTE, guard="CXSetMutedCallAction(unmuted) pending",
    )
    CXSetHeldCallAction = tag(
        edges([ck_outgoing, ck_active], None, cond=["callkit_on", "uuid_ok", "no_action_pending"],
              on="ck_pend_held"),
        R.CK_HOLD,
    )
    actionFulfilled = tag(
        ck_incoming.to(ck_active, cond=["fulfils_pending", "pending_answer", "sdk_done"], on="ck_clear"),
        R.CK_ANSWER, guard="answer() called",
    )
    actionFulfilled |= tag(
        edges([ck_outgoing, ck_incoming, ck_active], ck_idle,
              cond=["fulfils_pending", "pending_end", "sdk_done_or_no_call"], on="ck_release"),
        R.CK_END, guard="hangup() called, or no call to hang up",
    )
    actionFulfilled |= tag(
        edges([ck_idle, ck_outgoing, ck_incoming, ck_active], None,
              cond=["fulfils_pending_second"], on="ck_end_second"),
        R.CK_SECOND_CALL, guard="the second call's CXEndCallAction",
    )
    actionFulfilled |= tag(
        edges([ck_outgoing, ck_active], None,
              cond=["fulfils_pending", "pending_muted", "sdk_done"], on="ck_clear"),
        R.CK_MUTE, guard="mute() / unmute() called",
    )
    actionFulfilled |= tag(
        edges([ck_outgoing, ck_active], None, cond=["fulfils_pending", "pending_simple"],
              on="ck_fulfil_simple"),
        R.CK_ACTION_ONCE, guard="start or hold pending",
    )
    actionFailed = tag(
        ck_outgoing.to(ck_idle, cond=["fulfils_pending", "pending_start"], on="ck_release"),
        R.CK_ACTION_ONCE, guard="CXStartCallAction failed",
    )
    actionFailed |= tag(
        edges([ck_outgoing, ck_incoming, ck_active], None, cond="fulfils_pending", on="ck_clear"),
        R.CK_ACTION_ONCE, guard="action failed",
    )
    actionFailed |= tag(
        edges([ck_idle, ck_outgoing, ck_incoming, ck_active], None,
              cond="fails_pending_second", on="ck_clear"),
        R.CK_ACTION_ONCE, guard="the second call's action failed",
    )
    reportOutgoingCallStartedConnecting = tag(
        ck_outgoing.to.itself(cond=["callkit_on", "uuid_ok", "call_rang"]),
        R.CK_REPORT_CONNECTING, guard="after onCallRinging",
    )
    reportOutgoingCallConnected = tag(
        ck_outgoing.to(ck_active, cond=["callkit_on", "uuid_ok", "call_established"]),
        R.CK_REPORT_CONNECTED, guard="after onCallEstablished",
    )
    reportOutgoingCallConnected |= tag(
        ck_active.to.itself(cond=["callkit_on", "uuid_ok", "call_established", "incoming_call"]),
        R.CK_REPORT_CONNECTED, guard="an answered incoming call (permissive)",
    )
    reportCallEnded = tag(
        edges([ck_outgoing, ck_incoming, ck_active], ck_idle, cond=["callkit_on", "uuid_ok"],
              on="ck_release"),
        R.CK_REPORT_ENDED,
    )
    reportCallEnded |= tag(
        edges([ck_idle, ck_outgoing, ck_incoming, ck_active], None,
              cond=["callkit_on", "is_second"], on="ck_end_second"),
        R.CK_SECOND_CALL, guard="the second call ends",
    )
    providerDidReset = tag(
        edges([ck_idle, ck_outgoing, ck_incoming, ck_active], ck_idle, cond="callkit_on",
              on="ck_reset"),
        R.CK_RESET, emits="hangup",
    )


class PushKitRegion(State.Compound, name="VoIP push"):
    pk_idle = State("no push", initial=True)
    pk_open = State("push handler running")
    pk_reported = State("push reported to CallKit")

    voipPushReceived = tag(
        edges([pk_idle, pk_reported], pk_open, cond="callkit_on"), R.CK_PUSH, cause="PushKit",
    )
    reportNewIncomingCall = tag(
        pk_open.to(pk_reported, cond=["callkit_on", "push_reportable"]), R.CK_PUSH,
    )
    voipPushCompleted = tag(pk_reported.to(pk_idle, cond="callkit_on"), R.CK_PUSH,
                            guard="reported first")


def frozen(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(frozen(x) for x in v)
    if isinstance(v, dict):
        return frozenset((k, frozen(x)) for k, x in v.items())
    return v


class CallKitGuards:
    v: Any

    def _uuid(self, params: dict | None) -> Any:
        """The action's UUID as the machine keeps it: a list or object (not a UUID, but a
        trace may hold one) frozen, equal to what it was equal to, so configurations stay
        hashable."""
        return frozen((params or {}).get("uuid"))

    def callkit_on(self) -> bool:
        return self.deny_unless(self.v.callkit, R.CK_MODE,
                                "the trace does not say the app integrates CallKit")

    def dialled_call_live(self) -> bool:
        return self.deny_unless(
            self.v.direction == "OUTGOING" and self.call_state in (
                CallState.OUTGOING_INITIATED, CallState.EARLY, CallState.RINGING,
                CallState.CONNECTING, CallState.ESTABLISHED),
            R.CK_START, "no dialled call to start in CallKit")

    def can_report_incoming(self, params: dict | None = None, **_: Any) -> bool:
        if not self.deny_unless(self.in_state("ck_idle"), R.CK_ONE_UUID,
                                f"UUID {self.v.ck_uuid} is still active"):
            return False
        announced_incoming = self.call_state in (CallState.INCOMING, CallState.NONE) and \
            self.v.direction == "INCOMING"
        return self.deny_unless(announced_incoming or self.in_state("pk_open"),
                                R.CK_REPORT_INCOMING, "no incoming call and no VoIP push to report")

    def can_report_second(self, params: dict | None = None, **_: Any) -> bool:
        """CK-SECOND-CALL: a VoIP push during an active CallKit call, under a new UUID."""
        uuid = self._uuid(params)
        if not self.deny_unless(self.in_state("pk_open"), R.CK_ONE_UUID,
                                f"UUID {self.v.ck_uuid} is still active and no VoIP push is open"):
            return False
        if not self.deny_unless(uuid is not None and uuid != self.v.ck_uuid, R.CK_ONE_UUID,
                                "a second CallKit call needs a UUID of its own"):
            return False
        return self.deny_unless(self.v.ck_second is None, R.CK_ONE_UUID,
                                f"a second CallKit call ({self.v.ck_second}) is still active")

    def push_reportable(self, params: dict | None = None, **_: Any) -> bool:
        if self.in_state("ck_idle"):
            return self.can_report_incoming(params)
        return self.can_report_second(params)

    def is_second(self, params: dict | None = None, **_: Any) -> bool:
        uuid = self._uuid(params)
        return self.v.ck_second is not None and uuid == self.v.ck_second

    def fulfils_pending_second(self, params: dict | None = None, **_: Any) -> bool:
        return (self.is_second(params) and self.v.ck_pending_second
                and (params or {}).get("action") == END)

    def fails_pending_second(self, params: dict | None = None, **_: Any) -> bool:
        return (self.is_second(params) and self.v.ck_pending_second
                and (params or {}).get("action") == self.v.ck_pending)

    def incoming_call(self) -> bool:
        return self.deny_unless(self.v.direction == "INCOMING", R.CK_REPORT_CONNECTED,
                                "the outgoing call was already reported connected")

    def wants_mute(self) -> bool:
        return self.deny_unless(self.v.ck_want is not False, R.CK_MUTE,
                                "CXSetMutedCallAction(muted: false) asks for unmute(), not mute()")

    def wants_unmute(self) -> bool:
        return self.deny_unless(self.v.ck_want is not True, R.CK_MUTE,
                                "CXSetMutedCallAction(muted: true) asks for mute(), not unmute()")

    def sdk_done_or_no_call(self) -> bool:
        """CK-END: the guide's handler hangs up the SDK's call if there is one, then fulfils."""
        if self.call_state not in LIVE:
            return True
        return self.sdk_done()

    def uuid_ok(self, params: dict | None = None, **_: Any) -> bool:
        uuid = self._uuid(params)
        return self.deny_unless(uuid is None or uuid == self.v.ck_uuid, R.CK_ONE_UUID,
                                f"UUID {uuid} is not the active UUID {self.v.ck_uuid}")

    def no_action_pending(self) -> bool:
        return self.deny_unless(self.v.ck_pending is None, R.CK_ACTION_ONCE,
                                f"{self.v.ck_pending} is still neither fulfilled nor failed")

    def _pending(self, action: str) -> bool:
        return self.v.ck_pending == action

    def pending_answer(self) -> bool:
        return self._pending(ANSWER)

    def pending_end(self) -> bool:
        return self._pending(END)

    def pending_muted(self) -> bool:
        return self._pending(MUTED)

    def pending_start(self) -> bool:
        return self._pending(START)

    def pending_simple(self) -> bool:
        return self.v.ck_pending in (START, HELD)

    def sdk_done(self) -> bool:
        rule, call = {ANSWER: (R.CK_ANSWER, "answer()"), MUTED: (R.CK_MUTE, "mute() / unmute()")
                      }.get(self.v.ck_pending or "", (R.CK_END, "hangup()"))
        return self.deny_unless(self.v.ck_sdk_done, rule,
                                f"{self.v.ck_pending} fulfilled before {call} was called")

    def fulfils_pending(self, params: dict | None = None, **_: Any) -> bool:
        action = (params or {}).get("action")
        if not self.uuid_ok(params):
            return False
        return self.deny_unless(
            self.v.ck_pending is not None and action == self.v.ck_pending
            and not self.v.ck_pending_second, R.CK_ACTION_ONCE,
            f"{action} is not the pending action ({self.v.ck_pending or 'none pending'})")

    def call_rang(self) -> bool:
        return self.deny_unless(self.v.rang, R.CK_REPORT_CONNECTING, "onCallRinging not seen yet")

    def call_established(self) -> bool:
        return self.deny_unless(self.call_state == CallState.ESTABLISHED, R.CK_REPORT_CONNECTED,
                                "the call is not ESTABLISHED")

    def ck_begin(self, params: dict | None = None, **_: Any) -> None:
        self.v.ck_uuid = self._uuid(params)
        self.v.ck_held = False
        self.v.ck_has_call = self.call_live

    def ck_begin_second(self, params: dict | None = None, **_: Any) -> None:
        self.v.ck_second = self._uuid(params)

    def ck_begin_start(self, params: dict | None = None, **_: Any) -> None:
        self.v.ck_uuid = self._uuid(params)
        self.v.ck_has_call = True  # after the dial (dialled_call_live)
        self.v.ck_pending = START
        self.v.ck_sdk_done = False
        self.v.ck_held = False

    def ck_pend(self, event: Any = None, **_: Any) -> None:
        self.v.ck_pending = event.id
        self.v.ck_sdk_done = False

    def ck_pend_second(self, **_: Any) -> None:
        self.v.ck_pending = END
        self.v.ck_pending_second = True
        self.v.ck_sdk_done = False

    def ck_pend_muted(self, event: Any = None, params: dict | None = None, **_: Any) -> None:
        self.ck_pend(event)
        muted = (params or {}).get("muted")
        self.v.ck_want = muted if isinstance(muted, bool) else None

    def ck_pend_held(self, event: Any = None, params: dict | None = None, **_: Any) -> None:
        self.ck_pend(event)
        held = (params or {}).get("onHold")
        self.v.ck_want = held if isinstance(held, bool) else None

    def ck_fulfil_simple(self, **_: Any) -> None:
        if self.v.ck_pending == HELD:
            self.v.ck_held = self.v.ck_want is not False
        self.ck_clear()

    def ck_end_second(self, **_: Any) -> None:
        if self.v.ck_pending_second:
            self.ck_clear()
        self.v.ck_second = None

    def ck_sdk_done(self, **_: Any) -> None:
        self.v.ck_sdk_done = True

    def ck_clear(self, **_: Any) -> None:
        self.v.ck_pending = None
        self.v.ck_sdk_done = False
        self.v.ck_pending_second = False
        self.v.ck_want = None

    def ck_release(self, **_: Any) -> None:
        self.ck_clear()
        self.v.ck_uuid = None
        self.v.ck_has_call = False

    def ck_reset(self, **_: Any) -> None:
        """CK-RESET: every CallKit call and action is gone; a live VoIP call is owed a hangup."""
        self.ck_release()
        self.v.ck_second = None
        self.v.ck_held = False
        self.v.hangup_owed = self.call_live

    # provided by the model
    call_live: bool
    call_state: CallState | None

    def in_state(self, state_id: str) -> bool:
        raise NotImplementedError

    def deny_unless(self, ok: bool, rule: R.Rule, detail: str) -> bool:
        raise NotImplementedError
