"""Interop with a SIP stack nobody here wrote: sipp (Debian package sip-tester) is the caller.

It INVITEs the exophone of a `python -m exovoice.reference.platform.sipserver` process with an
X-Exotel-Access-Token the platform issued over HTTP; the platform asks the customer backend
(this process) for the callee and pushes to bob's device; bob is a reference client (this
process, over real SIP): his app relays the push, his SDK takes the session, the platform
INVITEs him, he answers, the legs are bridged; sipp ACKs, talks ~1 s, hangs up, and bob's
SDK ends the call as the spec says. Scenarios: tests/sipp/*.xml."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from exovoice.reference.sip.endpoint import HAVE_PJSUA2, IMPORT_ERROR

SIPP = shutil.which("sipp")
pytestmark = [
    pytest.mark.skipif(SIPP is None, reason="sipp not installed (apt-get install sip-tester)"),
    pytest.mark.skipif(not HAVE_PJSUA2, reason=f"pjsua2 not importable: {IMPORT_ERROR}"),
]

if HAVE_PJSUA2:
    from exovoice.reference.backend import CustomerBackend, PushChannel
    from exovoice.reference.backend.server import RoutingTable
    from exovoice.reference.platform.client import SubscriberApi
    from exovoice.reference.platform.server import account_key
    from tests.test_platform_sip import ServerProcess
    from tests.test_sipnet import Listener

from bench.sip import free_udp_port  # noqa: E402

SCENARIOS = Path(__file__).resolve().parent / "sipp"
SID, KEY, TOKEN = "exotel1", "apikey", "apitoken"
EXOPHONE = "sip:08040408080"


def run_sipp(scenario: str, server_port: int, token: str, tmp_path: Path
             ) -> subprocess.CompletedProcess:
    """One call (-m 1) from 127.0.0.1 to the exophone; sipp exits 0 iff the call succeeded."""
    number = EXOPHONE.removeprefix("sip:")
    cmd = [SIPP, f"127.0.0.1:{server_port}", "-sf", str(SCENARIOS / scenario),
           "-i", "127.0.0.1", "-p", str(free_udp_port()), "-mp", str(free_udp_port()),
           "-s", number, "-key", "token", token, "-m", "1", "-l", "1",
           "-timeout", "15s", "-timeout_error", "-recv_timeout", "10000",
           "-nostdin", "-trace_err",
           "-error_file", str(tmp_path / "sipp_errors.log"), "-trace_msg",
           "-message_file", str(tmp_path / "sipp_messages.log")]
    try:
        result = subprocess.run(cmd, cwd=tmp_path, stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=25)
    except subprocess.TimeoutExpired as exc:  # subprocess.run killed it
        raise AssertionError(f"sipp did not finish within 25 s: {exc}") from None
    return result


def sipp_failure(result: subprocess.CompletedProcess, tmp_path: Path) -> str:
    logs = "".join(f"\n--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                   for p in sorted(tmp_path.glob("sipp_*.log")))
    return f"sipp exit {result.returncode}\n{result.stdout[-2000:]}{result.stderr[-2000:]}{logs}"


@pytest.fixture(scope="module")
def world():
    channel = PushChannel()
    bob_device = channel.register("bob", "bob-phone")
    backend = CustomerBackend(RoutingTable(by_caller={"alice": "bob"}), channel).start()
    secret = secrets.token_bytes(32)
    server = None
    try:
        server = ServerProcess({  # no callee_uris: the platform waits for bob's SDK
            "account": {"sid": SID, "api_key": KEY, "api_token": TOKEN,
                        "sip_exophone": EXOPHONE, "dial_whom_url": backend.dial_whom_url,
                        "push_url": backend.push_url},
            "secret_hex": secret.hex(), "subscribers": ["alice", "bob"],
            "rate_limit": {"calls": 50}, "max_lifetime": 60})
        api = SubscriberApi(server.ready["api_url"], KEY, TOKEN)
        yield dict(backend=backend, bob_device=bob_device, server=server, api=api,
                   secret=account_key(secret, SID))  # what its tokens are signed with
    finally:
        if server is not None:
            assert server.close() == 0
        backend.close()


@pytest.fixture
def bob(world, tmp_path):
    """bob signed in on a reference client over real SIP, with an app that relays what his
    device receives and answers an incoming call at once."""
    from exovoice.reference.backend.pushchannel import app_should_relay, relay_data
    from exovoice.reference.net.simplatform import Platform
    from exovoice.reference.net.sipnet import SipNet
    from exovoice.reference.sdk.sip_client import SipVoiceClient

    token = world["api"].token("bob", "bob-phone").json()["subscriber_token"]["access_token"]
    net = SipNet(world["server"].uri, sessions_url=world["server"].ready["api_url"])
    trace = tmp_path / "bob.jsonl"
    client = SipVoiceClient(net, trace=trace, platform=Platform(secret=world["secret"]))
    rec = Listener()
    client.setEventListener(rec)
    client.getCallController().setCallListener(rec)
    client.initialize(hostname="127.0.0.1", subscriberName="bob", subscriberToken=token)
    rec.wait("onInitializationSuccess")
    world["bob_device"].pending()
    stop = threading.Event()

    def app() -> None:
        while not stop.is_set():
            try:
                push = world["bob_device"].receive(timeout=0.1)
            except Exception:  # queue.Empty
                continue
            if app_should_relay(push, "bob") and client.relaySessionData(relay_data(push)):
                rec.wait("onIncomingCall")[0].answer()

    thread = threading.Thread(target=app, name="bob-app", daemon=True)
    thread.start()
    try:
        yield client, rec, trace
    finally:
        stop.set()
        thread.join(5)
        client.close()


def alice_token(world) -> str:
    resp = world["api"].token("alice", "alice-phone")
    assert resp.status == 200, resp.body
    return resp.json()["subscriber_token"]["access_token"]


def server_event(world, event: str, timeout: float = 5.0) -> dict:
    return world["server"].expect(lambda e: e["event"] == event, timeout)


def test_sipp_calls_a_reference_client_which_answers_and_is_hung_up_on(world, bob, tmp_path):
    from exovoice.spec.validate.run import Options, judge_file
    from exovoice.spec.vocabulary import CallEndReason

    client, rec, trace = bob
    backend = world["backend"]
    n_dial, n_push = len(backend.dial_whom_requests), len(backend.push_requests)
    result = run_sipp("uac_exophone.xml", world["server"].ready["sip_port"],
                      alice_token(world), tmp_path)
    assert result.returncode == 0, sipp_failure(result, tmp_path)

    query = backend.dial_whom_requests[n_dial]
    assert query["CallFrom"] == "sip:alice" and query["CallTo"] == EXOPHONE
    assert query["CustomField"] == "sipp interop"
    assert backend.push_requests[n_push]["subscriberName"] == "bob"
    taken = server_event(world, "taken")
    sid = server_event(world, "bridged")["call_sid"]
    assert taken["call_sid"] == sid
    # sipp's BYE crossed the bridge: bob's SDK heard the caller hang up
    rec.wait("onCallEnded")
    assert rec.names() == ["onInitializationSuccess", "onIncomingCall", "onCallEstablished",
                           "onCallEnded"]
    details = client.getCallController().getLatestCallDetails()
    assert details.callEndReason == CallEndReason.REMOTE_HANGUP and details.remoteId == "alice"
    cdr = server_event(world, "call-ended")["cdr"]
    assert cdr["call_sid"] == sid
    got = world["api"]._call("GET", f"calls/{sid}")
    assert got.status == 200, got.body
    record = got.json()["call"]
    assert record["status"] == "completed" and record["callee"] == "bob"
    assert record["end_reason"] == "caller-hangup" and record["duration"] > 0.5
    assert client.settle()
    client.close()  # the trace is complete once the client closed
    verdict = judge_file(trace, Options(complete=True))
    assert verdict.conformant is True, verdict.violations


def test_sipp_with_tampered_token_gets_403(world, tmp_path):
    backend = world["backend"]
    n_dial = len(backend.dial_whom_requests)
    head, body, sig = alice_token(world).split(".")
    tampered = ".".join((head, body, ("B" if sig[0] == "A" else "A") + sig[1:]))
    result = run_sipp("uac_exophone_refused.xml", world["server"].ready["sip_port"],
                      tampered, tmp_path)
    assert result.returncode == 0, sipp_failure(result, tmp_path)
    refused = server_event(world, "refused")
    assert refused["code"] == 403 and "AUTHENTICATION_INVALID_TOKEN" in refused["reason"]
    cdr = server_event(world, "call-ended")["cdr"]
    assert cdr["status"] == "failed"
    assert len(backend.dial_whom_requests) == n_dial  # never routed
