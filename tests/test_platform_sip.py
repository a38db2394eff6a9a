"""The platform's SIP side end to end on 127.0.0.1: a SipVoiceClient (this process) dials the
exophone of a `python -m reference.platform.sipserver` process (HTTP platform + PlatformSip),
which asks the customer backend (this process, real HTTP) for the callee, pushes to it, and
calls a `reference.sip.peer` process standing in for the callee's device."""

from __future__ import annotations

import json
import os
import queue
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from reference.sip.endpoint import HAVE_PJSUA2, IMPORT_ERROR

pytestmark = pytest.mark.skipif(not HAVE_PJSUA2, reason=f"pjsua2 not importable: {IMPORT_ERROR}")

from reference.backend import CustomerBackend, PushChannel  # noqa: E402
from reference.backend.server import RoutingTable  # noqa: E402
from reference.platform.client import SubscriberApi  # noqa: E402
from spec.validate.run import Options, judge_file  # noqa: E402
from spec.vocabulary import CallEndReason, ErrorType  # noqa: E402
from tests.test_sip_loopback import PeerProcess  # noqa: E402
from tests.test_sipnet import Listener  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SID, KEY, TOKEN = "exotel1", "apikey", "apitoken"
EXOPHONE = "sip:08040408080"


class ServerProcess(PeerProcess):
    """reference.platform.sipserver; same JSON-lines protocol as the peer."""

    def __init__(self, config: dict[str, Any]) -> None:  # noqa: D107 - no super().__init__
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reference.platform.sipserver", "--config",
             json.dumps(config)], cwd=ROOT, env=env, text=True, bufsize=1,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.ready = self.expect(lambda e: e["event"] == "ready", 10)
        self.uri = self.ready["sip_uri"]


@pytest.fixture(scope="module")
def world():
    before = {t.name for t in threading.enumerate()}
    channel = PushChannel()
    bob_device = channel.register("bob", "bob-phone")
    carol_device = channel.register("carol", "carol-phone")
    channel.register("dave", "dave-phone")
    backend = CustomerBackend(RoutingTable(by_caller={"alice": "bob"},
                                           by_custom_field={"tobusy": "carol",
                                                            "toslow": "dave"}), channel).start()
    bob = PeerProcess("--mode", "answer", "--answer-delay", "0.2", "--user", "bob")
    carol = PeerProcess("--mode", "busy", "--user", "carol")
    dave = PeerProcess("--mode", "ring-forever", "--user", "dave")
    secret = secrets.token_bytes(32)
    server = ServerProcess({
        "account": {"sid": SID, "api_key": KEY, "api_token": TOKEN, "sip_exophone": EXOPHONE,
                    "dial_whom_url": backend.dial_whom_url, "push_url": backend.push_url},
        "secret_hex": secret.hex(), "subscribers": ["alice", "bob", "carol", "dave"],
        "callee_uris": {"bob": bob.uri, "carol": carol.uri, "dave": dave.uri}, "rate_limit": {"calls": 50},
        "max_lifetime": 60})
    api = SubscriberApi(server.ready["api_url"], KEY, TOKEN)
    w = dict(backend=backend, bob=bob, carol=carol, dave=dave, server=server, api=api, secret=secret,
             bob_device=bob_device, carol_device=carol_device)
    try:
        yield w
    finally:
        assert server.close() == 0
        assert bob.close() == 0 and carol.close() == 0 and dave.close() == 0
        backend.close()
    assert server.expect(lambda e: e["event"] == "exit", 1)
    assert {t.name for t in threading.enumerate()} <= before, "leaked threads"


@pytest.fixture
def client_for(world, tmp_path):
    """client_for(token=None) -> (client, listener, trace): alice signed in with the token
    the platform issued over HTTP (or the given one)."""
    from reference.simnet import Platform
    from reference.sipnet import SipVoiceClient

    made = []
    server = world["server"]  # forget what earlier tests left unread
    server.seen.clear()
    while not server.lines.empty():
        server.lines.get_nowait()

    def make(token: str | None = None, platform: Platform | None = None):
        if token is None:
            resp = world["api"].token("alice", "alice-phone")
            assert resp.status == 200, resp.body
            token = resp.json()["subscriber_token"]["access_token"]
        trace = tmp_path / f"trace{len(made)}.jsonl"
        client = SipVoiceClient(world["server"].uri, trace=trace,
                                platform=platform or Platform(secret=world["secret"]))
        made.append(client)
        rec = Listener()
        client.setEventListener(rec)
        client.getCallController().setCallListener(rec)
        client.initialize(hostname="127.0.0.1", subscriberName="alice", subscriberToken=token)
        rec.wait("onInitializationSuccess")
        return client, rec, trace

    yield make
    for client in made:
        client.close()


def judge(client: Any, path: Path):
    assert client.settle()
    client.close()
    return judge_file(path, Options(complete=True))


def server_event(world, event: str, timeout: float = 5.0, **match: Any) -> dict:
    return world["server"].expect(
        lambda e: e["event"] == event and all(e.get(k) == v for k, v in match.items()), timeout)


def test_answered_call_is_bridged(world, client_for):
    client, rec, trace = client_for()
    backend = world["backend"]
    n_dial, n_push = len(backend.dial_whom_requests), len(backend.push_requests)
    call = client.getCallController().dial("bob", "hello42")
    rec.wait("onCallEstablished", 8)
    assert rec.names()[1:] == ["onCallInitiated", "onCallRinging", "onCallEstablished"]

    query = backend.dial_whom_requests[n_dial]
    assert query["CallFrom"] == "sip:alice" and query["CallTo"] == EXOPHONE
    assert query["CustomField"] == "hello42"
    pushed = backend.push_requests[n_push]
    assert pushed["subscriberName"] == "bob" and pushed["payloadVersion"] == 1
    assert world["bob_device"].receive(2)["payload"] == pushed["payload"]
    bob = world["bob"]
    incoming = bob.expect(lambda e: e["event"] == "incoming")
    assert incoming["headers"]["X-Exotel-Caller"] == "alice"
    bob.state("CONFIRMED")
    sid = server_event(world, "bridged")["call_sid"]

    time.sleep(1.0)
    stats = call.getStatistics()
    assert stats.packetsReceived > 10 and stats.packetsSent > 10
    assert bob.send("stats")["stats"]["rx_packets"] > 10

    call.hangup()
    rec.wait("onCallEnded")
    assert call.getCallDetails().callEndReason == CallEndReason.LOCAL_HANGUP
    assert bob.state("DISCONNECTED")["net"] == "net_remote_hangup"
    cdr = server_event(world, "call-ended")["cdr"]
    assert cdr["call_sid"] == sid
    got = world["api"]._call("GET", f"calls/{sid}")
    assert got.status == 200
    record = got.json()["call"]
    assert record["status"] == "completed" and record["callee"] == "bob"
    assert record["call_from"] == "sip:alice" and record["custom_field"] == "hello42"
    assert record["push_delivered"] is True and record["end_reason"] == "caller-hangup"
    assert record["duration"] > 0.5
    verdict = judge(client, trace)
    assert verdict.conformant is True, verdict.violations


def test_busy_callee_ends_the_call_busy(world, client_for):
    client, rec, trace = client_for()
    call = client.getCallController().dial("carol", "tobusy")
    rec.wait("onCallEnded", 8)
    assert rec.names()[1:] == ["onCallInitiated", "onCallRinging", "onCallEnded"]
    assert call.getCallDetails().callEndReason == CallEndReason.BUSY
    assert world["carol"].state("DISCONNECTED")["net"] == "net_bye_done"
    cdr = server_event(world, "call-ended")["cdr"]
    assert cdr["status"] == "busy" and cdr["callee"] == "carol"
    verdict = judge(client, trace)
    assert verdict.conformant is True, verdict.violations


def test_unanswered_callee_times_out(world, client_for):
    from reference.backend import DialWhomReply

    client, rec, trace = client_for()
    world["backend"].reply = DialWhomReply(max_ringing_duration=1)
    try:
        call = client.getCallController().dial("dave", "toslow")
        rec.wait("onCallEnded", 8)
    finally:
        world["backend"].reply = DialWhomReply()
    assert rec.names()[1:] == ["onCallInitiated", "onCallRinging", "onCallEnded"]
    assert call.getCallDetails().callEndReason == CallEndReason.TIMEOUT
    assert world["dave"].state("DISCONNECTED")["net"] == "net_remote_hangup"  # CANCEL
    cdr = server_event(world, "call-ended")["cdr"]
    assert cdr["status"] == "no-answer" and cdr["callee"] == "dave"
    verdict = judge(client, trace)
    assert verdict.conformant is True, verdict.violations


def test_max_conversation_duration_ends_both_legs(world, client_for):
    from reference.backend import DialWhomReply

    client, rec, trace = client_for()
    world["backend"].reply = DialWhomReply(max_conversation_duration=1)
    try:
        call = client.getCallController().dial("bob")
        rec.wait("onCallEstablished", 8)
        rec.wait("onCallEnded", 5)
    finally:
        world["backend"].reply = DialWhomReply()
    assert call.getCallDetails().callEndReason == CallEndReason.REMOTE_HANGUP
    assert world["bob"].state("DISCONNECTED")["net"] == "net_remote_hangup"
    cdr = server_event(world, "call-ended")["cdr"]
    assert cdr["status"] == "completed" and cdr["end_reason"] == "max-conversation-duration"
    assert 0.9 <= cdr["duration"] < 3
    verdict = judge(client, trace)
    assert verdict.conformant is True, verdict.violations


def test_token_not_signed_by_the_platform_is_refused(world, client_for):
    from reference.simnet import Platform

    forger = Platform()  # the client's own simulated registration accepts it
    client, rec, trace = client_for(forger.issue_token("alice"), forger)
    n_dial = len(world["backend"].dial_whom_requests)
    client.getCallController().dial("bob")
    refused = server_event(world, "refused")
    assert refused["code"] == 403 and "AUTHENTICATION_INVALID_TOKEN" in refused["reason"]
    deadline = time.monotonic() + 5
    while not {"onCallFailed", "onCallEnded"} & set(rec.names()):
        assert time.monotonic() < deadline, rec.names()
        time.sleep(0.05)
    print("tampered token: caller callbacks", rec.names()[1:],
          client.getCallController().getLatestCallDetails().callEndReason)
    assert rec.names()[1:] == ["onCallInitiated", "onCallEnded"]
    assert client.getCallController().getLatestCallDetails().callEndReason == \
        CallEndReason.FAILURE
    assert len(world["backend"].dial_whom_requests) == n_dial  # never routed
    cdr = server_event(world, "call-ended")["cdr"]
    assert cdr["status"] == "failed"
    verdict = judge(client, trace)
    print("tampered token: conformant", verdict.conformant, verdict.violations)
    assert verdict.conformant is True, verdict.violations


def test_rate_limit_gives_congestion(world, tmp_path):
    """rate_limit calls=1: the first INVITE is admitted (and refused for its token, no callee
    needed), the second within the window gets 503 -> onCallFailed CONGESTION_ERROR."""
    from reference.simnet import Platform
    from reference.sipnet import SipVoiceClient

    server = ServerProcess({
        "account": {"sid": SID, "api_key": KEY, "api_token": TOKEN,
                    "dial_whom_url": world["backend"].dial_whom_url,
                    "push_url": world["backend"].push_url},
        "subscribers": ["alice"], "rate_limit": {"calls": 1, "window": 60},
        "max_lifetime": 30})
    forger = Platform()
    client = SipVoiceClient(server.uri, trace=tmp_path / "rate.jsonl", platform=forger)
    try:
        rec = Listener()
        client.setEventListener(rec)
        client.getCallController().setCallListener(rec)
        client.initialize(hostname="127.0.0.1", subscriberName="alice",
                          subscriberToken=forger.issue_token("alice"))
        rec.wait("onInitializationSuccess")
        client.getCallController().dial("bob")
        rec.wait("onCallEnded")
        assert server.expect(lambda e: e["event"] == "refused")["code"] == 403
        client.getCallController().dial("bob")
        _call, error = rec.wait("onCallFailed")
        assert error.error_type == ErrorType.CONGESTION_ERROR
        assert server.expect(lambda e: e["event"] == "refused")["code"] == 503
        verdict = judge(client, tmp_path / "rate.jsonl")
        assert verdict.conformant is True, verdict.violations
    finally:
        client.close()
        assert server.close() == 0
