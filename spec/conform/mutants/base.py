"""The wrapper every mutant is built on: a working client (the reference client's adapter)
seen through a filter that changes one thing, so the fault is the only difference between
the mutant and a client that conforms."""

from __future__ import annotations

import queue
import time
from typing import Any, Callable

from ...vocabulary import Env
from ..adapter import AdapterError, ApiResult, ClientAdapter

Event = dict[str, Any]


def like(ev: Event, name: str, **args: Any) -> Event:
    """A callback line for the same call (and the same cause) as `ev`: what a mutant adds."""
    out: Event = {"kind": "callback", "name": name}
    for key in ("call", "cause"):
        if key in ev:
            out[key] = ev[key]
    if args:
        out["args"] = args
    return out


class _Events:
    """A queue-like view of the inner adapter's events, passed through `transform` (which may
    drop a line, or add lines after it), plus lines a mutant holds back until a moment of
    the wall clock (`hold`) or adds on its own (`inject`)."""

    def __init__(self, inner: "queue.Queue[Event]",
                 transform: Callable[[Event], list[Event]]) -> None:
        self._inner = inner
        self._transform = transform
        self._ready: list[Event] = []
        self._held: list[tuple[float, Event]] = []

    def inject(self, *evs: Event) -> None:
        self._ready.extend(evs)

    def hold(self, ev: Event, seconds: float) -> None:
        ev = {k: v for k, v in ev.items() if k != "cause"}  # placed when it finally arrives
        self._held.append((time.monotonic() + seconds, ev))

    def unhold(self, name: str, call: Any) -> list[Event]:
        """The held lines named `name` for `call`, taken back to be sent now."""
        out = [ev for _, ev in self._held if ev.get("name") == name and ev.get("call") == call]
        self._held = [(at, ev) for at, ev in self._held if not any(ev is o for o in out)]
        return out

    def peek(self) -> Event | None:
        """The inner adapter's next event if one is already there (the reference client's
        consequences of a request are all queued when the request returns)."""
        try:
            return self._inner.get_nowait()
        except queue.Empty:
            return None

    def _release(self) -> None:
        now = time.monotonic()
        due = [ev for at, ev in self._held if at <= now]
        self._held = [(at, ev) for at, ev in self._held if at > now]
        self._ready.extend(due)

    def get_nowait(self) -> Event:
        return self.get(timeout=0.0)

    def get(self, block: bool = True, timeout: float | None = None) -> Event:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self._release()
            if self._ready:
                return self._ready.pop(0)
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if self._held:
                wake = max(0.0, min(at for at, _ in self._held) - time.monotonic())
                left = wake if left is None else min(left, wake)
            try:
                ev = self._inner.get_nowait() if left == 0.0 else self._inner.get(timeout=left)
            except queue.Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    self._release()
                    if self._ready:
                        return self._ready.pop(0)
                    raise
                continue
            self._ready.extend(self._transform(ev))


class BrokenClient:
    """Pass-through wrapper; subclasses override `on_api`, `on_event` or `on_stimulus`.

    `fault` names the mutant (`--client broken:<fault>`), `rule` the rule of
    exovoice.spec.rules it breaks, `area` the part of the guide it lives in, and `callkit`
    whether its fault lives in an app that integrates CallKit (only there can it show)."""

    fault = "none"
    rule = ""
    area = ""
    callkit = False

    def __init__(self, inner: ClientAdapter) -> None:
        self.inner = inner
        self.pstn = "idle"  # what the phone's PSTN call is doing, from the stimuli
        self.pstn_placed = False  # the user placed it (pstnDialed) rather than took it
        self._events: _Events | None = None

    def hello(self, *, callkit: bool) -> frozenset[str]:
        caps = self.inner.hello(callkit=callkit)
        self._events = _Events(self.inner.events(), self.on_event)
        return caps

    def api(self, name: str, *, call: str | None = None, args: dict[str, Any] | None = None
            ) -> ApiResult:
        return self.on_api(name, call, args) or self.inner.api(name, call=call, args=args)

    def stimulus(self, name: str, *, call: str | None = None,
                 args: dict[str, Any] | None = None) -> None:
        self.pstn = {Env.pstnRinging.value: "ringing", Env.pstnAnswered.value: "active",
                     Env.pstnDialed.value: "active", Env.pstnDeclined.value: "idle",
                     Env.pstnEnded.value: "idle"}.get(name, self.pstn)
        if name == Env.pstnDialed.value:
            self.pstn_placed = True
        elif self.pstn == "idle" or name == Env.pstnRinging.value:
            self.pstn_placed = False
        self.on_stimulus(name, call, args)
        self.inner.stimulus(name, call=call, args=args)

    def events(self) -> Any:
        assert self._events is not None, "hello() first"
        return self._events

    @property
    def queue(self) -> _Events:
        assert self._events is not None, "hello() first"
        return self._events

    def platform(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        """The inner adapter's platform operation, untouched (no fault lives there)."""
        inner = getattr(self.inner, "platform", None)
        if inner is None:
            raise AdapterError(f"platform {op}: the wrapped client has no platform operation")
        return inner(op, args)

    def close(self) -> None:
        self.inner.close()

    # --- the fault ------------------------------------------------------------------------
    def on_api(self, name: str, call: str | None, args: dict[str, Any] | None) -> ApiResult | None:
        """An answer of the mutant's own instead of the client's (None: the client answers)."""
        return None

    def on_event(self, ev: Event) -> list[Event]:
        return [ev]

    def on_stimulus(self, name: str, call: str | None, args: dict[str, Any] | None) -> None:
        """Seen before the client gets the stimulus."""
