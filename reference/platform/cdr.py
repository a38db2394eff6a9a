"""Call detail records: what the platform's SIP side records per call, dumped as JSON."""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any


def new_call_sid() -> str:
    """A 32-character call identifier like the guide's CallSid."""
    return secrets.token_hex(16)


@dataclass
class CallDetailRecord:
    call_sid: str
    account_sid: str
    call_from: str  # caller subscriber name
    call_to: str  # the SIP exophone dialled
    custom_field: str | None = None
    session_id: str | None = None  # what the SDK reports as CallDetails.sessionId
    callee: str | None = None  # remoteId chosen by Dial Whom
    status: str = "initiated"  # initiated, ringing, in-progress, completed, busy, no-answer,
    #                            failed, canceled
    end_reason: str | None = None
    failure_reason: str | None = None  # Dial Whom / push / SIP failure, one line
    created: float = 0.0  # epoch seconds (platform clock)
    ringing_time: float | None = None
    answered_time: float | None = None
    ended_time: float | None = None
    push_delivered: bool | None = None
    # the caller leg's SIP Call-ID: a call the front moved on to another worker after one
    # refused it 503 has a CDR on each, with one Call-ID
    sip_call_id: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def duration(self) -> float:
        """Conversation seconds (answered to ended), 0 when never answered."""
        if self.answered_time is None or self.ended_time is None:
            return 0.0
        return max(0.0, self.ended_time - self.answered_time)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["duration"] = self.duration
        return d


_FIELDS = {f.name for f in fields(CallDetailRecord)}


class CdrStore:
    """Thread-safe CDRs by call sid, in creation order."""

    def __init__(self) -> None:
        self._records: dict[str, CallDetailRecord] = {}
        self._lock = threading.Lock()

    def add(self, record: CallDetailRecord) -> CallDetailRecord:
        with self._lock:
            if record.call_sid in self._records:
                raise ValueError(f"call {record.call_sid} already recorded")
            self._records[record.call_sid] = record
        return record

    def get(self, call_sid: str) -> CallDetailRecord | None:
        with self._lock:
            return self._records.get(call_sid)

    def update(self, call_sid: str, **changes: Any) -> CallDetailRecord:
        unknown = set(changes) - _FIELDS
        if unknown:
            raise TypeError(f"unknown CDR fields: {sorted(unknown)}")
        with self._lock:
            record = self._records[call_sid]
            for k, v in changes.items():
                setattr(record, k, v)
            return record

    def note(self, call_sid: str, event: str, at: float, **detail: Any) -> None:
        """Append a timestamped event to a call's record."""
        with self._lock:
            self._records[call_sid].events.append({"event": event, "at": at, **detail})

    def all(self, account_sid: str | None = None) -> list[CallDetailRecord]:
        with self._lock:
            return [r for r in self._records.values()
                    if account_sid is None or r.account_sid == account_sid]

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def to_json(self, account_sid: str | None = None, **dumps: Any) -> str:
        return json.dumps([r.to_dict() for r in self.all(account_sid)], **dumps)

    def dump(self, path: str, account_sid: str | None = None) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_json(account_sid, indent=2))
