"""SimNet, the simulated exovoice.reference.net.seam.CallNetwork the client's calls go over by
default. It decides the happenings the SDK would see without anyone acting (INVITE reached
the platform, BYE completed, push confirmed); every other happening (ringing, answer of an
outgoing call, busy, RTP loss, remote hangup...) is a stimulus from the test. Its platform
(tokens, pushes, sessions, registration, upload) is `simplatform.Platform`.
"""

from __future__ import annotations

from typing import Any

from exovoice.spec.vocabulary import Callback, Network

from .seam import CallStatistics, NetCall, NetworkLink
from .simplatform import Platform


class SimNet:
    """The simulated network (exovoice.reference.net.seam.CallNetwork): it posts the happenings that
    follow without anyone acting (net_call_sent after a dial, net_answered after an answer
    while `platform.auto_answer_media`, net_bye_done after a hangup) and makes up statistics;
    every other happening is a stimulus from the test."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self._link: NetworkLink | None = None

    def attach(self, link: NetworkLink) -> None:
        self._link = link

    def _post(self, cause: str) -> None:
        if self._link is not None:
            self._link.post(cause)

    def place(self, call: NetCall, remote_id: str, message: str | None, token: Any) -> None:
        refused = self.platform.refuses_token(token)
        if refused is not None:  # LC-AUTH-CALL: the call fails, and the token is reported
            self._post(Network.net_failure.value)
            self._auth_failure(refused)
            return
        self._post(Network.net_call_sent.value)

    def receive(self, call: NetCall, token: Any, extra: dict[str, dict[str, Any]]) -> None:
        if self._link is None:
            return
        refused = self.platform.refuses_token(token)
        if refused is not None:  # the session take is refused: a missed call, and the token
            self._link.post(Network.net_push_stale.value, extra=extra)
            self._auth_failure(refused)
            return
        self._link.post(Network.net_push_valid.value, extra=extra)  # the push's check stands

    def _auth_failure(self, args: dict[str, str]) -> None:
        if self._link is not None:
            self._link.post(Network.net_token_rejected.value,
                            extra={Callback.onAuthenticationFailure.value: args})

    def answer(self, call: NetCall) -> None:
        if self.platform.auto_answer_media:
            self._post(Network.net_answered.value)

    def end(self, call: NetCall) -> None:
        self._post(Network.net_bye_done.value)

    def release(self, call: NetCall) -> None:
        pass

    def statistics(self, call: NetCall) -> CallStatistics:
        packets = int(call.media_seconds * 50)
        return CallStatistics("opus", 32000, 4.0, 12.0, 40.0, 80.0, 0, 0.0, 0.0, packets,
                              packets, packets * 80, packets * 80, 4.3 if packets else 0.0)

    def close(self) -> None:
        pass


__all__ = ["Platform", "SimNet"]
