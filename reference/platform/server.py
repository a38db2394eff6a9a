"""The simulated Exotel platform, HTTP side.

`ExotelPlatform(accounts, ...)` keeps the accounts (configured in code), their subscribers,
the tokens it signs, and the call detail records; `start()` serves the Subscriber Management
API on 127.0.0.1 (ephemeral port by default):

    POST   /v2/accounts/<sid>/subscribers            list of <= 10 -> 207, result per item
    GET    /v2/accounts/<sid>/subscribers?status=&page_size=&offset=
    GET    /v2/accounts/<sid>/subscribers/<name>
    PUT    /v2/accounts/<sid>/subscribers/<name>     {status?, custom_field?, display_name?}
    DELETE /v2/accounts/<sid>/subscribers/<name>     204
    POST   /v2/accounts/<sid>/subscriber-token       {platform, device_id, subscriber_name}
    GET    /v2/accounts/<sid>/calls[/<call_sid>]     call detail records (read-only)
    POST   /v2/accounts/<sid>/sessions/<session_id>/take   {"contact": "sip:..."}, bearer auth

The last is the SDK's, not the customer's: after relaySessionData(push) the callee's client
takes the push's session, authenticated by its access token (``Authorization: Bearer``, no
basic auth), and names the SIP contact the platform then INVITEs (exovoice.reference.platform.sip).
202 taken; 401 token refused (the message names AUTHENTICATION_INVALID_TOKEN or
AUTHENTICATION_EXPIRED_TOKEN); 404 no such session waiting (the caller gave up, or it timed
out); 409 already taken; 400 bad contact; 503 no SIP side to take it.

Basic auth with the account's API key:token. Errors: 400 malformed (bad JSON, bad
subscriber_name, bad parameter), 401 bad or missing basic auth, 403 VoIP not enabled on the
account (or subscriber inactive, for a token), 404 unknown account / subscriber / path,
405 wrong method (with Allow). Every error body is JSON with a one-line `message`.

The check order is: path (404) -> method (405) -> account (404) -> basic auth (401) ->
VoIP enabled (403) -> body and parameters (400) -> subscriber (404/409).

For the SIP side: `verify_access_token`, `issue_push_payload`/`read_push_payload`, `dial_whom`,
`push`, `cdrs`, `subscribers(sid)`.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
import urllib.parse
import uuid
from typing import Any, Callable, Iterable

from exovoice.spec.vocabulary import ErrorType

from ..wire.http import HTTPService, QuietHandler, credentials_match, one_line
from ..wire.tokens import TokenError, decode, sign
from .accounts import ACCESS_TOKEN_TTL, IST, PUSH_PAYLOAD_TTL, REFRESH_TOKEN_TTL, Account
from .cdr import CdrStore
from .outbound import DialWhomFailure, DialWhomResult, PushOutcome, dial_whom, push
from .subscribers import DEFAULT_PAGE_SIZE, ApiError, Subscriber, SubscriberStore

ISSUER = "exotel"
PAYLOAD_VERSION = 1  # as exovoice.reference.net.simnet
DEVICE_PLATFORMS = ("android", "ios")

VerifyResult = tuple[bool, ErrorType | None]


class ExotelPlatform(HTTPService):
    """The platform simulator (HTTP side). Use as a context manager or `start()`/`close()`."""

    def __init__(self, accounts: Iterable[Account], *, secret: bytes | None = None,
                 clock: Callable[[], float] = time.time,
                 refresh_ttl: float = REFRESH_TOKEN_TTL, access_ttl: float = ACCESS_TOKEN_TTL,
                 push_ttl: float = PUSH_PAYLOAD_TTL, http_timeout: float = 5.0,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(_PlatformHandler, host, port)
        self.accounts: dict[str, Account] = {}
        for a in accounts:
            if a.sid in self.accounts:
                raise ValueError(f"account {a.sid} configured twice")
            self.accounts[a.sid] = a
        self.secret = secret if secret is not None else secrets.token_bytes(32)
        self.clock = clock
        self.refresh_ttl, self.access_ttl, self.push_ttl = refresh_ttl, access_ttl, push_ttl
        self.http_timeout = http_timeout
        self.cdrs = CdrStore()
        self._stores = {sid: SubscriberStore(sid, clock) for sid in self.accounts}
        self._seq = itertools.count(1)
        self._seq_lock = threading.Lock()
        # Set by the SIP side: take(session_id, access_token, contact) raises ApiError.
        self.session_taker: Callable[[str, str, str], None] | None = None

    # --- accounts and subscribers ---------------------------------------------------------
    def api_url(self, account_sid: str) -> str:
        """`http://127.0.0.1:<port>/v2/accounts/<sid>` (server must be started)."""
        return f"{self.base_url}/v2/accounts/{urllib.parse.quote(account_sid, safe='')}"

    def account(self, account_sid: str | None = None) -> Account:
        """The account by sid; with no sid, the only account configured."""
        if account_sid is None:
            if len(self.accounts) != 1:
                raise ValueError("several accounts configured: give account_sid")
            return next(iter(self.accounts.values()))
        try:
            return self.accounts[account_sid]
        except KeyError:
            raise ApiError(404, f"account {account_sid} not found") from None

    def subscribers(self, account_sid: str | None = None) -> SubscriberStore:
        return self._stores[self.account(account_sid).sid]

    def _next(self) -> int:
        with self._seq_lock:
            return next(self._seq)

    # --- tokens ---------------------------------------------------------------------------
    def issue_subscriber_token(self, account_sid: str, subscriber_name: Any, device_id: Any,
                               platform: Any = "android") -> dict[str, str]:
        """`{"refresh_token", "access_token"}` for a subscriber on one device (raises ApiError)."""
        account = self.account(account_sid)
        if not account.voip_enabled:
            raise ApiError(403, f"VoIP calling is not enabled on account {account.sid}")
        if platform not in DEVICE_PLATFORMS:
            raise ApiError(400, f"platform must be one of {', '.join(DEVICE_PLATFORMS)}")
        if not isinstance(device_id, str) or not device_id.strip():
            raise ApiError(400, "device_id must be a non-empty string")
        sub = self._stores[account.sid].get(subscriber_name)
        if sub.status != "active":
            raise ApiError(403, f"subscriber {sub.subscriber_name} is inactive")
        now = self.clock()
        base = {"iss": ISSUER, "sub": sub.subscriber_name, "account_sid": account.sid,
                "subscriber_sid": sub.sid, "gen": sub.token_generation, "device_id": device_id,
                "platform": platform, "iat": now}
        return {
            "refresh_token": sign({**base, "typ": "refresh", "exp": now + self.refresh_ttl,
                                   "jti": self._next()}, self.secret),
            "access_token": sign({**base, "typ": "access", "exp": now + self.access_ttl,
                                  "jti": self._next()}, self.secret),
        }

    def verify_token(self, token: Any, device_id: Any, *, kind: str = "access",
                     subscriber_name: str | None = None) -> VerifyResult:
        """(True, None) or (False, AUTHENTICATION_INVALID_TOKEN | AUTHENTICATION_EXPIRED_TOKEN).

        Invalid: not a JWT, signature does not match (tampered or another platform's), not
        this kind of token, another device, another subscriber (when given), or the
        subscriber was deleted, recreated, deactivated or had its tokens revoked, or the
        account lost VoIP. Expired: otherwise valid but past `exp` on the platform clock."""
        invalid = (False, ErrorType.AUTHENTICATION_INVALID_TOKEN)
        try:
            claims = decode(token, self.secret).claims
        except TokenError:
            return invalid
        if claims.get("iss") != ISSUER or claims.get("typ") != kind:
            return invalid
        if not isinstance(device_id, str) or claims.get("device_id") != device_id:
            return invalid
        if subscriber_name is not None and claims.get("sub") != subscriber_name:
            return invalid
        account = self.accounts.get(claims.get("account_sid"))  # type: ignore[arg-type]
        if account is None or not account.voip_enabled:
            return invalid
        sub: Subscriber | None = self._stores[account.sid].find(claims.get("sub"))  # type: ignore
        if (sub is None or sub.sid != claims.get("subscriber_sid") or sub.status != "active"
                or sub.token_generation != claims.get("gen")):
            return invalid
        exp = claims.get("exp")
        if not isinstance(exp, (int, float)) or exp <= self.clock():
            return False, ErrorType.AUTHENTICATION_EXPIRED_TOKEN
        return True, None

    def verify_access_token(self, token: Any, device_id: Any,
                            subscriber_name: str | None = None) -> VerifyResult:
        return self.verify_token(token, device_id, kind="access",
                                 subscriber_name=subscriber_name)

    def token_claims(self, token: Any) -> dict[str, Any]:
        """Claims of a token this platform signed (raises TokenError otherwise)."""
        return decode(token, self.secret).claims

    def revoke_tokens(self, account_sid: str, subscriber_name: str | None = None) -> None:
        """Every token issued so far (to one subscriber, or all) is now invalid."""
        self.subscribers(account_sid).revoke_tokens(subscriber_name)

    # --- push payloads --------------------------------------------------------------------
    def new_session_id(self) -> str:
        return f"s{uuid.uuid4().hex[:12]}{self._next()}"

    def issue_push_payload(self, subscriber_name: str, caller_id: str,
                           session_id: str | None = None, *, call_sid: str | None = None,
                           ttl: float | None = None) -> str:
        """The signed JWT the push carries: callee (sub), callerId, sessionId, iat, exp.

        Claim names are those of exovoice.reference.net.simnet, so the reference client reads both."""
        now = self.clock()
        claims = {"iss": ISSUER, "sub": subscriber_name, "callerId": caller_id,
                  "sessionId": session_id or self.new_session_id(), "iat": now,
                  "exp": now + (self.push_ttl if ttl is None else ttl)}
        if call_sid is not None:
            claims["callSid"] = call_sid
        return sign(claims, self.secret)

    def read_push_payload(self, payload: Any) -> tuple[dict[str, Any], bool]:
        """(claims, expired) of a push payload this platform signed; raises TokenError."""
        claims = decode(payload, self.secret).claims
        if not isinstance(claims.get("callerId"), str) or not isinstance(
                claims.get("sessionId"), str):
            raise TokenError("malformed", "payload lacks callerId or sessionId")
        exp = claims.get("exp")
        return claims, not isinstance(exp, (int, float)) or exp <= self.clock()

    # --- outbound calls -------------------------------------------------------------------
    def dial_whom(self, call_sid: str, call_from: str, call_to: str,
                  custom_field: str | None = None, *, account_sid: str | None = None,
                  start_time: float | None = None) -> DialWhomResult | DialWhomFailure:
        """GET the account's Dial Whom URL (guide 5.1.1) and judge the answer."""
        account = self.account(account_sid)
        if not account.dial_whom_url:
            return DialWhomFailure(reason=f"no Dial Whom URL configured for {account.sid}")
        return dial_whom(account.dial_whom_url, call_sid, call_from, call_to, custom_field,
                         timeout=self.http_timeout, now=self.clock(), start_time=start_time,
                         flow_id=account.flow_id, tenant_id=account.tenant_id, tz=IST)

    def push(self, subscriber_name: str, payload: str, payload_version: int = PAYLOAD_VERSION,
             *, account_sid: str | None = None) -> PushOutcome:
        """POST the push to the account's push URL (guide 5.1.2)."""
        account = self.account(account_sid)
        if not account.push_url:
            return PushOutcome(ok=False, reason=f"no push URL configured for {account.sid}")
        return push(account.push_url, subscriber_name, payload, payload_version,
                    timeout=self.http_timeout)


# --- HTTP --------------------------------------------------------------------------------------
# (resource, method) -> handler name; resource: "subscribers", "subscriber", "token", ...
_ROUTES: dict[str, dict[str, str]] = {
    "subscribers": {"GET": "_list", "POST": "_create"},
    "subscriber": {"GET": "_get", "PUT": "_update", "DELETE": "_delete"},
    "token": {"POST": "_token"},
    "calls": {"GET": "_calls"},
    "call": {"GET": "_call"},
    "take": {"POST": "_take"},
}
_BEARER_AUTH = frozenset({"take"})  # the SDK's resources: access token, not API key


def _int_param(params: dict[str, list[str]], name: str, default: int) -> int:
    values = params.get(name)
    if not values:
        return default
    try:
        return int(values[-1])
    except ValueError:
        raise ApiError(400, f"{name} must be a whole number") from None


class _PlatformHandler(QuietHandler):
    server_version = "exotel-sim/1"

    @property
    def platform(self) -> ExotelPlatform:
        return self.server.service  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def _envelope(self, http_code: int, **body: Any) -> dict[str, Any]:
        return {"request_id": uuid.uuid4().hex, "method": self.command, "http_code": http_code,
                **body}

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        message = one_line(message)
        self.send_json(status, self._envelope(status, status="failure", message=message,
                                              error_data={"code": status, "message": message}),
                       headers)

    def _route(self, path: str) -> tuple[str, str, str | None]:
        """(account sid, resource, item) or ApiError(404)."""
        segs = [urllib.parse.unquote(s) for s in path.strip("/").split("/")]
        if len(segs) >= 4 and segs[0] == "v2" and segs[1] == "accounts" and segs[2]:
            sid, rest = segs[2], segs[3:]
            if rest == ["subscribers"]:
                return sid, "subscribers", None
            if len(rest) == 2 and rest[0] == "subscribers":
                return sid, "subscriber", rest[1]
            if rest == ["subscriber-token"]:
                return sid, "token", None
            if rest == ["calls"]:
                return sid, "calls", None
            if len(rest) == 2 and rest[0] == "calls":
                return sid, "call", rest[1]
            if len(rest) == 3 and rest[0] == "sessions" and rest[1] and rest[2] == "take":
                return sid, "take", rest[1]
        raise ApiError(404, f"no such resource: {path}")

    def _dispatch(self) -> None:
        try:
            url = urllib.parse.urlsplit(self.path)
            sid, resource, item = self._route(url.path)
            methods = _ROUTES[resource]
            if self.command not in methods:
                self._error(405, f"method {self.command} not allowed on {url.path}",
                            {"Allow": ", ".join(methods)})
                return
            p = self.platform
            account = p.account(sid)
            if resource in _BEARER_AUTH:
                params = urllib.parse.parse_qs(url.query, keep_blank_values=True)
                getattr(self, methods[self.command])(p, sid, item, params)
                return
            if not credentials_match(self.basic_auth(), account.api_key, account.api_token):
                self._error(401, "basic authentication with the account's API key:token "
                                 "is required", {"WWW-Authenticate": 'Basic realm="exotel"'})
                return
            if not account.voip_enabled:
                raise ApiError(403, f"VoIP calling is not enabled on account {sid}")
            params = urllib.parse.parse_qs(url.query, keep_blank_values=True)
            getattr(self, methods[self.command])(p, sid, item, params)
        except ApiError as e:
            self._error(e.status, e.message)
        except Exception as e:  # noqa: BLE001 - a simulator bug is a 500, not a dead socket
            self._error(500, f"internal error: {type(e).__name__}: {e}")

    def _json_body(self) -> Any:
        raw = self.read_body()
        if not raw:
            raise ApiError(400, "a JSON body is required")
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError) as e:
            raise ApiError(400, f"malformed JSON: {e}") from None

    def _ok(self, status: int, **body: Any) -> None:
        self.send_json(status, self._envelope(status, status="success", **body))

    # --- resources --------------------------------------------------------------------
    def _create(self, p: ExotelPlatform, sid: str, _item: Any, _params: Any) -> None:
        results = p.subscribers(sid).create_many(self._json_body())
        out = []
        for code, data in results:
            if code == 201:
                out.append({"code": 201, "status": "success", "subscriber": data,
                            "error_data": None})
            else:
                out.append({"code": code, "status": "failure", "subscriber": None,
                            "subscriber_name": data["subscriber_name"],
                            "error_data": {"code": code, "message": one_line(data["message"])}})
        self._ok(207, response=out)

    def _list(self, p: ExotelPlatform, sid: str, _item: Any, params: dict) -> None:
        status = params.get("status", [None])[-1] or None
        page = p.subscribers(sid).list(status, _int_param(params, "page_size",
                                                          DEFAULT_PAGE_SIZE),
                                       _int_param(params, "offset", 0))
        self._ok(200, **page)

    def _get(self, p: ExotelPlatform, sid: str, name: str, _params: Any) -> None:
        self._ok(200, subscriber=p.subscribers(sid).get(name).to_json(sid))

    def _update(self, p: ExotelPlatform, sid: str, name: str, _params: Any) -> None:
        store = p.subscribers(sid)
        store.check_name(name)
        self._ok(200, subscriber=store.update(name, self._json_body()))

    def _delete(self, p: ExotelPlatform, sid: str, name: str, _params: Any) -> None:
        p.subscribers(sid).delete(name)
        self.send_json(204, None)

    def _token(self, p: ExotelPlatform, sid: str, _item: Any, _params: Any) -> None:
        body = self._json_body()
        if not isinstance(body, dict):
            raise ApiError(400, "body must be a JSON object {platform, device_id, "
                                "subscriber_name}")
        unknown = set(body) - {"platform", "device_id", "subscriber_name"}
        if unknown:
            raise ApiError(400, f"unknown fields: {', '.join(sorted(unknown))}")
        SubscriberStore.check_name(body.get("subscriber_name"))
        token = p.issue_subscriber_token(sid, body.get("subscriber_name"),
                                         body.get("device_id"), body.get("platform"))
        self._ok(200, subscriber_token=token)

    def _calls(self, p: ExotelPlatform, sid: str, _item: Any, _params: Any) -> None:
        self._ok(200, calls=[r.to_dict() for r in p.cdrs.all(sid)])

    def _take(self, p: ExotelPlatform, sid: str, session_id: str, _params: Any) -> None:
        auth = self.headers.get("Authorization", "")
        token = auth[len("Bearer "):].strip() if auth.startswith("Bearer ") else ""
        if not token:
            self._error(401, "an access token is required (Authorization: Bearer <token>)",
                        {"WWW-Authenticate": 'Bearer realm="exotel"'})
            return
        body = self._json_body()
        contact = body.get("contact") if isinstance(body, dict) else None
        if not isinstance(contact, str) or not contact.startswith("sip:"):
            raise ApiError(400, "body must be a JSON object with a SIP URI 'contact'")
        taker = p.session_taker
        if taker is None:
            raise ApiError(503, "no SIP side is serving sessions")
        taker(session_id, token, contact)
        self._ok(202, session_id=session_id)

    def _call(self, p: ExotelPlatform, sid: str, call_sid: str, _params: Any) -> None:
        record = p.cdrs.get(call_sid)
        if record is None or record.account_sid != sid:
            raise ApiError(404, f"call {call_sid} not found")
        self._ok(200, call=record.to_dict())
