"""Mutants of the client's life cycle (initialize, reset, stop; FACTS and guide 4.2)."""

from __future__ import annotations

from typing import Any

from ...vocabulary import Api, ErrorType
from ..adapter import ApiResult, ClientAdapter
from .base import BrokenClient, Event

CLIENT_CALLBACKS = ("onInitializationSuccess", "onInitializationFailure",
                    "onAuthenticationFailure", "onUploadLogSuccess", "onUploadLogFailure")


class ListenerTwiceAfterReset(BrokenClient):
    """initialize() adds the app's client listener again without removing the one reset()
    left behind, so after a reset and a new initialize every client callback comes twice:
    two onInitializationSuccess for one initialize() (LC-INIT-OK, guide 4.2). Only a
    session that is reset and initialized again shows it."""

    fault = "listener-twice-after-reset"
    rule = "LC-INIT-OK"
    area = "lifecycle"

    def __init__(self, inner: ClientAdapter) -> None:
        super().__init__(inner)
        self.listeners = 1

    def on_api(self, name: str, call: str | None, args: dict[str, Any] | None) -> ApiResult | None:
        if name == Api.reset.value:
            res = self.inner.api(name, call=call, args=args)
            if res.ok:
                self.listeners = 2
            return res
        return None

    def on_event(self, ev: Event) -> list[Event]:
        if ev.get("name") in CLIENT_CALLBACKS:
            return [dict(ev) for _ in range(self.listeners)]
        return [ev]


class StopDuringCall(BrokenClient):
    """stop() does not look for a call: it is accepted while a call exists, where the guide
    refuses it with SYSTEM_BUSY (LC-STOP, FACTS)."""

    fault = "stop-during-call"
    rule = "LC-STOP"
    area = "lifecycle"

    def on_api(self, name: str, call: str | None, args: dict[str, Any] | None) -> ApiResult | None:
        if name == Api.stop.value:
            res = self.inner.api(name, call=call, args=args)
            if res.result == ErrorType.SYSTEM_BUSY.value:
                return ApiResult("ok", res.call or call)
            return res
        return None
