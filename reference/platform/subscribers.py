"""Subscribers of one account (Subscriber Management API, FACTS.md), without HTTP."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from exovoice.spec.arguments import subscriber_name_problem
from exovoice.spec.vocabulary import ErrorType

from .accounts import IST

MAX_BATCH = 10
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
STATUSES = ("active", "inactive")
_CREATE_KEYS = {"subscriber_name", "display_name", "custom_field"}
_UPDATE_KEYS = {"status", "custom_field", "display_name"}


class ApiError(Exception):
    """An API answer other than success: HTTP status and a one-line message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class TokenRefused(Exception):
    """A token the platform does not accept, and the guide's ErrorType for it."""

    def __init__(self, error_type: ErrorType, why: str) -> None:
        super().__init__(why)
        self.error_type = error_type


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, IST).isoformat(timespec="seconds")


@dataclass
class Subscriber:
    subscriber_name: str
    display_name: str
    custom_field: str | None
    status: str
    created: float
    updated: float
    sid: str = field(default_factory=lambda: uuid.uuid4().hex)  # differs if name is reused
    token_generation: int = 0  # bumped by revoke_tokens(): older tokens become invalid

    def to_json(self, account_sid: str) -> dict[str, Any]:
        return {"subscriber_name": self.subscriber_name, "display_name": self.display_name,
                "custom_field": self.custom_field, "status": self.status,
                "account_sid": account_sid, "date_created": iso(self.created),
                "date_updated": iso(self.updated)}


def _optional_str(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    if value is not None and not isinstance(value, str):
        raise ApiError(400, f"{key} must be a string")
    return value


class SubscriberStore:
    """The subscribers of one account, in creation order; thread-safe."""

    def __init__(self, account_sid: str, clock: Callable[[], float]) -> None:
        self.account_sid = account_sid
        self._clock = clock
        self._subs: dict[str, Subscriber] = {}
        self._lock = threading.RLock()

    @staticmethod
    def check_name(name: Any) -> str:
        problem = subscriber_name_problem(name)
        if problem:
            raise ApiError(400, problem)
        return name

    # --- create ---------------------------------------------------------------------------
    def create_many(self, items: Any) -> list[tuple[int, dict[str, Any]]]:
        """Per item: (201, subscriber json) or (400/409, {"message", "subscriber_name"})."""
        if isinstance(items, dict) and set(items) == {"subscribers"}:
            items = items["subscribers"]
        if not isinstance(items, list):
            raise ApiError(400, "body must be a JSON list of subscribers")
        if not items:
            raise ApiError(400, "no subscribers given")
        if len(items) > MAX_BATCH:
            raise ApiError(400, f"at most {MAX_BATCH} subscribers per request, got {len(items)}")
        results = []
        for item in items:
            name = item.get("subscriber_name") if isinstance(item, dict) else None
            try:
                results.append((201, self.create(item)))
            except ApiError as e:
                results.append((e.status, {"message": e.message, "subscriber_name": name}))
        return results

    def create(self, item: Any) -> dict[str, Any]:
        if not isinstance(item, dict):
            raise ApiError(400, "a subscriber must be a JSON object")
        unknown = set(item) - _CREATE_KEYS
        if unknown:
            raise ApiError(400, f"unknown fields: {', '.join(sorted(unknown))}")
        name = self.check_name(item.get("subscriber_name"))
        display = _optional_str(item, "display_name")
        custom = _optional_str(item, "custom_field")
        now = self._clock()
        with self._lock:
            if name in self._subs:
                raise ApiError(409, f"subscriber {name} already exists")
            sub = Subscriber(name, display if display is not None else name, custom, "active",
                             now, now)
            self._subs[name] = sub
            return sub.to_json(self.account_sid)

    # --- read -----------------------------------------------------------------------------
    def find(self, name: str) -> Subscriber | None:
        with self._lock:
            return self._subs.get(name)

    def get(self, name: Any) -> Subscriber:
        self.check_name(name)
        sub = self.find(name)
        if sub is None:
            raise ApiError(404, f"subscriber {name} not found")
        return sub

    def list(self, status: str | None = None, page_size: int = DEFAULT_PAGE_SIZE,
             offset: int = 0) -> dict[str, Any]:
        if status is not None and status not in STATUSES:
            raise ApiError(400, f"status must be one of {', '.join(STATUSES)}")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ApiError(400, f"page_size must be from 1 to {MAX_PAGE_SIZE}")
        if offset < 0:
            raise ApiError(400, "offset must not be negative")
        with self._lock:
            chosen = [s for s in self._subs.values() if status is None or s.status == status]
            page = [s.to_json(self.account_sid) for s in chosen[offset:offset + page_size]]
        total = len(chosen)
        more = offset + page_size < total
        return {"metadata": {"total": total, "offset": offset, "page_size": page_size,
                             "count": len(page),
                             "next_offset": offset + page_size if more else None},
                "subscribers": page}

    # --- update / delete ------------------------------------------------------------------
    def update(self, name: Any, changes: Any) -> dict[str, Any]:
        self.check_name(name)
        if not isinstance(changes, dict) or not changes:
            raise ApiError(400, "body must be a JSON object with status and/or custom_field")
        unknown = set(changes) - _UPDATE_KEYS
        if unknown:
            raise ApiError(400, f"unknown fields: {', '.join(sorted(unknown))}")
        if "status" in changes and changes["status"] not in STATUSES:
            raise ApiError(400, f"status must be one of {', '.join(STATUSES)}")
        custom = _optional_str(changes, "custom_field")
        display = _optional_str(changes, "display_name")
        with self._lock:
            sub = self.get(name)
            if "status" in changes:
                sub.status = changes["status"]
            if "custom_field" in changes:
                sub.custom_field = custom
            if display is not None:
                sub.display_name = display
            sub.updated = self._clock()
            return sub.to_json(self.account_sid)

    def delete(self, name: Any) -> None:
        self.check_name(name)
        with self._lock:
            if self._subs.pop(name, None) is None:
                raise ApiError(404, f"subscriber {name} not found")

    def revoke_tokens(self, name: str | None = None) -> None:
        with self._lock:
            for sub in self._subs.values():
                if name is None or sub.subscriber_name == name:
                    sub.token_generation += 1
