"""The seam between the reference client and the network its calls go over.

The client decides (by asking the spec) and the network carries: after an accepted API call
the client tells its `CallNetwork` what to do with the call (place it, answer it, end it,
let it go, measure it), and the network reports what then happens through the
`NetworkLink` the client gave it, as exovoice.spec.vocabulary.Network happenings that the client
feeds to the spec on its dispatcher thread.

The seam knows nothing of the SDK that uses it: a call is a `NetCall` (what a network reads of
the SDK's Call), the link is a protocol the SDK implements, and the statistics a network
measures are the guide's CallStatistics (4.5), defined here and re-exported by the SDK.

Implementations: `exovoice.reference.net.simnet.SimNet` (the simulated network: it posts the happenings
the SDK would see without anyone acting, e.g. net_call_sent right after a dial) and
`exovoice.reference.net.sipnet.SipNet` (calls over real SIP/RTP with pjsua2, incoming ones taken from
the platform after a relayed push).

Registration, tokens, pushes and log upload are the platform's (exovoice.reference.net.simplatform.Platform),
not this seam's; an incoming call is created by relaySessionData from a push, given to
`receive`, and then goes through `answer`, `end`, `release` and `statistics` like an
outgoing one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Hashable, Protocol

if TYPE_CHECKING:
    from .simplatform import Platform


@dataclass(frozen=True)
class CallStatistics:
    """Guide 4.5: codec and QoS, as the client's network measures them (simulated by
    exovoice.reference.net.simnet.SimNet: a clean 20 ms Opus stream for the time the call has
    been established; measured on the RTP stream by exovoice.reference.net.sipnet.SipNet)."""

    codec: str
    audioBitrate: int  # noqa: N815  bits/s
    averageJitterMs: float  # noqa: N815
    maxJitterMs: float  # noqa: N815
    jitterBufferMs: float  # noqa: N815
    rttMs: float  # noqa: N815
    cumulativeLost: int  # noqa: N815
    fractionLost: float  # noqa: N815
    remoteFractionLost: float  # noqa: N815
    packetsSent: int  # noqa: N815
    packetsReceived: int  # noqa: N815
    bytesSent: int  # noqa: N815
    bytesReceived: int  # noqa: N815
    mos: float

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class NetCall(Hashable, Protocol):
    """What a network reads of the SDK's call (exovoice.reference.sdk.call.Call)."""

    @property
    def session_id(self) -> str | None: ...

    @property
    def media_seconds(self) -> float: ...


class NetworkLink(Protocol):
    """What a network may do to the client it serves (given to `CallNetwork.attach`; the
    SDK's client implements it)."""

    @property
    def platform(self) -> "Platform": ...

    def current_call(self) -> NetCall | None:
        """The call the SDK's single call context holds (None: no call)."""

    def post(self, cause: str, call: NetCall | None = None, *,
             still: Callable[[], bool] | None = None,
             extra: dict[str, dict[str, Any]] | None = None) -> None:
        """The Network happening `cause` arrives, on the client's dispatcher thread. When it
        is `call`'s, it is dropped unless `call` is then still the current call and `still()`
        (if given) is true. `extra`: the callbacks' arguments by callback name (e.g. the
        error of onAuthenticationFailure). Raises RuntimeError when the client is closed."""

    def settle(self, timeout: float | None = None) -> bool:
        """Wait until the client's dispatcher has nothing left to do."""
        ...


class CallNetwork(Protocol):
    """What the client asks of the network its calls go over (see the module docstring).
    Every method but `statistics` runs after the spec accepted the API call, on the
    caller's thread."""

    def attach(self, link: NetworkLink) -> None:
        """Start serving the client behind `link` (once, from the client's constructor)."""

    def place(self, call: NetCall, remote_id: str, message: str | None, token: Any) -> None:
        """dial(): set up the outgoing `call` to `remote_id`, authenticated by `token`."""

    def receive(self, call: NetCall, token: Any, extra: dict[str, dict[str, Any]]) -> None:
        """relaySessionData() accepted a push that looks fresh: `call` is the incoming call it
        would announce. Take its session from the platform (authenticated by `token`) and post
        what the platform says, with `extra` (the callbacks' arguments): net_push_valid (the
        call is there: onIncomingCall) or net_push_stale (its caller is gone: a missed
        call)."""

    def answer(self, call: NetCall) -> None:
        """answer(): accept the incoming `call`."""

    def end(self, call: NetCall) -> None:
        """hangup() of a call that was not already ending: BYE (CANCEL before an answer);
        net_bye_done follows when it is done."""

    def release(self, call: NetCall) -> None:
        """reset(): the SDK dropped `call` (the client itself posts the net_bye_done the
        app sees); whatever the network still holds of it goes, silently."""

    def statistics(self, call: NetCall) -> CallStatistics:
        """getStatistics(): the call's media statistics (guide 4.5)."""
        ...

    def close(self) -> None:
        """The client is closing: stop, and post nothing more."""


__all__ = ["CallNetwork", "CallStatistics", "NetCall", "NetworkLink"]
