"""Interop with a SIP stack nobody here wrote: sipp (Debian package sip-tester) is the caller.

It INVITEs the exophone of a `python -m reference.platform.sipserver` process with an
X-Exotel-Access-Token the platform issued over HTTP; the platform asks the customer backend
(this process) for the callee, pushes, calls a `reference.sip.peer` process, bridges; sipp
ACKs, talks ~1 s, hangs up. Scenarios: tests/sipp/*.xml."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from reference.sip.endpoint import HAVE_PJSUA2, IMPORT_ERROR

SIPP = shutil.which("sipp")
pytestmark = [
    pytest.mark.skipif(SIPP is None, reason="sipp not installed (apt-get install sip-tester)"),
    pytest.mark.skipif(not HAVE_PJSUA2, reason=f"pjsua2 not importable: {IMPORT_ERROR}"),
]

if HAVE_PJSUA2:
    from reference.backend import CustomerBackend, PushChannel
    from reference.backend.server import RoutingTable
    from reference.platform.client import SubscriberApi
    from tests.test_platform_sip import ServerProcess
    from tests.test_sip_loopback import PeerProcess

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
    before = {t.name for t in threading.enumerate()}
    channel = PushChannel()
    bob_device = channel.register("bob", "bob-phone")
    backend = CustomerBackend(RoutingTable(by_caller={"alice": "bob"}), channel).start()
    bob = server = None
    try:
        bob = PeerProcess("--mode", "answer", "--answer-delay", "0.2", "--user", "bob")
        server = ServerProcess({
            "account": {"sid": SID, "api_key": KEY, "api_token": TOKEN,
                        "sip_exophone": EXOPHONE, "dial_whom_url": backend.dial_whom_url,
                        "push_url": backend.push_url},
            "secret_hex": secrets.token_bytes(32).hex(), "subscribers": ["alice", "bob"],
            "callee_uris": {"bob": bob.uri}, "rate_limit": {"calls": 50}, "max_lifetime": 60})
        api = SubscriberApi(server.ready["api_url"], KEY, TOKEN)
        yield dict(backend=backend, bob=bob, bob_device=bob_device, server=server, api=api)
    finally:
        if server is not None:
            assert server.close() == 0
        if bob is not None:
            assert bob.close() == 0
        backend.close()
    assert {t.name for t in threading.enumerate()} <= before, "leaked threads"


def alice_token(world) -> str:
    resp = world["api"].token("alice", "alice-phone")
    assert resp.status == 200, resp.body
    return resp.json()["subscriber_token"]["access_token"]


def server_event(world, event: str, timeout: float = 5.0) -> dict:
    return world["server"].expect(lambda e: e["event"] == event, timeout)


def test_sipp_call_is_bridged_answered_and_hung_up(world, tmp_path):
    backend, bob = world["backend"], world["bob"]
    n_dial, n_push = len(backend.dial_whom_requests), len(backend.push_requests)
    result = run_sipp("uac_exophone.xml", world["server"].ready["sip_port"],
                      alice_token(world), tmp_path)
    assert result.returncode == 0, sipp_failure(result, tmp_path)

    query = backend.dial_whom_requests[n_dial]
    assert query["CallFrom"] == "sip:alice" and query["CallTo"] == EXOPHONE
    assert query["CustomField"] == "sipp interop"
    pushed = backend.push_requests[n_push]
    assert pushed["subscriberName"] == "bob"
    assert world["bob_device"].receive(2)["payload"] == pushed["payload"]
    incoming = bob.expect(lambda e: e["event"] == "incoming")
    assert incoming["headers"]["X-Exotel-Caller"] == "alice"
    bob.state("CONFIRMED")
    # sipp's BYE crossed the bridge: the platform hung up bob's leg
    assert bob.state("DISCONNECTED")["net"] == "net_remote_hangup"
    sid = server_event(world, "bridged")["call_sid"]
    cdr = server_event(world, "call-ended")["cdr"]
    assert cdr["call_sid"] == sid
    got = world["api"]._call("GET", f"calls/{sid}")
    assert got.status == 200, got.body
    record = got.json()["call"]
    assert record["status"] == "completed" and record["callee"] == "bob"
    assert record["end_reason"] == "caller-hangup" and record["duration"] > 0.5


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
