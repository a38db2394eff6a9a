"""SYS-ONE-CALL and CALL-ENDED-TERMINAL on call ids: which call a line may name.

Kept as pure functions so that the composed model (which stores the ids) and the compiled
validator (which keeps them outside its tables, so the tables stay finite) apply one rule.
"""

from __future__ import annotations

from .. import rules as R
from ..vocabulary import CALL_CALLBACKS, Api

CALL_OPS = frozenset(
    {Api.answer.value, Api.hangup.value, Api.mute.value, Api.unmute.value,
     Api.enableSpeaker.value, Api.disableSpeaker.value, Api.enableBluetooth.value,
     Api.disableBluetooth.value, Api.sendDtmf.value, Api.postFeedback.value,
     Api.getAudioRoute.value}
)
"""Call-scoped operations: their line's `call` must name the latest call."""

_SCOPED = CALL_OPS | frozenset(CALL_CALLBACKS)


def call_ref_problem(event: str, call: str | None, result: str, current: str | None,
                     past: frozenset[str]) -> tuple[R.Rule, str] | None:
    """Why a line may not name `call` here, or None."""
    if call is None:
        return None
    if event in ("dial", "onIncomingCall") and result == "ok":
        if call in past or (call == current and event == "dial"):
            return R.SYS_ONE_CALL, f"call id {call!r} was used by an earlier call"
        return None
    if event not in _SCOPED or call == current:
        return None
    if call in past and result != "ok" and event in CALL_OPS:
        return None  # CALL-OP-STATE: a refused operation may name the previous call object
    if call in past:  # even while the latest call has no id yet (a relayed push)
        return R.CALL_ENDED_TERMINAL, f"line names call {call!r}, which has ended; the latest call is {current!r}"
    if current is None:
        return None
    return R.SYS_ONE_CALL, f"line names call {call!r} but the latest call is {current!r}"


def detached_refusal(event: str, call: str | None, result: str, current: str | None,
                     past: frozenset[str]) -> bool:
    """A refused operation naming an earlier (ended) call object: the SDK refused it for
    that reason alone, whatever the latest call is doing (CALL-OP-STATE)."""
    return (result != "ok" and event in CALL_OPS and call is not None and call != current
            and call in past)


def started(current: str | None, past: frozenset[str], call: str | None) -> tuple[str | None, frozenset[str]]:
    """A new call context begins (dial, or a relayed push that yields a call)."""
    return call, (past | {current}) if current is not None else past


def restored(current: str | None, past: frozenset[str],
             previous: str | None) -> tuple[str | None, frozenset[str]]:
    """A relayed push ended as a missed call: the ended call before it is the latest again."""
    return previous, past - {previous} if previous is not None else past


def announced(current: str | None, call: str | None) -> str | None:
    """onIncomingCall names the call a relayed push created."""
    return call if current is None and call is not None else current
