"""Mutants of what a client says when the platform refuses its token (guide 6, 9.3)."""

from __future__ import annotations

from typing import Any

from ...vocabulary import Api
from ..adapter import ApiResult
from .base import BrokenClient, Event


class SilentOnRefusedToken(BrokenClient):
    """Ends a call whose token the platform refused without telling the app why: no
    onAuthenticationFailure (LC-AUTH-CALL, guide 4.2, 6, 9.3 b)."""

    fault = "silent-on-refused-token"
    rule = "LC-AUTH-CALL"
    area = "lifecycle"
    calls = 0

    def on_api(self, name: str, call: str | None, args: dict[str, Any] | None) -> ApiResult | None:
        if name in (Api.dial.value, Api.relaySessionData.value):
            self.calls += 1
        return None

    def on_event(self, ev: Event) -> list[Event]:
        if ev.get("name") == "onAuthenticationFailure" and self.calls:
            return []
        return [ev]
