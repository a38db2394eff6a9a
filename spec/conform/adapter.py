"""The adapter protocol: how exovoice drives a client it did not write.

A conformance scenario talks to a client only through this interface, so the same features
judge the reference client, a third party's Python client, or (through the JSON-lines form in
`exovoice.spec.conform.jsonlines`, documented in docs/adapter-protocol.md) a Swift, Kotlin or
JavaScript harness.

Three things cross it:
- operations: the guide's API calls (exovoice.spec.vocabulary.Api), each answered with its result;
- stimuli: what the world does to the client: network happenings (exovoice.spec.vocabulary.Network,
  e.g. net_ringing, net_busy, net_rtp_lost), the phone around it (exovoice.spec.vocabulary.Env, e.g.
  pstnRinging) and the user's CallKit actions (exovoice.spec.vocabulary.CallKit);
- events: every line the client's trace gains (callbacks, and the CallKit lines its app
  layer writes), in trace format v1, delivered asynchronously, each naming the request it
  followed (its cause) so the driver can write the trace in causal order.

A capability handshake says what a client can do; a scenario that needs a missing capability
is reported not-run, never passed.

Version 1. Extend compatibly: new capabilities and stimuli may be added; nothing is removed.
Extensions so far: the `platform` capability with its optional `platform(op, args)` operation
(PlatformAdapter); `Unsupported`, a stimulus the client declines (the scenario is not-run);
the capabilities `call-details`, `statistics`, `audio-route` (queries) and `controls` (the
platform controls), which hold a client to what it declares; the convention
`callkit-app-start`; an event's `cause` (the request it followed), by which the driver builds
the trace in causal order. Every request and its arguments are described by the catalogue in
exovoice.spec.conform.protocol.
"""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

PROTOCOL_VERSION = 1


class Capability:
    """Names a client may declare in its handshake."""

    CORE = "core"  # initialize, dial, relaySessionData, answer, hangup, callbacks
    NETWORK = "network"  # takes network stimuli (ringing, busy, RTP loss, ...) on demand
    PSTN = "pstn"  # sees PSTN calls on the phone (env pstn* stimuli)
    CALLKIT = "callkit"  # integrates CallKit (callkit stimuli and lines)
    BLUETOOTH = "bluetooth"
    AUDIO = "audio"  # mute, speaker, Bluetooth route controls
    LOGS = "logs"  # uploadLogs
    FEEDBACK = "feedback"  # postFeedback
    PUSH = "push"  # handles push payloads (relaySessionData with real payloads)
    # comes with a platform simulator and a customer backend it drives over the optional
    # `platform(op, args)` operation (PlatformAdapter; guide 5.1, 5.2, 9.3 a)
    PLATFORM = "platform"
    # a wired headset is plugged in and unplugged (env wiredHeadset* stimuli, guide 4.4)
    WIRED_HEADSET = "wired-headset"
    # queries: a client that declares one is held to it (an answer short of its value model
    # fails the scenario); one that does not is still asked, the version-1 way, and a missing
    # or malformed answer makes the scenario not-run
    CALL_DETAILS = "call-details"  # getCallDetails
    STATISTICS = "statistics"  # getStatistics
    AUDIO_ROUTE = "audio-route"  # getAudioRoute
    # takes the platform controls the scenarios send (token_expired, token_invalid,
    # token_expired_silently, init_fails, upload_fails); held to them like a query
    CONTROLS = "controls"

    ALL = frozenset({CORE, NETWORK, PSTN, CALLKIT, BLUETOOTH, AUDIO, LOGS, FEEDBACK, PUSH,
                     PLATFORM, WIRED_HEADSET, CALL_DETAILS, STATISTICS, AUDIO_ROUTE, CONTROLS})

    # Conventions: declared beside the capabilities, they change what the driver does and
    # gate no scenario. callkit-app-start: the client's app layer starts every outgoing
    # CallKit call itself after dial() (guide 4.3.3 Outgoing Calls step 2), so the driver
    # does not send CXStartCallAction.
    CALLKIT_APP_START = "callkit-app-start"
    CONVENTIONS = frozenset({CALLKIT_APP_START})


@dataclass(frozen=True)
class ApiResult:
    """What an operation returned: "ok" or an ErrorType, and the call it created or named."""

    result: str = "ok"
    call: str | None = None
    value: Any = None  # e.g. getCallDetails(), getStatistics() payloads

    @property
    def ok(self) -> bool:
        return self.result == "ok"


class AdapterError(Exception):
    """The client broke the protocol (not the spec): no answer, a malformed message."""


class ClientBroken(AdapterError):
    """The client stopped speaking the protocol: it did not answer within the driver's
    answer timeout, exited, or wrote a line that is not a message. Unlike a request it
    refused (a plain AdapterError), nothing more can be asked of it: `exovoice conform` stops
    starting scenarios for it (unless --keep-going)."""


class Unsupported(AdapterError):
    """The client cannot give this stimulus (version-1 extension): e.g. a client over a real
    network cannot make the network produce an internal step on demand. The scenario is
    reported not-run with this reason, never passed or failed. Over JSON lines: an error
    answer whose text starts with `unsupported:`."""


class Unavailable(AdapterError):
    """An in-process client cannot run on this machine at all (a missing extra such as
    `exovoice[sip]`, a missing system tool), raised by its constructor: the run is unusable
    (exit 2) with this one-line reason, never a failed or passed scenario."""


UNSUPPORTED_PREFIX = "unsupported:"


@runtime_checkable
class ClientAdapter(Protocol):
    """What a client under test offers the step library."""

    def hello(self, *, callkit: bool) -> frozenset[str]:
        """Start a fresh client instance; return its capabilities."""
        ...

    def api(self, name: str, *, call: str | None = None, args: dict[str, Any] | None = None
            ) -> ApiResult:
        """Call one API operation of the guide and return what it returned."""
        ...

    def stimulus(self, name: str, *, call: str | None = None,
                 args: dict[str, Any] | None = None) -> None:
        """Make the world do something to the client (network, phone, CallKit user)."""
        ...

    def events(self) -> "queue.Queue[dict[str, Any]]":
        """The client's trace lines as they happen (callbacks, CallKit lines), trace v1 dicts.
        A dict may carry `cause`: the number of the call it followed (hello is 1, then every
        api, stimulus and platform call), so the driver writes it where it happened however
        late it is taken from the queue; without it, it is placed when taken."""
        ...

    def close(self) -> None:
        ...


PLATFORM_OPS = ("setup", "dial_whom", "push", "provision", "token")


@runtime_checkable
class PlatformAdapter(Protocol):
    """Optional (version-1 extension): a client that declares `platform` also offers this.

    `platform(op, args) -> dict` drives the platform simulator and customer backend that
    come with the client (docs/adapter-protocol.md, "platform"): `op` is one of
    PLATFORM_OPS; the answer is a JSON object. A request it cannot serve raises
    AdapterError."""

    def platform(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        ...


@dataclass
class EventWatch:
    """Waits for events with a bound, never by sleeping a fixed time."""

    source: "queue.Queue[dict[str, Any]]"
    seen: list[dict[str, Any]] = field(default_factory=list)

    def drain(self) -> list[dict[str, Any]]:
        while True:
            try:
                self.seen.append(self.source.get_nowait())
            except queue.Empty:
                return self.seen

    def wait_for(self, name: str, *, call: str | None = None, timeout: float = 5.0,
                 after: int = 0) -> dict[str, Any] | None:
        """The first event named `name` (for `call`, when given) at index >= after."""
        deadline = time.monotonic() + timeout
        i = after
        while True:
            while i < len(self.seen):
                ev = self.seen[i]
                if ev.get("name") == name and (call is None or ev.get("call") in (None, call)):
                    return ev
                i += 1
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                self.seen.append(self.source.get(timeout=left))
            except queue.Empty:
                return None
