"""The local push channel standing in for APNs/FCM, and the app's relay decision.

Devices register under a subscriber name; a push for that subscriber lands on the queue of
every device registered for it. A device may stay registered under a subscriber who signed
out on it (a stale mapping, as with real push tokens): the app then gets a push for someone
else, and `app_should_relay` tells it to drop it (FACTS.md "Push and platform").
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Device:
    device_id: str
    inbox: "queue.Queue[dict[str, Any]]" = field(default_factory=queue.Queue)

    def receive(self, timeout: float | None = 1.0) -> dict[str, Any]:
        """The next push (raises queue.Empty after `timeout`)."""
        return self.inbox.get(timeout=timeout)

    def pending(self) -> list[dict[str, Any]]:
        """Every push waiting, without blocking."""
        out = []
        while True:
            try:
                out.append(self.inbox.get_nowait())
            except queue.Empty:
                return out


class PushChannel:
    """Thread-safe registry: subscriber name -> devices, device id -> Device."""

    def __init__(self) -> None:
        self._devices: dict[str, Device] = {}
        self._by_subscriber: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def register(self, subscriber_name: str, device_id: str) -> Device:
        with self._lock:
            device = self._devices.setdefault(device_id, Device(device_id))
            ids = self._by_subscriber.setdefault(subscriber_name, [])
            if device_id not in ids:
                ids.append(device_id)
            return device

    def unregister(self, subscriber_name: str, device_id: str) -> None:
        with self._lock:
            ids = self._by_subscriber.get(subscriber_name, [])
            if device_id in ids:
                ids.remove(device_id)

    def device(self, device_id: str) -> Device:
        with self._lock:
            return self._devices[device_id]

    def devices_of(self, subscriber_name: str) -> list[str]:
        with self._lock:
            return list(self._by_subscriber.get(subscriber_name, []))

    def deliver(self, subscriber_name: str, message: dict[str, Any]) -> int:
        """Queue the data message on every device of the subscriber; how many got it."""
        with self._lock:
            devices = [self._devices[d] for d in self._by_subscriber.get(subscriber_name, [])]
        for device in devices:
            device.inbox.put(dict(message))
        return len(devices)


def app_should_relay(push: Any, signed_in_subscriber: str | None) -> bool:
    """The app relays a push to the SDK only when it is a data message for the signed-in user."""
    return (isinstance(push, dict) and signed_in_subscriber is not None
            and push.get("subscriberName") == signed_in_subscriber
            and isinstance(push.get("payload"), str))


def relay_data(push: dict[str, Any]) -> dict[str, Any]:
    """What the app passes to relaySessionData: `{payload, payloadVersion, subscriberName}`."""
    return {"payload": push["payload"], "payloadVersion": push["payloadVersion"],
            "subscriberName": push["subscriberName"]}
