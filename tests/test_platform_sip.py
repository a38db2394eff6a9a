"""The platform's SIP side end to end on 127.0.0.1: a SipVoiceClient (this process) dials the
exophone of a `python -m exovoice.reference.platform.sipserver` process (HTTP platform + PlatformSip),
which asks the customer backend (this process, real HTTP) for the callee, pushes to it, and
calls a `exovoice.reference.sip.peer` process standing in for the callee's device."""

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

from exovoice.reference.sip.endpoint import HAVE_PJSUA2, IMPORT_ERROR

pytestmark = pytest.mark.skipif(not HAVE_PJSUA2, reason=f"pjsua2 not importable: {IMPORT_ERROR}")

from exovoice.reference.backend import CustomerBackend, PushChannel  # noqa: E402
from exovoice.reference.backend.server import RoutingTable  # noqa: E402
from exovoice.reference.platform.client import SubscriberApi  # noqa: E402
from exovoice.reference.platform.server import account_key  # noqa: E402
from exovoice.spec.validate.run import Options, judge_file  # noqa: E402
from exovoice.spec.vocabulary import CallEndReason, ErrorType  # noqa: E402
from tests.test_sip_loopback import PeerProcess  # noqa: E402
from tests.test_sipnet import Listener  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SID, KEY, TOKEN = "exotel1", "apikey", "apitoken"
EXOPHONE = "sip:08040408080"


class ServerProcess(PeerProcess):
    """exovoice.reference.platform.sipserver; same JSON-lines protocol as the peer."""

    def __init__(self, config: dict[str, Any]) -> None:  # noqa: D107 - no super().__init__
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "exovoice.reference.platform.sipserver", "--config", "-"],
            cwd=ROOT, env=env, text=True, bufsize=1,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert self.proc.stdin is not None  # the config holds secrets: stdin, not argv
        self.proc.stdin.write(json.dumps(config) + "\n")
        self.proc.stdin.flush()
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
    w = dict(backend=backend, bob=bob, carol=carol, dave=dave, server=server, api=api,
             secret=account_key(secret, SID),  # what the account's tokens are signed with
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
    from exovoice.reference.net.simplatform import Platform
    from exovoice.reference.sdk.sip_client import SipVoiceClient

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
    # carol's phone never rang, so neither did alice's: no onCallRinging
    assert rec.names()[1:] == ["onCallInitiated", "onCallEnded"]
    assert call.getCallDetails().callEndReason == CallEndReason.BUSY
    assert world["carol"].state("DISCONNECTED")["net"] == "net_bye_done"
    cdr = server_event(world, "call-ended")["cdr"]
    assert cdr["status"] == "busy" and cdr["callee"] == "carol"
    verdict = judge(client, trace)
    assert verdict.conformant is True, verdict.violations


def test_unanswered_callee_times_out(world, client_for):
    from exovoice.reference.backend import DialWhomReply

    client, rec, trace = client_for()
    world["backend"].reply = DialWhomReply(max_ringing_duration=1)
    try:
        call = client.getCallController().dial("dave", "toslow")
        rec.wait("onCallEnded", 8)
    finally:
        world["backend"].reply = DialWhomReply()
    assert rec.names()[1:] == ["onCallInitiated", "onCallRinging", "onCallEnded"]
    assert call.getCallDetails().callEndReason == CallEndReason.TIMEOUT
    # the CANCEL says why (Reason: SIP;cause=408): the callee's side reads "no answer"
    assert world["dave"].state("DISCONNECTED")["net"] == "net_no_answer"
    cdr = server_event(world, "call-ended")["cdr"]
    assert cdr["status"] == "no-answer" and cdr["callee"] == "dave"
    verdict = judge(client, trace)
    assert verdict.conformant is True, verdict.violations


def test_max_conversation_duration_ends_both_legs(world, client_for):
    from exovoice.reference.backend import DialWhomReply

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
    from exovoice.reference.net.simplatform import Platform

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
    assert rec.names()[1:] == ["onCallInitiated", "onCallEnded", "onAuthenticationFailure"]
    assert rec.wait("onAuthenticationFailure")[0].error_type == \
        ErrorType.AUTHENTICATION_INVALID_TOKEN
    assert not client.isInitialized()  # the SDK must be initialized again, with a new token
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
    from exovoice.reference.net.simplatform import Platform
    from exovoice.reference.sdk.sip_client import SipVoiceClient

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
        rec.wait("onAuthenticationFailure")  # the forged token: initialize again
        client.initialize(hostname="127.0.0.1", subscriberName="alice",
                          subscriberToken=forger.issue_token("alice"))
        rec.wait("onInitializationSuccess", count=2)
        client.getCallController().dial("bob")
        _call, error = rec.wait("onCallFailed")
        assert error.error_type == ErrorType.CONGESTION_ERROR
        assert server.expect(lambda e: e["event"] == "refused")["code"] == 503
        verdict = judge(client, tmp_path / "rate.jsonl")
        assert verdict.conformant is True, verdict.violations
    finally:
        client.close()
        assert server.close() == 0


def test_expired_token_is_an_authentication_failure(world, client_for):
    """The token the platform issued, re-signed with its exp past the platform's leeway: the
    platform says EXPIRED (not INVALID), and the caller's app hears onAuthenticationFailure
    with it."""
    from exovoice.reference.wire.tokens import LEEWAY, decode, sign

    good = world["api"].token("alice", "alice-phone").json()["subscriber_token"]["access_token"]
    client, rec, trace = client_for(good)
    # registered while valid; by the time of the call the token it presents has expired
    claims = dict(decode(good, world["secret"]).claims, exp=time.time() - LEEWAY - 1)
    client._token = sign(claims, world["secret"])
    client.getCallController().dial("bob")
    refused = server_event(world, "refused")
    assert refused["code"] == 403 and "AUTHENTICATION_EXPIRED_TOKEN" in refused["reason"]
    err = rec.wait("onAuthenticationFailure")[0]
    assert err.error_type == ErrorType.AUTHENTICATION_EXPIRED_TOKEN
    assert "onCallEstablished" not in rec.names()
    verdict = judge(client, trace)
    assert verdict.conformant is True, verdict.violations


@pytest.fixture
def callee_for(world, tmp_path):
    """callee_for(name) -> (client, listener, trace, device): `name` signed in with a platform
    token on an in-process SipVoiceClient that takes its pushed sessions from the platform."""
    from exovoice.reference.net.simplatform import Platform
    from exovoice.reference.net.sipnet import SipNet
    from exovoice.reference.sdk.sip_client import SipVoiceClient

    made = []

    def make(name: str, device_id: str):
        device = world["backend"].push_channel.register(name, device_id)
        device.pending()  # forget earlier pushes
        token = world["api"].token(name, device_id).json()["subscriber_token"]["access_token"]
        trace = tmp_path / f"callee{len(made)}.jsonl"
        net = SipNet(world["server"].uri, sessions_url=world["server"].ready["api_url"])
        client = SipVoiceClient(net, trace=trace, platform=Platform(secret=world["secret"]))
        made.append(client)
        rec = Listener()
        client.setEventListener(rec)
        client.getCallController().setCallListener(rec)
        client.initialize(hostname="127.0.0.1", subscriberName=name, subscriberToken=token)
        rec.wait("onInitializationSuccess")
        return client, rec, trace, device

    yield make
    for client in made:
        client.close()


def ended_cdr(world, call_sid: str) -> dict:
    return world["server"].expect(lambda e: e["event"] == "call-ended"
                                  and e["cdr"]["call_sid"] == call_sid, 10)["cdr"]


def caller_token(world) -> str:
    resp = world["api"].token("alice", "alice-phone")
    return resp.json()["subscriber_token"]["access_token"]


def relay_next_push(client, device, name: str) -> None:
    """What the app does with a push: relay it when it is for the signed-in subscriber."""
    from exovoice.reference.backend.pushchannel import app_should_relay, relay_data

    push = device.receive(timeout=5)
    assert app_should_relay(push, name), push
    assert client.relaySessionData(relay_data(push)) is True


def test_callee_sdk_takes_the_session_and_is_bridged(world, callee_for):
    """The whole incoming path over real SIP: a caller (a peer process with alice's token)
    dials the exophone; Dial Whom routes to erin (no configured URI), the push reaches erin's
    device, the app relays it, erin's SDK takes the session, the platform INVITEs erin's
    endpoint, erin answers, both legs are bridged, the caller hangs up."""
    world["backend"].routing.by_custom_field["toerin"] = "erin"
    world["api"].create([{"subscriber_name": "erin"}])
    client, rec, trace, device = callee_for("erin", "erin-phone")
    caller = world["bob"]  # any SIP party can be the caller: the token is what counts
    caller.send("call", uri=f"{EXOPHONE}@127.0.0.1:{world['server'].ready['sip_port']}",
                   headers={"X-Exotel-Access-Token": caller_token(world),
                            "X-Exotel-Message": "toerin"})
    relay_next_push(client, device, "erin")
    call = rec.wait("onIncomingCall")[0]
    assert call.getCallDetails().remoteId == "alice"
    sid = server_event(world, "taken")["call_sid"]
    server_event(world, "callee-invite", call_sid=sid)
    call.answer()
    rec.wait("onCallEstablished")
    server_event(world, "bridged")
    time.sleep(0.5)
    stats = call.getStatistics()
    assert stats.packetsReceived > 0, stats  # audio from the caller, through the bridge
    caller.send("hangup")
    rec.wait("onCallEnded")
    assert call.getCallDetails().callEndReason == CallEndReason.REMOTE_HANGUP
    cdr = ended_cdr(world, sid)
    assert cdr["status"] == "completed" and cdr["callee"] == "erin"
    verdict = judge(client, trace)
    assert verdict.conformant is True, verdict.violations


def test_callee_declines_before_the_invite_arrives(world, callee_for):
    """hangup() on the incoming call at once: the SDK ends it for the app, and the platform's
    INVITE (after the take) is refused, so the caller hears busy."""
    world["backend"].routing.by_custom_field["tofrank"] = "frank"
    world["api"].create([{"subscriber_name": "frank"}])
    client, rec, trace, device = callee_for("frank", "frank-phone")
    world["bob"].send("call", uri=f"{EXOPHONE}@127.0.0.1:{world['server'].ready['sip_port']}",
                         headers={"X-Exotel-Access-Token": caller_token(world),
                                  "X-Exotel-Message": "tofrank"})
    relay_next_push(client, device, "frank")
    call = rec.wait("onIncomingCall")[0]
    call.hangup()
    rec.wait("onCallEnded")
    cdr = ended_cdr(world, server_event(world, "routed", remote_id="frank")["call_sid"])
    assert cdr["status"] in ("busy", "failed"), cdr
    verdict = judge(client, trace)
    assert verdict.conformant is True, verdict.violations


def test_take_refusals(world):
    """The take endpoint: a session nobody waits for is 404, no bearer token 401, a contact
    that is not a SIP URI 400."""
    from exovoice.reference.wire.http import request

    url = world["server"].ready["api_url"] + "/sessions/nosuch/take"
    got = request("POST", url, body={"contact": "sip:x@127.0.0.1:5"},
                  headers={"Authorization": f"Bearer {caller_token(world)}"})
    assert got.status == 404, got.body
    assert request("POST", url, body={"contact": "sip:x@127.0.0.1:5"}).status == 401
    bad = request("POST", url, body={"contact": "tel:1"},
                  headers={"Authorization": "Bearer x"})
    assert bad.status == 400 and "contact" in bad.json()["message"]


def test_media_faults_toward_the_caller(world, client_for):
    """The platform's media fault control on a bridged call: an RTP outage toward alice is
    onMediaDisrupted, a re-INVITE onRenewingMedia, RTP again onCallEstablished; the far leg
    (bob) never stops hearing alice meanwhile."""
    client, rec, trace = client_for()
    call = client.getCallController().dial("bob", "hello42")
    rec.wait("onCallEstablished", 8)
    server_event(world, "bridged")
    time.sleep(0.3)
    server = world["server"]
    assert server.send("media", action="pause", toward="caller")["call_sid"]
    rec.wait("onMediaDisrupted", 4)
    server.send("media", action="renew", toward="caller")
    rec.wait("onRenewingMedia", 4)
    server.send("media", action="resume", toward="caller")
    rec.wait("onCallEstablished", 4, count=2)
    assert call.getCallState().value == "ESTABLISHED"
    server.send("media", action="pause", toward="caller", seconds=1.0)  # resumes by itself
    rec.wait("onMediaDisrupted", 4, count=2)
    rec.wait("onCallEstablished", 4, count=3)
    with pytest.raises(AssertionError, match="seconds"):
        server.send("media", action="renew", toward="caller", seconds=1.0)
    with pytest.raises(AssertionError, match="media fault"):
        server.send("media", action="explode")
    call.hangup()
    rec.wait("onCallEnded")
    verdict = judge(client, trace)
    assert verdict.conformant is True, verdict.violations


def test_nobody_answers_the_callee(world, callee_for):
    """max_ringing_duration runs out while erin's phone rings (the platform's ring timeout
    control): the caller gets 408, and erin's SDK, whose CANCEL says cause=408, ends the call
    with TIMEOUT rather than REMOTE_HANGUP."""
    world["backend"].routing.by_custom_field["togina"] = "gina"
    world["api"].create([{"subscriber_name": "gina"}])
    client, rec, trace, device = callee_for("gina", "gina-phone")
    caller = world["bob"]
    far = caller.send("call", uri=f"{EXOPHONE}@127.0.0.1:{world['server'].ready['sip_port']}",
                      headers={"X-Exotel-Access-Token": caller_token(world),
                               "X-Exotel-Message": "togina"})["call"]
    relay_next_push(client, device, "gina")
    call = rec.wait("onIncomingCall")[0]
    sid = server_event(world, "routed", remote_id="gina")["call_sid"]
    server_event(world, "callee-invite", call_sid=sid)
    assert world["server"].send("ring_timeout")["call_sid"] == sid
    rec.wait("onCallEnded")
    assert call.getCallDetails().callEndReason == CallEndReason.TIMEOUT
    assert caller.expect(lambda e: e.get("call") == far and e.get("state") == "DISCONNECTED"
                         )["code"] == 408
    assert ended_cdr(world, sid)["status"] == "no-answer"
    with pytest.raises(AssertionError, match="no call is ringing"):
        world["server"].send("ring_timeout")
    verdict = judge(client, trace)
    assert verdict.conformant is True, verdict.violations
