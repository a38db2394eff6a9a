"""Call statistics from a pjsua2 stream, and an RTP-flow watcher.

``CallStatistics.from_stream(info, stat, ...)`` reads ``Call.getStreamInfo(i)`` and
``Call.getStreamStat(i)`` (pjsua2 ``StreamInfo``/``StreamStat``): only the endpoint's pump
thread may call those (see exovoice.reference.sip.endpoint), so ``SipCall.stats()`` asks it to.
Units: jitter and RTT in milliseconds (pjsua2 gives microseconds), packets/bytes are RTP
payload counters from RTCP accounting (``rtcp.txStat`` / ``rtcp.rxStat``), loss is the count
of RTP packets the receiver detected as missing (sequence gaps) - packets that were never sent
are *not* loss, so a silent far end shows as a stalled ``rx_packets``, which is what
``RtpWatch`` looks at.

``RtpWatch`` is pure: feed it (time, rx_packets) samples and it reports the Network happenings
``net_rtp_lost`` (no new packet for ``lost_after`` s), ``net_rtp_restored`` (packets again)
and ``net_media_timeout`` (no packet for ``timeout_after`` s).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class CallStatistics:
    codec: str = ""
    clock_rate: int = 0
    tx_packets: int = 0
    tx_bytes: int = 0
    rx_packets: int = 0
    rx_bytes: int = 0
    rx_lost: int = 0
    rx_discarded: int = 0
    rx_jitter_ms: float = 0.0  # mean interarrival jitter seen by us
    tx_jitter_ms: float = 0.0  # mean jitter the far end reported (RTCP RR)
    rtt_ms: float = 0.0  # mean round trip (RTCP), 0 until an RR came back
    remote_rtp: str = ""
    duration_s: float = 0.0

    @classmethod
    def from_stream(cls, info: Any, stat: Any, duration_s: float = 0.0) -> "CallStatistics":
        rtcp = stat.rtcp
        tx, rx = rtcp.txStat, rtcp.rxStat
        return cls(
            codec=str(info.codecName),
            clock_rate=int(info.codecClockRate),
            tx_packets=int(tx.pkt),
            tx_bytes=int(tx.bytes),
            rx_packets=int(rx.pkt),
            rx_bytes=int(rx.bytes),
            rx_lost=int(rx.loss),
            rx_discarded=int(rx.discard),
            rx_jitter_ms=_ms(rx.jitterUsec.mean),
            tx_jitter_ms=_ms(tx.jitterUsec.mean),
            rtt_ms=_ms(rtcp.rttUsec.mean),
            remote_rtp=str(info.remoteRtpAddress),
            duration_s=float(duration_s),
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ms(usec: Any) -> float:
    value = float(usec)
    return round(value / 1000.0, 3) if value > 0 else 0.0


@dataclass
class RtpWatch:
    """Turns rx-packet samples into net_rtp_lost / net_rtp_restored / net_media_timeout."""

    lost_after: float = 0.5
    timeout_after: float = 10.0
    _last_count: int | None = None
    _last_change: float | None = None
    _lost: bool = False
    _timed_out: bool = False

    def sample(self, now: float, rx_packets: int) -> list[str]:
        events: list[str] = []
        if self._last_count is None or rx_packets != self._last_count:
            if self._last_count is not None and self._lost:
                events.append("net_rtp_restored")
                self._lost = False
                self._timed_out = False
            self._last_count = rx_packets
            self._last_change = now
            return events
        silent = now - (self._last_change if self._last_change is not None else now)
        if not self._lost and silent >= self.lost_after:
            self._lost = True
            events.append("net_rtp_lost")
        if self._lost and not self._timed_out and silent >= self.timeout_after:
            self._timed_out = True
            events.append("net_media_timeout")
        return events
