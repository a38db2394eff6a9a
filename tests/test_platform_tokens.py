"""The platform's token checks as a device meets them, over real HTTP: each way a token is
refused, the guide's ErrorType it is refused with (guide 6, 9.3 b) and the HTTP status; a
device renewing its access token; the OpenAPI document against the guide's endpoints and
statuses (guide 5.2.1, 9.3 a); keep-alive."""

from __future__ import annotations

import http.client
import json
import time
from typing import Any

import jwt
import pytest

from exovoice.reference.platform import Account, ExotelPlatform, ManualClock, SubscriberApi
from exovoice.reference.platform.server import AUDIENCE, ISSUER, account_key
from exovoice.reference.wire.http import request
from exovoice.reference.wire.tokens import LEEWAY, sign

SID, KEY, TOKEN = "acme1", "apikey1", "apitoken1"
OTHER = "other1"
EXPIRED = "AUTHENTICATION_EXPIRED_TOKEN"
INVALID = "AUTHENTICATION_INVALID_TOKEN"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(time.time())


@pytest.fixture
def platform(clock):
    secret = b"s" * 32
    with ExotelPlatform([Account(SID, KEY, TOKEN), Account(OTHER, "k2", "t2")], clock=clock,
                        secret=secret) as p:
        p.test_secret = secret  # type: ignore[attr-defined]
        SubscriberApi(p.api_url(SID), KEY, TOKEN).create([{"subscriber_name": "alice"}])
        SubscriberApi(p.api_url(OTHER), "k2", "t2").create([{"subscriber_name": "alice"}])
        yield p


@pytest.fixture
def tokens(platform) -> dict[str, str]:
    resp = SubscriberApi(platform.api_url(SID), KEY, TOKEN).token("alice", "devA")
    assert resp.status == 200, resp.body
    return resp.json()["subscriber_token"]


def register(platform: ExotelPlatform, token: Any, device: str = "devA") -> Any:
    return request("POST", platform.api_url(SID) + "/registrations",
                   body={"subscriber_name": "alice", "device_id": device},
                   headers={"Authorization": f"Bearer {token}"})


def refused(resp: Any) -> tuple[int | None, str | None]:
    body = resp.json()
    assert "\n" not in body["message"] and "eyJ" not in body["message"]  # redacted, one line
    return resp.status, body["error_data"].get("error_type")


def claims_of(platform: ExotelPlatform, token: str) -> dict[str, Any]:
    return platform.token_claims(token)


def resign(platform: ExotelPlatform, token: str, key: bytes | None = None, **changes: Any
           ) -> str:
    claims = {**claims_of(platform, token), **changes}
    return sign(claims, key if key is not None else platform.key(SID))


def test_a_valid_token_registers(platform, tokens):
    resp = register(platform, tokens["access_token"])
    assert resp.status == 200, resp.body
    assert resp.json()["subscriber_name"] == "alice"


# --- each refusal: (HTTP status, ErrorType) -----------------------------------------------------
def test_expired_past_the_leeway(platform, tokens, clock):
    access = tokens["access_token"]
    clock.advance(30 * 60 + LEEWAY - 1)  # past exp, within the leeway: still accepted
    assert register(platform, access).status == 200
    clock.advance(1)
    assert refused(register(platform, access)) == (401, EXPIRED)


def test_not_yet_valid(platform, tokens, clock):
    future = resign(platform, tokens["access_token"], nbf=clock() + LEEWAY + 60)
    assert refused(register(platform, future)) == (401, INVALID)
    within = resign(platform, tokens["access_token"], nbf=clock() + LEEWAY - 1)
    assert register(platform, within).status == 200  # the leeway forgives skew


def test_tampered(platform, tokens):
    head, body, sig = tokens["access_token"].split(".")
    claims = json.loads(jwt.utils.base64url_decode(body))
    forged = jwt.utils.base64url_encode(json.dumps({**claims, "sub": "mallory"}).encode())
    assert refused(register(platform, f"{head}.{forged.decode()}.{sig}")) == (401, INVALID)


def test_wrong_audience(platform, tokens):
    # a refresh token is not an access token, nor is a token meant for anyone else
    assert refused(register(platform, tokens["refresh_token"])) == (401, INVALID)
    other = resign(platform, tokens["access_token"], aud="someone-else")
    assert refused(register(platform, other)) == (401, INVALID)


def test_wrong_issuer(platform, tokens):
    assert ISSUER == "exotel"
    forged = resign(platform, tokens["access_token"], iss="not-exotel")
    assert refused(register(platform, forged)) == (401, INVALID)


@pytest.mark.filterwarnings("ignore:The HMAC key is")
def test_alg_none(platform, tokens):
    claims = claims_of(platform, tokens["access_token"])
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert unsigned.endswith(".")
    assert refused(register(platform, unsigned)) == (401, INVALID)
    hs384 = jwt.encode(claims, platform.key(SID), algorithm="HS384")  # the right key, wrong alg
    assert refused(register(platform, hs384)) == (401, INVALID)


def test_another_accounts_key(platform, tokens):
    other_key = account_key(platform.test_secret, OTHER)  # type: ignore[attr-defined]
    assert other_key != platform.key(SID)
    forged = resign(platform, tokens["access_token"], key=other_key)
    assert refused(register(platform, forged)) == (401, INVALID)
    # and a token the other account issued is no token of this one
    theirs = SubscriberApi(platform.api_url(OTHER), "k2", "t2").token("alice", "devA").json()
    assert refused(register(platform, theirs["subscriber_token"]["access_token"])) == (
        401, INVALID)


def test_other_refusals(platform, tokens):
    assert refused(register(platform, tokens["access_token"], device="devB")) == (401, INVALID)
    assert refused(register(platform, "not-a-jwt")) == (401, INVALID)
    resp = request("POST", platform.api_url(SID) + "/registrations",
                   body={"subscriber_name": "alice", "device_id": "devA"})
    assert resp.status == 401  # no bearer token at all
    assert "www-authenticate" in {k.lower() for k in resp.headers}


# --- a device renews ----------------------------------------------------------------------------
def test_refresh_gives_a_new_access_token(platform, tokens, clock):
    url = platform.api_url(SID) + "/subscriber-token/refresh"
    clock.advance(30 * 60 + LEEWAY)  # the access token expired, the refresh token did not
    assert refused(register(platform, tokens["access_token"])) == (401, EXPIRED)
    resp = request("POST", url, body={"refresh_token": tokens["refresh_token"],
                                      "device_id": "devA"})
    assert resp.status == 200, resp.body
    fresh = resp.json()["subscriber_token"]["access_token"]
    assert register(platform, fresh).status == 200
    # an access token is no refresh token; another device's refresh is refused
    wrong = request("POST", url, body={"refresh_token": fresh, "device_id": "devA"})
    assert refused(wrong) == (401, INVALID)
    other = request("POST", url, body={"refresh_token": tokens["refresh_token"],
                                       "device_id": "devB"})
    assert refused(other) == (401, INVALID)
    clock.advance(24 * 3600)
    late = request("POST", url, body={"refresh_token": tokens["refresh_token"],
                                      "device_id": "devA"})
    assert refused(late) == (401, EXPIRED)
    assert request("POST", url, body={"device_id": "devA"}).status == 400


def test_audiences_differ_per_kind():
    assert len(set(AUDIENCE.values())) == len(AUDIENCE)


# --- the OpenAPI document ----------------------------------------------------------------------
GUIDE_ENDPOINTS = {  # guide 5.2.1 / FACTS "Subscriber Management API", 9.3 a
    ("post", "/v2/accounts/{account_sid}/subscribers"): {"207", "400", "401", "403", "404",
                                                          "405"},
    ("get", "/v2/accounts/{account_sid}/subscribers"): {"200", "400", "401", "403", "404"},
    ("get", "/v2/accounts/{account_sid}/subscribers/{subscriber_name}"): {"200", "400", "401",
                                                                          "403", "404"},
    ("put", "/v2/accounts/{account_sid}/subscribers/{subscriber_name}"): {"200", "400", "401",
                                                                          "403", "404"},
    ("delete", "/v2/accounts/{account_sid}/subscribers/{subscriber_name}"): {"204", "401",
                                                                             "403", "404"},
    ("post", "/v2/accounts/{account_sid}/subscriber-token"): {"200", "400", "401", "403",
                                                              "404", "405"},
}


def test_openapi_document_names_the_guides_endpoints_and_statuses(platform):
    resp = request("GET", platform.base_url + "/openapi.json")
    assert resp.status == 200
    doc = resp.json()
    assert doc["openapi"].startswith("3.")
    for (method, path), statuses in GUIDE_ENDPOINTS.items():
        assert path in doc["paths"], path
        op = doc["paths"][path].get(method)
        assert op is not None, f"{method.upper()} {path}"
        assert statuses <= set(op["responses"]), (method, path, set(op["responses"]))
        assert "422" not in op["responses"]  # a body that does not fit is 400 (guide 9.3 a)
    create = doc["paths"]["/v2/accounts/{account_sid}/subscribers"]["post"]
    multi = create["responses"]["207"]["content"]["application/json"]["schema"]["$ref"]
    item = doc["components"]["schemas"][multi.rsplit("/", 1)[1]]["properties"]["response"]
    assert item["items"]["$ref"].endswith("/ItemResult")  # a result per item
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert body["maxItems"] == 10
    err = doc["components"]["schemas"]["ErrorData"]["properties"]
    assert "error_type" in err  # a refused token names its ErrorType


def test_the_served_statuses_match_the_document(platform):
    api = SubscriberApi(platform.api_url(SID), KEY, TOKEN)
    assert api.create([{"subscriber_name": "bob"}, {"subscriber_name": "b@d"}]).status == 207
    assert api._call("PATCH", "subscribers/bob", {}).status == 405
    assert SubscriberApi(platform.api_url(SID), KEY, "wrong").get("bob").status == 401
    assert api.get("nobody").status == 404
    assert api.token("bob", "").status == 400


def test_keep_alive_serves_several_requests_on_one_connection(platform):
    host, port = platform.address
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        socks = set()
        for _ in range(3):
            conn.request("GET", "/openapi.json")
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 200 and resp.version == 11
            assert resp.getheader("connection", "").lower() != "close"
            socks.add(id(conn.sock))
        assert len(socks) == 1  # the same socket answered all three
    finally:
        conn.close()
