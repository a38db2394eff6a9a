"""The client's local log storage (guide 4.10: logs are kept in the app's storage and
uploaded by date range with uploadLogs())."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timezone

from exovoice.spec.vocabulary import LogLevel


@dataclass(frozen=True)
class LogEntry:
    time: datetime
    level: LogLevel
    tag: str
    message: str


class LogStore:
    """In memory, thread-safe, bounded (oldest entries dropped first)."""

    def __init__(self, limit: int = 10_000) -> None:
        self._entries: list[LogEntry] = []
        self._lock = threading.Lock()
        self._limit = limit

    def add(self, level: LogLevel, tag: str, message: str) -> LogEntry:
        entry = LogEntry(datetime.now(timezone.utc), level, tag, message)
        with self._lock:
            self._entries.append(entry)
            if len(self._entries) > self._limit:
                del self._entries[: len(self._entries) - self._limit]
        return entry

    def between(self, start: datetime, end: datetime) -> list[LogEntry]:
        start, end = _aware(start), _aware(end)
        with self._lock:
            return [e for e in self._entries if start <= e.time <= end]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)
