"""Map pjsua2 invite-session states and SIP status codes to the spec's Network happenings.

Pure functions, no pjsua2 import: unit-testable anywhere (tests/test_sip_mapping.py).

The invite states are pjsip's (``PJSIP_INV_STATE_*``): NULL, CALLING, INCOMING, EARLY,
CONNECTING, CONFIRMED, DISCONNECTED. pjsua2 gives them as ints; ``STATE_NAMES`` turns the ints
into names (the values are pjsip's enum order, stable since pjsip 1.x).

Ambiguities, decided here once:

* 408 is pjsip's own code for a transaction timeout (Timer B: nobody answered the INVITE at
  all) as well as a far end's "Request Timeout". Heard after a provisional (the callee was
  ringing) it is ``net_no_answer``; with no provisional at all it is ``net_unreachable``.
* 503 is both a far end's "Service Unavailable" and pjsip's code for a local transport error
  (PJSIP_SC_TSX_TRANSPORT_ERROR). Both are ``net_congestion`` when they come from the far
  end; a local transport failure is recognised by its reason text ("Transport..."/"No route")
  and is ``net_failure``.
* 486 Busy Here and 600 Busy Everywhere are a busy callee: ``net_busy``. 603 Decline is the
  callee rejecting the ringing call (its app's hangup() before answering, guide 4.3.2), which
  the spec's features read as the remote party hanging up (outgoing.feature "The callee
  rejects the ringing call": REMOTE_HANGUP): ``net_remote_hangup``. 429 (rate limit) is
  ``net_congestion``.
* 487 Request Terminated ends a call that was cancelled before an answer: whoever cancelled,
  the side that hung up itself gets ``net_bye_done`` and the other ``net_remote_hangup`` -
  unless the CANCEL carries ``Reason: SIP;cause=408`` (RFC 3326), the platform's "nobody
  answered within max_ringing_duration": then the callee gets ``net_no_answer``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# pjsip_inv_state values, in pjsip's enum order.
STATE_NAMES: dict[int, str] = {
    0: "NULL",
    1: "CALLING",
    2: "INCOMING",
    3: "EARLY",
    4: "CONNECTING",
    5: "CONFIRMED",
    6: "DISCONNECTED",
}
STATE_VALUES: dict[str, int] = {name: value for value, name in STATE_NAMES.items()}

BUSY_CODES = frozenset({486, 600})
DECLINE_CODES = frozenset({603})
UNREACHABLE_CODES = frozenset({404, 410, 480, 484, 604})
CONGESTION_CODES = frozenset({503, 429})
_LOCAL_TRANSPORT_REASONS = ("transport", "no route", "unable to", "connection refused")


def state_name(state: int | str) -> str:
    """The pjsip invite-state name for an int (or pass a name through, upper-cased)."""
    if isinstance(state, str):
        name = state.upper().removeprefix("PJSIP_INV_STATE_")
        if name not in STATE_VALUES:
            raise ValueError(f"unknown invite state {state!r}")
        return name
    try:
        return STATE_NAMES[int(state)]
    except KeyError:
        raise ValueError(f"unknown invite state {state!r}") from None


def failure_event(code: int, reason: str = "", *, had_provisional: bool = False) -> str:
    """The Network happening for a final failure response (>= 300) ending an unanswered call."""
    if code in BUSY_CODES:
        return "net_busy"
    if code in DECLINE_CODES:
        return "net_remote_hangup"
    if code in UNREACHABLE_CODES:
        return "net_unreachable"
    if code == 408:
        return "net_no_answer" if had_provisional else "net_unreachable"
    if code in CONGESTION_CODES:
        if code == 503 and any(word in reason.lower() for word in _LOCAL_TRANSPORT_REASONS):
            return "net_failure"
        return "net_congestion"
    return "net_failure"


@dataclass(frozen=True)
class InviteUpdate:
    """One onCallState observation, plus what the call's owner knows of its history."""

    role: str  # "uac" (we placed the call) or "uas" (we received it)
    state: str  # an invite-state name (see STATE_NAMES)
    code: int = 0  # CallInfo.lastStatusCode
    reason: str = ""  # CallInfo.lastReason
    local_hangup: bool = False  # we called hangup()/answer(>=300) on this call
    was_confirmed: bool = False  # the call reached CONFIRMED before this update
    had_provisional: bool = False  # a 18x was sent/heard before this update
    cancel_reason: str = ""  # the Reason header of the CANCEL that ended an incoming call


def network_event(update: InviteUpdate) -> str | None:
    """The spec Network happening (exovoice.spec.vocabulary.Network value) an invite update stands for,
    or None when it stands for none (e.g. INCOMING, NULL, a 181/182 provisional)."""
    state = state_name(update.state)
    code = update.code
    if state == "CALLING":
        return "net_call_sent"
    if state == "EARLY":
        if code == 183:
            return "net_early_media"
        if code == 180:
            return "net_ringing"
        return None
    if state == "CONNECTING":
        return "net_connecting"
    if state == "CONFIRMED":
        return "net_answered"
    if state == "DISCONNECTED":
        if update.local_hangup:
            return "net_bye_done"
        if update.was_confirmed:
            return "net_remote_hangup"
        if update.role == "uas":
            # The caller cancelled (487) or the INVITE died before we answered; a CANCEL
            # saying "cause=408" is the platform giving up on max_ringing_duration.
            if re.search(r"\bcause\s*=\s*408\b", update.cancel_reason):
                return "net_no_answer"
            return "net_remote_hangup"
        if code == 487 or 200 <= code < 300 or code == 0:
            return "net_remote_hangup"
        return failure_event(code, update.reason, had_provisional=update.had_provisional)
    return None  # NULL, INCOMING


# Status codes a UAS may answer with, by the happening the caller will see.
ANSWER_CODE_FOR: dict[str, int] = {
    "net_ringing": 180,
    "net_early_media": 183,
    "net_answered": 200,
    "net_busy": 486,
    "net_unreachable": 480,
    "net_failure": 500,
    "net_congestion": 503,
    "net_remote_hangup": 603,  # before an answer: the callee rejected the call
}
