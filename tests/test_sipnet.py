"""The reference client over real SIP/RTP (exovoice.reference.net.sipnet) against a exovoice.reference.sip.peer
process on 127.0.0.1: the callbacks come from real invite states, the statistics from the real
RTP stream, and every trace the client writes is judged complete and conformant."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from exovoice.reference.sip.endpoint import HAVE_PJSUA2, IMPORT_ERROR
from exovoice.spec.validate.run import Options, judge_file
from exovoice.spec.vocabulary import CallEndReason, ErrorType

pytestmark = pytest.mark.skipif(not HAVE_PJSUA2, reason=f"pjsua2 not importable: {IMPORT_ERROR}")

from tests.test_sip_loopback import PeerProcess  # noqa: E402 - after the skip marker

SUBSCRIBER = "alice"


class Listener:
    """Both listener interfaces: notes callbacks in order and lets the test wait for one."""

    def __init__(self) -> None:
        self.got: list[tuple[str, tuple[Any, ...]]] = []
        self.cond = threading.Condition()

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("on"):
            raise AttributeError(name)

        def note(*args: Any) -> None:
            if name != "onLog":
                with self.cond:
                    self.got.append((name, args))
                    self.cond.notify_all()
        return note

    def names(self) -> list[str]:
        with self.cond:
            return [n for n, _ in self.got]

    def wait(self, name: str, timeout: float = 5.0, count: int = 1) -> tuple[Any, ...]:
        with self.cond:
            ok = self.cond.wait_for(lambda: self.names().count(name) >= count, timeout)
            assert ok, f"no {name} (x{count}) within {timeout}s; got {self.names()}"
            return [a for n, a in self.got if n == name][count - 1]


@pytest.fixture
def world(tmp_path: Path):
    """make(peer args...) -> (client, listener, peer, trace path); all torn down after."""
    from exovoice.reference.sdk.sip_client import SipVoiceClient

    before = {t.name for t in threading.enumerate()}
    made: list[tuple[Any, PeerProcess]] = []

    def make(*peer_args: str):
        peer = PeerProcess(*peer_args)
        trace = tmp_path / f"trace{len(made)}.jsonl"
        client = SipVoiceClient(peer.uri, trace=trace)
        made.append((client, peer))
        rec = Listener()
        client.setEventListener(rec)
        client.getCallController().setCallListener(rec)
        client.initialize(hostname="127.0.0.1", subscriberName=SUBSCRIBER,
                          subscriberToken=client.platform.issue_token(SUBSCRIBER))
        rec.wait("onInitializationSuccess")
        return client, rec, peer, trace

    yield make
    for client, peer in made:
        client.close()
        assert peer.close() == 0
    assert {t.name for t in threading.enumerate()} <= before, "leaked threads"


def judged(client: Any, path: Path) -> None:
    assert client.settle()
    assert client._dispatcher.take_errors() == [] and client.listener_errors == []
    client.close()
    verdict = judge_file(path, Options(complete=True))
    assert verdict.conformant is True, (verdict.violations, path.read_text())


def test_answered_call_over_sip(world):
    client, rec, peer, trace = world("--mode", "answer", "--answer-delay", "0.2")
    call = client.getCallController().dial("+918047112327", "hello42")
    rec.wait("onCallEstablished")
    assert rec.names()[1:] == ["onCallInitiated", "onCallRinging", "onCallEstablished"]
    incoming = peer.expect(lambda e: e["event"] == "incoming")
    headers = incoming["headers"]
    assert headers["X-Exotel-Access-Token"] == client._token
    assert unquote(headers["X-Exotel-Message"]) == "hello42"
    assert unquote(headers["X-Exotel-Remote-Id"]) == "+918047112327"
    assert headers["X-Exotel-Session"] == call.session_id

    time.sleep(1.0)  # RTP both ways, 50 packets/s
    stats = call.getStatistics()
    assert stats.codec == "PCMU"
    assert stats.packetsReceived > 10 and stats.packetsSent > 10 and stats.bytesReceived > 0
    assert 1.0 <= stats.mos <= 4.5
    assert peer.send("stats")["stats"]["rx_packets"] > 10

    call.hangup()
    rec.wait("onCallEnded")
    assert call.getCallDetails().callEndReason == CallEndReason.LOCAL_HANGUP
    assert peer.state("DISCONNECTED")["net"] == "net_remote_hangup"
    assert call.getStatistics().packetsReceived >= stats.packetsReceived  # the last snapshot
    judged(client, trace)


@pytest.mark.parametrize("mode,reason", [("busy", CallEndReason.BUSY),
                                         ("unavailable", CallEndReason.UNREACHABLE)])
def test_refused_call_ends(world, mode, reason):
    client, rec, peer, trace = world("--mode", mode)
    call = client.getCallController().dial("+918047112327")
    rec.wait("onCallEnded")
    assert rec.names()[1:] == ["onCallInitiated", "onCallEnded"]
    assert call.getCallDetails().callEndReason == reason
    judged(client, trace)


def test_congestion_fails_the_call(world):
    client, rec, peer, trace = world("--mode", "congestion")
    client.getCallController().dial("+918047112327")
    _call, error = rec.wait("onCallFailed")
    assert error.error_type == ErrorType.CONGESTION_ERROR
    judged(client, trace)


def test_rtp_stall_disrupts_media_then_remote_hangup(world):
    client, rec, peer, trace = world("--mode", "answer", "--answer-delay", "0")
    call = client.getCallController().dial("+918047112327")
    rec.wait("onCallEstablished")
    time.sleep(0.4)
    peer.send("pause_rtp")  # the far end stops sending: no signalling
    rec.wait("onMediaDisrupted", 3)
    peer.send("resume_rtp")
    rec.wait("onCallEstablished", 3, count=2)
    peer.send("hangup")
    rec.wait("onCallEnded")
    assert call.getCallDetails().callEndReason == CallEndReason.REMOTE_HANGUP
    assert rec.names()[1:] == ["onCallInitiated", "onCallRinging", "onCallEstablished",
                               "onMediaDisrupted", "onCallEstablished", "onCallEnded"]
    judged(client, trace)
