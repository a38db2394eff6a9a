"""Accounts of the simulated platform and its clock."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from exovoice.spec.endpoints import IST  # platform times are India Standard Time

REFRESH_TOKEN_TTL = 24 * 3600.0  # FACTS.md: refresh token lives 24 h
ACCESS_TOKEN_TTL = 30 * 60.0  # access token 30 min
PUSH_PAYLOAD_TTL = 30.0  # a push is stale after max_ringing_duration (30 s by default)


@dataclass(frozen=True)
class Account:
    """One customer account, configured in code.

    `api_key`/`api_token` are the basic-auth credentials of the Subscriber Management API;
    `dial_whom_url` and `push_url` are the customer's endpoints (guide 5.1; the push URL
    carries its own basic-auth credentials, `https://key:token@host/...`)."""

    sid: str
    api_key: str
    api_token: str
    voip_enabled: bool = True
    sip_exophone: str = "sip:08040408080"
    dial_whom_url: str | None = None
    push_url: str | None = None
    flow_id: str = "249196"
    tenant_id: str = "113828"


class ManualClock:
    """A clock for tests: epoch seconds that move only when told (`advance`, `set`)."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, now: float) -> None:
        with self._lock:
            self._now = float(now)
