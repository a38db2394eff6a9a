"""The guide's rules on argument values, as pure predicates.

They are kept apart from the charts because the reference client, the platform simulator and
the validator all need the same answer to "is this a valid dial message?".
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from .vocabulary import CallIssue

# Guide 4.3.1: "All alphanumeric characters are allowed along with comma `,` colon `:` and all
# kinds of brackets - { } ( ) [ ]". Nothing else, not even a space.
_MESSAGE = re.compile(r"[A-Za-z0-9,:{}()\[\]]*")
_SUBSCRIBER = re.compile(r"[A-Za-z0-9]+")
_DTMF = re.compile(r"[0-9*#]")


def dial_message_problem(message: Any) -> str | None:
    """Why a dial message is not allowed, or None. An absent message is allowed (optional)."""
    if message is None:
        return None
    if not isinstance(message, str):
        return f"message must be a string, not {type(message).__name__}"
    if _MESSAGE.fullmatch(message):  # every character allowed (the validator asks per dial)
        return None
    bad = sorted({c for c in message if not _MESSAGE.fullmatch(c)})
    if bad:
        return "message has characters the guide does not allow: " + " ".join(repr(c) for c in bad)
    return None


def dial_message_allowed(message: Any) -> bool:
    """dial_message_problem(message) is None, without writing the reason (the validator asks
    for every line carrying a message, log lines included)."""
    return message is None or (isinstance(message, str) and _MESSAGE.fullmatch(message) is not None)


def remote_id_problem(remote_id: Any) -> str | None:
    if not isinstance(remote_id, str) or not remote_id.strip():
        return "remoteId must be a non-empty string"
    return None


def subscriber_name_problem(name: Any) -> str | None:
    """Guide 9.3 a: "an alphanumeric string of size less than 16 characters" (FACTS.md's older
    "at most 16 bytes" loses: the guide wins)."""
    if not isinstance(name, str) or not name:
        return "subscriber name must be a non-empty string"
    if not _SUBSCRIBER.fullmatch(name):
        return f"subscriber name {name!r} is not alphanumeric"
    if len(name) >= 16:
        return f"subscriber name {name!r} has {len(name)} characters; the guide allows fewer than 16"
    return None


def _instant(value: Any) -> datetime | float | None:
    """A date as a trace writes it: seconds since the epoch, or an ISO 8601 string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return when.timestamp() if when.tzinfo else when.replace(tzinfo=timezone.utc).timestamp()
    return None


def log_dates_problem(start: Any, end: Any) -> str | None:
    """Guide 4.10: uploadLogs uploads "from startDate and endDate"; a start after the end
    names no logs. Dates the trace does not give, or gives in a form it cannot compare, are
    not judged."""
    a, b = _instant(start), _instant(end)
    if a is None or b is None or a <= b:
        return None
    return f"startDate {start} is after endDate {end}"


def rating_problem(rating: Any) -> str | None:
    """Guide 4.11: a quality score from 1 to 5."""
    if isinstance(rating, bool) or not isinstance(rating, int):
        return f"rating must be a whole number from 1 to 5, not {rating!r}"
    if not 1 <= rating <= 5:
        return f"rating {rating} is outside 1..5"
    return None


def issue_problem(issue: Any) -> str | None:
    if issue not in CallIssue.names():
        return f"issue {issue!r} is not a CallIssue ({', '.join(CallIssue.names())})"
    return None


def dtmf_problem(digit: Any) -> str | None:
    if not isinstance(digit, str) or not _DTMF.fullmatch(digit):
        return f"DTMF digit {digit!r} is not one of 0-9 * #"
    return None
