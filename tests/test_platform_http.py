"""The simulated platform's Subscriber Management API and tokens, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import socket
import urllib.error
import urllib.request

import pytest

from exovoice.reference.platform import (
    Account,
    CallDetailRecord,
    ExotelPlatform,
    ManualClock,
    SubscriberApi,
    new_call_sid,
)
from exovoice.reference.wire.http import basic_auth_header, request
from exovoice.reference.wire.tokens import LEEWAY, sign
from exovoice.spec.vocabulary import ErrorType

SID, KEY, TOKEN = "acme1", "apikey1", "apitoken1"
NOVOIP = "novoip1"


@pytest.fixture
def clock():
    return ManualClock(1_700_000_000.0)


@pytest.fixture
def platform(clock, no_leaks):
    accounts = [Account(SID, KEY, TOKEN), Account(NOVOIP, "k2", "t2", voip_enabled=False)]
    with ExotelPlatform(accounts, clock=clock) as p:
        port = p.address[1]
        yield p
    with socket.socket() as s:  # the port is closed
        assert s.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def api(platform):
    return SubscriberApi(platform.api_url(SID), KEY, TOKEN)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def names(n: int) -> list[dict]:
    return [{"subscriber_name": f"user{i}"} for i in range(n)]


def assert_error(resp, status: int) -> dict:
    assert resp.status == status, (resp.status, resp.body)
    body = resp.json()
    assert isinstance(body["message"], str) and body["message"]
    assert "\n" not in body["message"]
    assert body["http_code"] == status
    return body


# --- create ------------------------------------------------------------------------------------
def test_create_more_than_ten_is_400(api):
    assert_error(api.create(names(11)), 400)
    assert api.list().json()["metadata"]["total"] == 0
    assert api.create(names(10)).status == 207


def test_create_answers_207_with_a_result_per_item(api):
    resp = api.create([{"subscriber_name": "alice", "display_name": "Alice A"},
                       {"subscriber_name": "bad_name!"},
                       {"subscriber_name": "bob", "custom_field": "vip"}])
    assert resp.status == 207
    items = resp.json()["response"]
    assert [i["code"] for i in items] == [201, 400, 201]
    assert items[0]["subscriber"]["display_name"] == "Alice A"
    assert items[2]["subscriber"]["custom_field"] == "vip"
    assert items[1]["subscriber_name"] == "bad_name!"
    assert "alphanumeric" in items[1]["error_data"]["message"]
    # a name already taken, a name too long, a duplicate inside the batch, an unknown field
    resp = api.create([{"subscriber_name": "alice"}, {"subscriber_name": "a" * 17},
                       {"subscriber_name": "carol"}, {"subscriber_name": "carol"},
                       {"subscriber_name": "dave", "subscriberName": "x"}])
    assert [i["code"] for i in resp.json()["response"]] == [409, 400, 201, 409, 400]


@pytest.mark.parametrize("body", [[], {"name": "x"}, "alice", 3])
def test_create_malformed_body_is_400(api, body):
    assert_error(api.create(body), 400)


def test_malformed_json_is_400(platform):
    url = platform.api_url(SID) + "/subscribers"
    req = urllib.request.Request(url, data=b"[{not json", method="POST")
    req.add_header("Authorization", basic_auth_header(KEY, TOKEN))
    try:
        urllib.request.urlopen(req, timeout=5)
        raise AssertionError("expected 400")
    except urllib.error.HTTPError as e:
        assert e.code == 400
        assert "malformed JSON" in json.loads(e.read())["message"]
        e.close()


# --- read, list, update, delete ----------------------------------------------------------------
def test_get_list_update_delete(api, clock):
    api.create(names(10))
    api.create([{"subscriber_name": f"more{i}"} for i in range(5)])
    got = api.get("user3")
    assert got.status == 200 and got.json()["subscriber"]["subscriber_name"] == "user3"
    assert got.json()["subscriber"]["status"] == "active"
    assert_error(api.get("nobody"), 404)
    assert_error(api.get("bad-name"), 400)

    page = api.list(page_size=4, offset=0).json()
    assert page["metadata"] == {"total": 15, "offset": 0, "page_size": 4, "count": 4,
                                "next_offset": 4}
    assert [s["subscriber_name"] for s in page["subscribers"]] == [f"user{i}" for i in range(4)]
    last = api.list(page_size=4, offset=12).json()
    assert last["metadata"]["count"] == 3 and last["metadata"]["next_offset"] is None
    assert api.list(offset=100).json()["subscribers"] == []
    assert api.list(page_size=100).json()["metadata"]["count"] == 15
    assert_error(api.list(page_size=101), 400)
    assert_error(api.list(page_size=0), 400)
    assert_error(api.list(offset=-1), 400)
    assert_error(api._call("GET", "subscribers?offset=x"), 400)
    assert_error(api.list(status="sleeping"), 400)

    clock.advance(60)
    upd = api.update("user1", status="inactive", custom_field="gold")
    assert upd.status == 200
    sub = upd.json()["subscriber"]
    assert sub["status"] == "inactive" and sub["custom_field"] == "gold"
    assert sub["date_updated"] != sub["date_created"]
    assert api.get("user1").json()["subscriber"]["custom_field"] == "gold"
    inactive = api.list(status="inactive").json()
    assert [s["subscriber_name"] for s in inactive["subscribers"]] == ["user1"]
    assert api.list(status="active").json()["metadata"]["total"] == 14
    assert_error(api.update("user1", status="paused"), 400)
    assert_error(api.update("user1", colour="red"), 400)
    assert_error(api.update("user1"), 400)
    assert_error(api.update("ghost", status="active"), 404)

    delete = api.delete("user2")
    assert delete.status == 204 and delete.body == b""
    assert_error(api.delete("user2"), 404)
    assert_error(api.get("user2"), 404)
    assert api.list(page_size=100).json()["metadata"]["total"] == 14


# --- auth and routing errors -------------------------------------------------------------------
def test_401_403_404_405(platform, api):
    api.create(names(1))
    url = platform.api_url(SID)
    assert_error(SubscriberApi(url, None, None).get("user0"), 401)
    assert_error(SubscriberApi(url, KEY, "wrong").get("user0"), 401)
    assert_error(SubscriberApi(url, "k2", "t2").get("user0"), 401)  # another account's keys
    resp = request("GET", url + "/subscribers", auth=None)
    assert resp.status == 401
    # VoIP not enabled on the account: 403 with good credentials, 401 still first
    novoip = SubscriberApi(platform.api_url(NOVOIP), "k2", "t2")
    assert_error(novoip.token("user0", "dev1"), 403)
    assert_error(novoip.create(names(1)), 403)
    assert_error(SubscriberApi(platform.api_url(NOVOIP), "k2", "x").create(names(1)), 401)
    # unknown account, unknown path
    assert_error(SubscriberApi(platform.api_url("nosuch"), KEY, TOKEN).get("user0"), 404)
    assert_error(request("GET", platform.base_url + "/v2/accounts", auth=(KEY, TOKEN)), 404)
    assert_error(api._call("GET", "widgets"), 404)
    assert_error(request("GET", platform.base_url + "/", auth=(KEY, TOKEN)), 404)
    # wrong method
    wrong = api._call("PATCH", "subscribers/user0", {"status": "inactive"})
    assert_error(wrong, 405)
    assert_error(api._call("GET", "subscriber-token"), 405)
    assert_error(api._call("POST", "subscribers/user0", {}), 405)


# --- tokens ------------------------------------------------------------------------------------
def issue(api, name="alice", device="devA", platform_name="android") -> dict:
    resp = api.token(name, device, platform_name)
    assert resp.status == 200, resp.body
    return resp.json()["subscriber_token"]


def test_token_issue_and_verify(platform, api, clock):
    api.create([{"subscriber_name": "alice"}, {"subscriber_name": "bob"}])
    tok = issue(api)
    assert set(tok) == {"refresh_token", "access_token"}
    access, refresh = tok["access_token"], tok["refresh_token"]
    claims = platform.token_claims(access)
    assert claims["sub"] == "alice" and claims["device_id"] == "devA"
    assert claims["exp"] - claims["iat"] == 30 * 60
    assert platform.token_claims(refresh)["exp"] - claims["iat"] == 24 * 3600

    ok = (True, None)
    invalid = (False, ErrorType.AUTHENTICATION_INVALID_TOKEN)
    expired = (False, ErrorType.AUTHENTICATION_EXPIRED_TOKEN)
    assert platform.verify_access_token(access, "devA") == ok
    assert platform.verify_access_token(access, "devA", "alice") == ok
    assert platform.verify_access_token(access, "devB") == invalid  # wrong device
    assert platform.verify_access_token(access, "devA", "bob") == invalid
    assert platform.verify_access_token(refresh, "devA") == invalid  # not an access token
    assert platform.verify_token(refresh, "devA", kind="refresh") == ok
    assert platform.verify_access_token("not.a.jwt", "devA") == invalid
    assert platform.verify_access_token(None, "devA") == invalid

    # tampering: claims changed (another device) with the signature kept
    head, body, sig = access.split(".")
    forged = dict(json.loads(_unb64(body)), device_id="devX")
    tampered = ".".join([head, _b64(json.dumps(forged).encode()), sig])
    assert platform.verify_access_token(tampered, "devX") == invalid
    flipped = access[:-2] + ("AA" if access[-2:] != "AA" else "BB")
    assert platform.verify_access_token(flipped, "devA") == invalid
    assert platform.verify_access_token(sign(platform.token_claims(access), b"another key, 32 bytes long......"),
                                        "devA") == invalid

    # expiry on the injected clock, with the leeway
    clock.advance(30 * 60 + LEEWAY - 1)
    assert platform.verify_access_token(access, "devA") == ok
    clock.advance(1)
    assert platform.verify_access_token(access, "devA") == expired
    assert platform.verify_token(refresh, "devA", kind="refresh") == ok
    clock.advance(24 * 3600)
    assert platform.verify_token(refresh, "devA", kind="refresh") == expired
    fresh = issue(api)["access_token"]
    assert fresh != access and platform.verify_access_token(fresh, "devA") == ok

    # revoked, deactivated, deleted and recreated subscribers: old tokens are invalid
    platform.revoke_tokens(SID, "alice")
    assert platform.verify_access_token(fresh, "devA") == invalid
    bob = issue(api, "bob", "devB", "ios")["access_token"]
    api.update("bob", status="inactive")
    assert platform.verify_access_token(bob, "devB") == invalid
    assert_error(api.token("bob", "devB"), 403)
    api.update("bob", status="active")
    assert platform.verify_access_token(bob, "devB") == ok
    api.delete("bob")
    assert platform.verify_access_token(bob, "devB") == invalid
    api.create([{"subscriber_name": "bob"}])
    assert platform.verify_access_token(bob, "devB") == invalid


def test_token_lifetimes_are_configurable(clock, no_leaks):
    with ExotelPlatform([Account(SID, KEY, TOKEN)], clock=clock, access_ttl=5,
                        refresh_ttl=50) as p:
        api = SubscriberApi(p.api_url(SID), KEY, TOKEN)
        api.create([{"subscriber_name": "alice"}])
        tok = issue(api)
        clock.advance(5 + LEEWAY)
        assert p.verify_access_token(tok["access_token"], "devA")[1] is \
            ErrorType.AUTHENTICATION_EXPIRED_TOKEN
        assert p.verify_token(tok["refresh_token"], "devA", kind="refresh") == (True, None)


def test_token_request_errors(api):
    api.create([{"subscriber_name": "alice"}])
    assert_error(api.token("al ice", "devA"), 400)
    assert_error(api.token("a" * 17, "devA"), 400)
    assert_error(api.token("alice", ""), 400)
    assert_error(api.token("alice", "devA", "symbian"), 400)
    assert_error(api._call("POST", "subscriber-token", ["alice"]), 400)
    assert_error(api._call("POST", "subscriber-token",
                           {"subscriber_name": "alice", "device_id": "d", "platform": "ios",
                            "extra": 1}), 400)
    assert_error(api.token("nobody", "devA"), 404)


# --- call detail records -----------------------------------------------------------------------
def test_cdr_store_and_dump(platform, api, tmp_path):
    sid = new_call_sid()
    assert len(sid) == 32
    rec = platform.cdrs.add(CallDetailRecord(sid, SID, "alice", "sip:08040408080",
                                             custom_field="order42", created=10.0))
    platform.cdrs.update(sid, status="in-progress", answered_time=20.0, callee="bob")
    platform.cdrs.note(sid, "answered", 20.0)
    platform.cdrs.update(sid, status="completed", ended_time=95.5, end_reason="REMOTE_HANGUP")
    assert rec.duration == 75.5
    with pytest.raises(TypeError):
        platform.cdrs.update(sid, colour="red")
    with pytest.raises(ValueError):
        platform.cdrs.add(CallDetailRecord(sid, SID, "x", "y"))
    dumped = json.loads(platform.cdrs.to_json())
    assert dumped[0]["callee"] == "bob" and dumped[0]["duration"] == 75.5
    assert dumped[0]["events"] == [{"event": "answered", "at": 20.0}]
    path = tmp_path / "cdr.json"
    platform.cdrs.dump(str(path))
    assert json.loads(path.read_text()) == dumped
    calls = api._call("GET", "calls").json()["calls"]
    assert [c["call_sid"] for c in calls] == [sid]
    assert api._call("GET", f"calls/{sid}").json()["call"]["status"] == "completed"
    assert_error(api._call("GET", "calls/nosuchcall"), 404)


def test_close_is_idempotent_and_frees_the_port(no_leaks):
    p = ExotelPlatform([Account(SID, KEY, TOKEN)]).start()
    port = p.address[1]
    assert request("GET", p.api_url(SID) + "/subscribers", auth=(KEY, TOKEN)).status == 200
    p.close()
    p.close()
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_concurrent_requests(platform, api):
    """The threaded server keeps the store consistent under parallel requests."""
    from concurrent.futures import ThreadPoolExecutor

    def create(i):
        return api.create([{"subscriber_name": f"p{i}"}, {"subscriber_name": "shared"}])

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(create, range(16)))
    codes = [r.json()["response"][1]["code"] for r in results]
    assert codes.count(201) == 1 and codes.count(409) == 15
    assert api.list(page_size=100).json()["metadata"]["total"] == 17
