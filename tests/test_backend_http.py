"""The platform's outbound Dial Whom and push calls against the sample customer backend,
over real HTTP on 127.0.0.1, and the local push channel."""

from __future__ import annotations

import json
import queue
import socket
from datetime import datetime

import pytest

from exovoice.reference.backend import (
    CustomerBackend,
    PushChannel,
    RoutingTable,
    app_should_relay,
    relay_data,
)
from exovoice.reference.net.simplatform import Platform as SimPlatform
from exovoice.reference.platform import (
    IST,
    Account,
    DialWhomFailure,
    DialWhomResult,
    ExotelPlatform,
    ManualClock,
    dial_whom,
    parse_dial_whom,
    push,
)
from exovoice.reference.wire.http import request

SID = "acme1"
# the guide's example: Sat, 23 Nov 2019 22:00:37 (IST)
GUIDE_TIME = datetime(2019, 11, 23, 22, 0, 37, tzinfo=IST).timestamp()


@pytest.fixture
def channel():
    return PushChannel()


@pytest.fixture
def backend(channel, no_leaks):
    routing = RoutingTable(by_caller={"alice": "bob", "carol": ["+918047112327"]},
                           by_custom_field={"order42": "dave", "pstn": ["08012345678"],
                                            "mixed": ["sip:bob", "+918047112327"]})
    with CustomerBackend(routing, channel, api_key="pk", api_token="p@ss:w/rd") as b:
        port = b.address[1]
        yield b
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def clock():
    return ManualClock(GUIDE_TIME)


@pytest.fixture
def platform(backend, clock):
    account = Account(SID, "k", "t", sip_exophone="sip:08040408080",
                      dial_whom_url=backend.dial_whom_url, push_url=backend.push_url)
    with ExotelPlatform([account], clock=clock) as p:
        yield p


# --- Dial Whom ---------------------------------------------------------------------------------
def test_dial_whom_round_trip_without_custom_field(platform, backend):
    result = platform.dial_whom("743ddcf5a0552050bc37b6d0ff9613bn", "sip:alice",
                                "sip:08040408080")
    assert isinstance(result, DialWhomResult) and result.ok
    assert result.remote_id == "bob" and result.numbers == ["sip:bob"]
    assert result.max_ringing_duration == 30 and result.max_conversation_duration == 3600
    assert result.outgoing_phone_number == "08080808080" and result.record is False
    assert result.recording_channels == "dual" and result.fetch_after_attempt is False
    sent = backend.dial_whom_requests[-1]
    assert sent == {
        "CallSid": "743ddcf5a0552050bc37b6d0ff9613bn", "CallFrom": "sip:alice",
        "CallTo": "sip:08040408080", "CallStatus": "ringing", "Direction": "incoming",
        "Created": "Sat, 23 Nov 2019 22:00:37", "DialCallDuration": "0",
        "StartTime": "2019-11-23 22:00:37", "EndTime": "1970-01-01 05:30:00",
        "CallType": "call-attempt", "DialWhomNumber": "", "flow_id": "249196",
        "tenant_id": "113828", "From": "sip:alice", "To": "sip:08040408080",
        "CurrentTime": "2019-11-23 22:00:37"}
    assert "CustomField" not in sent
    assert result.query == sent


def test_dial_whom_round_trip_with_custom_field(platform, backend, clock):
    clock.advance(5)
    result = platform.dial_whom("cs2", "sip:alice", "sip:08040408080", "order42",
                                start_time=GUIDE_TIME)
    assert result.ok and result.remote_id == "dave"  # CustomField routes before the caller
    sent = backend.dial_whom_requests[-1]
    assert sent["CustomField"] == "order42"
    assert sent["StartTime"] == "2019-11-23 22:00:37"
    assert sent["CurrentTime"] == "2019-11-23 22:00:42"
    # an unrouted CustomField falls back to the caller
    assert platform.dial_whom("cs3", "sip:alice", "sip:0804", "nothing").remote_id == "bob"


@pytest.mark.parametrize("call_from, custom, why", [
    ("sip:carol", None, "not sip:"),  # a PSTN destination
    ("sip:alice", "pstn", "not sip:"),
    ("sip:alice", "mixed", "intermixing"),  # SIP and PSTN mixed
    ("sip:nobody", None, "HTTP 404"),  # the backend has no callee
])
def test_dial_whom_failures(platform, call_from, custom, why):
    result = platform.dial_whom("cs9", call_from, "sip:08040408080", custom)
    assert isinstance(result, DialWhomFailure) and not result.ok
    assert why in result.reason and "\n" not in result.reason


def test_dial_whom_unreachable_and_bad_query(backend):
    port = _free_port()
    down = dial_whom(f"http://127.0.0.1:{port}/dial", "cs", "sip:a", "sip:b", timeout=2)
    assert not down.ok and down.http_status is None and "unreachable" in down.reason
    # the backend validates the query itself
    resp = request("GET", backend.dial_whom_url + "?CallSid=x&CallTo=sip:1")
    assert resp.status == 400 and "CallFrom" in resp.json()["message"]
    resp = request("GET", backend.dial_whom_url + "?CallSid=x&CallSid=y&CallFrom=a&CallTo=b")
    assert resp.status == 400
    assert request("POST", backend.dial_whom_url, body={}).status == 405
    assert request("GET", backend.base_url + "/elsewhere").status == 404


def test_parse_dial_whom_shapes():
    guide = {"fetch_after_attempt": False, "destination": {"numbers": ["sip:1234567890"]},
             "outgoing_phone_number": "08080808080", "record": False,
             "recording_channels": "dual", "max_ringing_duration": 30,
             "max_conversation_duration": 3600, "request_id": "2e48", "method": "GET",
             "http_code": 200, "code": None, "error_data": None, "status": None}
    assert parse_dial_whom(200, json.dumps(guide).encode()).remote_id == "1234567890"
    wrapped = json.dumps({"response": guide}).encode()
    assert parse_dial_whom(200, wrapped).remote_id == "1234567890"
    plain = parse_dial_whom(200, b"sip:bob\n")
    assert plain.ok and plain.remote_id == "bob" and plain.max_ringing_duration == 30
    minimal = parse_dial_whom(200, b'{"destination": {"numbers": ["sip:bob"]}}')
    assert minimal.ok and minimal.max_conversation_duration == 3600
    bad = {
        b"": "neither JSON", b"[]": "not a JSON object", b"tel:+9180": "neither JSON",
        b'{"destination": {"numbers": []}}': "destination.numbers",
        b'{"destination": {"numbers": ["sip:bob"]}, "record": "false"}': "record",
        b'{"destination": {"numbers": ["sip:bob"]}, "max_ringing_duration": 0}': "max_ringing",
        b'{"destination": {"numbers": ["sip:"]}}': "non-empty",
        b'{"destination": {"numbers": ["sip:bo b"]}}': "alphanumeric",
    }
    for body, why in bad.items():
        out = parse_dial_whom(200, body)
        assert not out.ok and why in out.reason, (body, out.reason)
    assert not parse_dial_whom(201, json.dumps(guide).encode()).ok
    assert not parse_dial_whom(500, b"").ok


def test_no_dial_whom_or_push_url_configured(no_leaks):
    with ExotelPlatform([Account(SID, "k", "t")]) as p:
        assert not p.dial_whom("cs", "sip:a", "sip:b").ok
        assert not p.push("bob", "x.y.z").ok


# --- push --------------------------------------------------------------------------------------
def test_push_round_trip_reaches_the_right_device_only(platform, backend, channel):
    bob_phone = channel.register("bob", "devB")
    bob_tablet = channel.register("bob", "devB2")
    alice_phone = channel.register("alice", "devA")
    payload = platform.issue_push_payload("bob", "alice", "sess1")
    out = platform.push("bob", payload)
    assert out.ok and out.http_status == 200
    for device in (bob_phone, bob_tablet):
        msg = device.receive(timeout=1)
        assert msg == {"subscriberName": "bob", "payload": payload, "payloadVersion": 1}
        assert app_should_relay(msg, "bob")
    with pytest.raises(queue.Empty):
        alice_phone.receive(timeout=0.05)
    claims, expired = platform.read_push_payload(payload)
    assert claims["callerId"] == "alice" and claims["sessionId"] == "sess1"
    assert claims["sub"] == "bob" and not expired
    assert backend.push_requests[-1]["subscriberName"] == "bob"


def test_push_payload_expires_on_the_platform_clock(platform, clock):
    payload = platform.issue_push_payload("bob", "alice")
    clock.advance(30)
    assert platform.read_push_payload(payload)[1] is True


def test_push_failures(platform, backend, channel):
    channel.register("bob", "devB")
    payload = platform.issue_push_payload("bob", "alice")
    wrong = push(backend.push_url_with("pk", "nope"), "bob", payload, 1)
    assert not wrong.ok and wrong.http_status == 401
    no_creds = push(backend.base_url + backend.push_path, "bob", payload, 1)
    assert not no_creds.ok and no_creds.http_status == 401
    nobody = platform.push("zed", payload)  # no device registered
    assert not nobody.ok and nobody.http_status == 404 and "no device" in nobody.reason
    down = push(f"http://u:p@127.0.0.1:{_free_port()}/push", "bob", payload, 1, timeout=2)
    assert not down.ok and down.http_status is None
    assert channel.device("devB").pending() == []
    # malformed bodies, with good credentials
    url = backend.push_url
    for body in ({"subscriberName": "bob", "payload": payload},
                 {"subscriberName": "bob", "payload": payload, "payloadVersion": True},
                 {"subscriberName": "", "payload": payload, "payloadVersion": 1},
                 {"subscriberName": "bob", "payload": 7, "payloadVersion": 1},
                 ["bob"]):
        assert request("POST", url, body=body).status == 400, body
    assert request("GET", url).status == 405
    assert channel.device("devB").pending() == []


def test_app_drops_a_push_for_another_subscriber(platform, channel):
    # alice signed out on the shared phone and bob signed in; the stale mapping remains
    phone = channel.register("alice", "shared")
    channel.register("bob", "shared")
    assert platform.push("alice", platform.issue_push_payload("alice", "carol")).ok
    msg = phone.receive(timeout=1)
    assert not app_should_relay(msg, "bob")
    assert app_should_relay(msg, "alice")
    assert not app_should_relay(msg, None)
    assert not app_should_relay("junk", "alice")
    channel.unregister("alice", "shared")
    assert not platform.push("alice", platform.issue_push_payload("alice", "carol")).ok


def test_relayed_push_is_readable_by_the_reference_client_platform(backend, channel):
    """Same key, same claim names: exovoice.reference.net.simnet reads what this platform signs."""
    with ExotelPlatform([Account(SID, "k", "t", push_url=backend.push_url)]) as p:
        phone = channel.register("bob", "devB")
        assert p.push("bob", p.issue_push_payload("bob", "alice", "sess7")).ok
        relayed = relay_data(phone.receive(timeout=1))
        read = SimPlatform(secret=p.key(SID)).read_push(relayed)
        assert (read.caller_id, read.session_id, read.stale) == ("alice", "sess7", False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
