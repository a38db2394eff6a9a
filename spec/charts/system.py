"""System-state rules (FACTS.md), the refusal rules of every API call, and missed calls.

An API line carries its result: "ok" or {"error": ErrorType}. Each refusal below says when the
SDK refuses a call and with which errors. `must` refusals make an "ok" result a violation;
optional ones (where the sources conflict) allow both outcomes. A refusal whose error no
applicable refusal lists is a violation too: the SDK does not refuse without a reason the
spec knows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol

from statemachine import State

from .. import rules as R
from ..arguments import (
    dial_message_problem,
    log_dates_problem,
    dtmf_problem,
    issue_problem,
    rating_problem,
    remote_id_problem,
    subscriber_name_problem,
)
from ..base import tag
from ..vocabulary import OBSERVATIONS, Api, CallState, ErrorType, Network
from .call_state import LIVE, edges


class ClientModel(Protocol):
    """What a refusal asks of the composed model (charts.model.ClientModel), which is built
    on this module; a protocol keeps the import one-way."""

    v: Any

    def in_state(self, state_id: str) -> bool: ...
    @property
    def call_state(self) -> CallState | None: ...
    @property
    def call_exists(self) -> bool: ...
    @property
    def pstn_in_progress(self) -> bool: ...

E = ErrorType


@dataclass(frozen=True)
class Refusal:
    rule: R.Rule
    ops: frozenset[str]
    applies: Callable[["ClientModel", dict], str | None]  # why it applies, or None
    errors: frozenset[str] | None  # None: the guide names no ErrorType, any is allowed
    must: bool = True


def _ops(*ops: Api) -> frozenset[str]:
    return frozenset(o.value for o in ops)


def _when(cond: Callable[["ClientModel"], bool], why: str) -> Callable[["ClientModel", dict], str | None]:
    return lambda m, p: why if cond(m) else None


def _errs(*errors: ErrorType) -> frozenset[str]:
    return frozenset(e.value for e in errors)


AUDIO_OPS = _ops(Api.mute, Api.unmute, Api.enableSpeaker, Api.disableSpeaker,
                 Api.enableBluetooth, Api.disableBluetooth, Api.sendDtmf)

OPERATIONS = frozenset(o.value for o in Api) - OBSERVATIONS

REFUSALS: tuple[Refusal, ...] = (
    Refusal(R.SYS_UNINIT, _ops(Api.dial, Api.relaySessionData),
            _when(lambda m: not m.in_state("initialized") and not m.v.auth_failed,
                  "the client is not initialized"),
            _errs(E.SDK_UNINITIALIZED)),
    Refusal(R.LC_REINIT, _ops(Api.dial, Api.relaySessionData),
            _when(lambda m: not m.in_state("initialized") and m.v.auth_failed,
                  "the token was refused and the client not initialized again"),
            _errs(E.SDK_UNINITIALIZED, E.AUTHENTICATION_INVALID_TOKEN,
                  E.AUTHENTICATION_EXPIRED_TOKEN), must=False),
    Refusal(R.API_ENVIRONMENT, OPERATIONS,
            lambda m, p: "a permission may be missing or the SDK may fail internally",
            _errs(E.MISSING_PERMISSION, E.INTERNAL_ERROR), must=False),
    Refusal(R.SYS_BUSY, _ops(Api.dial), _when(lambda m: m.call_exists, "a call exists"),
            _errs(E.SYSTEM_BUSY)),
    Refusal(R.PSTN_NO_DIAL, _ops(Api.dial),
            _when(lambda m: m.pstn_in_progress, "a PSTN call is in progress"),
            _errs(E.PSTN_CALL_INPROGRESS)),
    Refusal(R.ARG_DIAL_REMOTE, _ops(Api.dial), lambda m, p: remote_id_problem(p.get("remoteId")),
            _errs(E.INVALID_DIAL_INFO, E.INVALID_PARAMETER)),
    Refusal(R.ARG_DIAL_MESSAGE, _ops(Api.dial), lambda m, p: dial_message_problem(p.get("message")),
            _errs(E.INVALID_PARAMETER, E.INVALID_DIAL_INFO)),
    Refusal(R.NET_ENV, _ops(Api.dial),
            _when(lambda m: m.in_state("net_down"), "the network is lost"),
            _errs(E.NETWORK_ERROR), must=False),
    Refusal(R.SYS_RELAY_BUSY, _ops(Api.relaySessionData),
            _when(lambda m: m.call_exists, "a call exists"), _errs(E.SYSTEM_BUSY), must=False),
    Refusal(R.PSTN_AUTO_DECLINE, _ops(Api.relaySessionData),
            _when(lambda m: m.pstn_in_progress and not m.v.callkit,
                  "a PSTN call is in progress (the push is still owed onMissedCall)"),
            _errs(E.PSTN_CALL_INPROGRESS), must=False),
    Refusal(R.SYS_PAYLOAD, _ops(Api.relaySessionData),
            lambda m, p: "the payload may be malformed", _errs(E.PAYLOAD_ERROR), must=False),
    Refusal(R.SYS_PAYLOAD, _ops(Api.relaySessionData),
            lambda m, p: (f"the push is for {p.get('subscriberName')!r}, not the signed-in "
                          f"{m.v.subscriber!r}")
            if m.v.subscriber is not None and p.get("subscriberName") not in (None, m.v.subscriber)
            else None,
            _errs(E.PAYLOAD_ERROR, E.INVALID_PARAMETER)),
    Refusal(R.CALL_OP_STATE, _ops(Api.answer),
            _when(lambda m: m.call_state != CallState.INCOMING, "the call is not INCOMING"), None),
    Refusal(R.CALL_OP_STATE, _ops(Api.hangup),
            _when(lambda m: m.call_state in (None, CallState.NONE), "no call to hang up"), None),
    Refusal(R.CALL_OP_STATE, _ops(Api.hangup),
            _when(lambda m: m.call_state in (CallState.ENDING, CallState.ENDED),
                  "the call is already ending or over"), None, must=False),
    Refusal(R.AUDIO_LIVE, AUDIO_OPS,
            _when(lambda m: m.call_state not in LIVE, "no live call"), None, must=False),
    Refusal(R.AUDIO_BT, _ops(Api.enableBluetooth),
            _when(lambda m: not m.in_state("bt_on"), "no Bluetooth device is connected"), None,
            must=False),
    Refusal(R.ARG_LOG_DATES, _ops(Api.uploadLogs),
            lambda m, p: log_dates_problem(p.get("startDate"), p.get("endDate")), None),
    Refusal(R.ARG_DTMF, _ops(Api.sendDtmf), lambda m, p: dtmf_problem(p.get("digit")),
            _errs(E.INVALID_PARAMETER)),
    Refusal(R.ARG_RATING, _ops(Api.postFeedback), lambda m, p: rating_problem(p.get("rating")),
            _errs(E.INVALID_PARAMETER)),
    Refusal(R.ARG_ISSUE, _ops(Api.postFeedback), lambda m, p: issue_problem(p.get("issue")),
            _errs(E.INVALID_PARAMETER)),
    Refusal(R.ARG_FEEDBACK_ENDED, _ops(Api.postFeedback),
            _when(lambda m: m.call_state != CallState.ENDED, "the latest call has not ENDED"), None),
    Refusal(R.ARG_SUBSCRIBER, _ops(Api.initialize),
            lambda m, p: subscriber_name_problem(p.get("subscriberName"))
            if "subscriberName" in p else None,
            _errs(E.INVALID_PARAMETER), must=False),
    Refusal(R.LC_STOP, _ops(Api.stop), _when(lambda m: m.call_exists, "a call exists"),
            _errs(E.SYSTEM_BUSY)),
    Refusal(R.LOG_UPLOAD, _ops(Api.uploadLogs),
            _when(lambda m: m.v.uploads > 0, "another upload is in flight"), None, must=False),
    Refusal(R.LOG_UNINIT, _ops(Api.uploadLogs),
            _when(lambda m: not m.in_state("initialized"), "the client is not initialized"),
            _errs(E.SDK_UNINITIALIZED), must=False),
)

# API calls that change no region's state when accepted: the api region accepts them itself.
STATELESS_OPS = AUDIO_OPS | _ops(Api.postFeedback)


class ApiRegion(State.Compound, name="API refusals"):
    """One state: every API call may be refused here, and the stateless ones accepted."""

    sdk = State("SDK API", initial=True)
    for _op in sorted(OPERATIONS):
        vars()[_op] = tag(sdk.to.itself(cond="refusal_allowed"),
                          R.API_REFUSAL, guard="refusal rule applies")
        if _op in STATELESS_OPS:
            vars()[_op] |= tag(sdk.to.itself(cond="accepted", on="audio_choice"), R.AUDIO_LIVE
                               if _op in AUDIO_OPS else R.ARG_FEEDBACK_ENDED,
                               guard="accepted")
    del _op


class MissedRegion(State.Compound, name="missed calls"):
    """Pushes that must be reported through onMissedCall (SYS-RELAY-BUSY, PSTN-AUTO-DECLINE):
    one report owed for each declined push (the count is the model variable `missed_owed`)."""

    push_idle = State("nothing owed", initial=True)
    missed_due = State("onMissedCall owed")

    relaySessionData = tag(
        edges([push_idle, missed_due], missed_due, cond=["accepted", "relay_is_missed"],
              on="owe_missed"),
        R.SYS_RELAY_BUSY, emits="onMissedCall", guard="call exists, or PSTN without CallKit",
    )
    relaySessionData |= tag(
        edges([push_idle, missed_due], missed_due, cond="refused_as_pstn_decline", on="owe_missed"),
        R.PSTN_AUTO_DECLINE, emits="onMissedCall",
        guard="refused PSTN_CALL_INPROGRESS: still reported",
    )
    onMissedCall = tag(missed_due.to(push_idle, cond="last_missed", on="missed_reported"),
                       R.SYS_RELAY_BUSY, causes={Network.net_push_valid: {}},
                       cause="push declined: busy or PSTN")
    onMissedCall |= tag(missed_due.to.itself(cond="more_missed", on="missed_reported"),
                        R.SYS_RELAY_BUSY, causes={Network.net_push_valid: {}},
                        cause="push declined; more reports owed")


class SystemGuards:
    v: Any

    def applicable_refusals(self, op: str, params: dict) -> list[tuple[Refusal, str]]:
        out = []
        for r in REFUSALS:
            if op in r.ops:
                why = r.applies(self, params)  # type: ignore[arg-type]
                if why is not None:
                    out.append((r, why))
        return out

    def accepted(self, event: Any, result: str = "ok", params: dict | None = None, **_: Any) -> bool:
        if result != "ok":
            return False
        for r, why in self.applicable_refusals(event.id, params or {}):
            if r.must:
                self.deny(r.rule, f"{event.id} must be refused: {why}")
                return False
        return True

    def refusal_allowed(self, event: Any, result: str = "ok", params: dict | None = None,
                        **_: Any) -> bool:
        if result == "ok":
            return False
        if (event.id == Api.relaySessionData.value and result == E.PSTN_CALL_INPROGRESS.value
                and self.v.callkit):
            self.deny(R.PSTN_CALLKIT, "with CallKit the SDK must not decline a VoIP call for a "
                      "PSTN call: CallKit lets the user reject, or hold and accept")
            return False
        found = self.applicable_refusals(event.id, params or {})
        for r, _why in found:
            if r.errors is None or result in r.errors:
                return True
        # an environmental cause (API-ENVIRONMENT) is no reason the call flow gave: leave it
        # out of what the client is told was expected
        found = [(r, why) for r, why in found if r.rule is not R.API_ENVIRONMENT]
        if found:
            # one sentence for every reason that applies; each rule cited, the words said once
            listed = sorted({e for r, _ in found for e in (r.errors or ())})
            whys = " and ".join(dict.fromkeys(why for _, why in found))
            self.deny(found[0][0].rule, f"{whys}, which calls for "
                      f"{' or '.join(listed) if listed else 'another ErrorType'}")
            for r, _why in found[1:]:
                self.deny(r.rule, "")
        else:
            self.deny(R.API_REFUSAL, f"refused with {result}, but the spec gives no reason to "
                      f"refuse {event.id} here")
        return False

    def api_valid(self, event: Any, result: str = "ok", params: dict | None = None, **kw: Any) -> bool:
        if result == "ok":
            return self.accepted(event, result, params)
        return self.refusal_allowed(event, result, params)

    def relay_is_missed(self) -> bool:
        return self.call_exists or (self.pstn_active and not self.v.callkit)

    def refused_as_pstn_decline(self, result: str = "ok", **_: Any) -> bool:
        return (result == E.PSTN_CALL_INPROGRESS.value and self.pstn_in_progress
                and not self.v.callkit)

    def owe_missed(self, **_: Any) -> None:
        self.v.missed_owed += 1

    def missed_reported(self, **_: Any) -> None:
        self.v.missed_owed = max(0, self.v.missed_owed - 1)

    def last_missed(self) -> bool:
        return self.v.missed_owed <= 1

    def more_missed(self) -> bool:
        return self.v.missed_owed > 1

    def relay_yields_call(self) -> bool:
        return not self.relay_is_missed()

    def pstn_rings(self) -> bool:
        """Only a ringing PSTN call can be accepted (pstnAnswered)."""
        return self.deny_unless(self.in_state("pstn_ringing"), R.PSTN_ENV,
                                "no PSTN call is ringing")

    def sdk_resolves_pstn(self) -> bool:
        return self.deny_unless(not self.v.callkit, R.PSTN_CALLKIT,
                                "with CallKit the user resolves the collision")

    # provided by the model
    call_exists: bool
    pstn_active: bool
    pstn_in_progress: bool

    def deny(self, rule: R.Rule, detail: str) -> None:
        raise NotImplementedError

    def deny_unless(self, ok: bool, rule: R.Rule, detail: str) -> bool:
        raise NotImplementedError
