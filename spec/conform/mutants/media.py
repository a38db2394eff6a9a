"""Mutants of the media states of an established call (guide 4.5: MEDIA_DISRUPTED,
RENEWING_MEDIA and back to ESTABLISHED)."""

from __future__ import annotations

from ..adapter import ClientAdapter
from .base import BrokenClient, Event


class RenewingWithoutDisrupted(BrokenClient):
    """Never reports onMediaDisrupted: the first the app hears of lost media is
    onRenewingMedia, from a call it still takes for ESTABLISHED (CALL-MEDIA-RENEWING, 4.5)."""

    fault = "renewing-without-disrupted"
    rule = "CALL-MEDIA-RENEWING"
    area = "media"

    def on_event(self, ev: Event) -> list[Event]:
        if ev.get("name") == "onMediaDisrupted":
            return []
        return [ev]


class MediaNeverRestored(BrokenClient):
    """Restores the media without telling the app: the onCallEstablished that brings a
    disrupted call back to ESTABLISHED is never sent, so the app's screen stays on
    'Reconnecting' (CALL-MEDIA-RESTORED, guide 4.5)."""

    fault = "media-never-restored"
    rule = "CALL-MEDIA-RESTORED"
    area = "media"

    def __init__(self, inner: ClientAdapter) -> None:
        super().__init__(inner)
        self.disrupted: set[str] = set()

    def on_event(self, ev: Event) -> list[Event]:
        name, call = ev.get("name"), str(ev.get("call"))
        if name == "onMediaDisrupted":
            self.disrupted.add(call)
        elif name == "onCallEstablished" and call in self.disrupted:
            self.disrupted.discard(call)
            return []
        return [ev]


class SecondDisruptionUnreported(BrokenClient):
    """Arms its media-loss detector once per call: after media was lost and restored, a
    second loss in the same call is not reported (no onMediaDisrupted) though the renewal
    and restore that follow are, from a call the app takes for ESTABLISHED
    (CALL-MEDIA-RENEWING, guide 4.5). Only a call disrupted twice shows it."""

    fault = "second-disruption-unreported"
    rule = "CALL-MEDIA-RENEWING"
    area = "media"

    def __init__(self, inner: ClientAdapter) -> None:
        super().__init__(inner)
        self.disrupted: set[str] = set()
        self.restored: set[str] = set()

    def on_event(self, ev: Event) -> list[Event]:
        name, call = ev.get("name"), str(ev.get("call"))
        if name == "onMediaDisrupted":
            if call in self.restored:
                return []
            self.disrupted.add(call)
        elif name == "onCallEstablished" and call in self.disrupted:
            self.restored.add(call)
        return [ev]
