"""The simulated Exotel platform, HTTP side.

`ExotelPlatform(accounts, ...)` keeps the accounts (configured in code), their subscribers,
the tokens it signs, and the call detail records; `start()` serves its API with FastAPI on
uvicorn on 127.0.0.1 (ephemeral port by default; HTTP/1.1 with keep-alive), and its OpenAPI
document at `/openapi.json`:

    POST   /v2/accounts/<sid>/subscribers            list of <= 10 -> 207, result per item
    GET    /v2/accounts/<sid>/subscribers?status=&page_size=&offset=
    GET    /v2/accounts/<sid>/subscribers/<name>
    PUT    /v2/accounts/<sid>/subscribers/<name>     {status?, custom_field?, display_name?}
    DELETE /v2/accounts/<sid>/subscribers/<name>     204
    POST   /v2/accounts/<sid>/subscriber-token       {platform, device_id, subscriber_name}
    GET    /v2/accounts/<sid>/calls[/<call_sid>]     call detail records (read-only)

Those are the customer's (basic auth with the account's API key:token). The device's own,
authenticated by its tokens (no API key: a device never holds one, nor the platform's keys):

    POST   /v2/accounts/<sid>/subscriber-token/refresh    {refresh_token, device_id}
           -> 200 a new access token (the refresh token kept); how a device renews
    POST   /v2/accounts/<sid>/registrations               {subscriber_name, device_id},
           Authorization: Bearer <access token> -> 200; the SDK's initialize
    POST   /v2/accounts/<sid>/sessions/<session_id>/take  {"contact": "sip:..."}, bearer

After relaySessionData(push) the callee's client takes the push's session and names the SIP
contact the platform then INVITEs (exovoice.reference.platform.sip). 202 taken; 404 no such
session waiting (the caller gave up, or it timed out); 409 already taken; 400 bad contact;
503 no SIP side to take it.

A token refused on any of the device's resources is 401 with `error_data.error_type` naming the
guide's ErrorType (section 6, 9.3 b): AUTHENTICATION_EXPIRED_TOKEN when it is past its `exp`
(and a leeway of `wire.tokens.LEEWAY` s), AUTHENTICATION_INVALID_TOKEN for everything else:
not a JWT, another algorithm than HS256 (`alg: none` included), a signature that does not
match (tampered, or signed with another account's key: each account has its own), another
issuer, another audience (a refresh token is not an access token), not valid yet (`nbf`),
another device or subscriber, or a subscriber deleted, recreated, deactivated or revoked.

Errors (guide 9.3 a): 400 malformed (bad JSON, bad subscriber_name, bad parameter), 401 bad or
missing basic auth, 403 VoIP not enabled on the account (or subscriber inactive, for a token),
404 unknown account / subscriber / path, 405 wrong method (with Allow). Every error body is
the API's JSON envelope with a one-line `message`, secrets redacted.

The check order is: path (404) -> method (405) -> account (404) -> basic auth (401) ->
VoIP enabled (403) -> body and parameters (400) -> subscriber (404/409).

For the SIP side: `verify_access_token`, `issue_push_payload`/`read_push_payload`, `dial_whom`,
`push`, `cdrs`, `subscribers(sid)`.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import secrets
import threading
import time
import urllib.parse
import uuid
from typing import Any, Callable, Iterable

from exovoice.spec.vocabulary import ErrorType

from ..wire.http import ASGIService
from ..wire.tokens import EXPIRED, LEEWAY, TokenError, decode, sign, verify
from .accounts import ACCESS_TOKEN_TTL, IST, PUSH_PAYLOAD_TTL, REFRESH_TOKEN_TTL, Account
from .cdr import CdrStore
from .outbound import DialWhomFailure, DialWhomResult, PushOutcome, dial_whom, push
from .subscribers import DEFAULT_PAGE_SIZE, ApiError, Subscriber, SubscriberStore, TokenRefused

ISSUER = "exotel"
# who each kind of token is for (its `aud`): one kind is never accepted as another
AUDIENCE = {"access": "exotel-voice", "refresh": "exotel-subscriber-token",
            "push": "exotel-voice-push"}
PAYLOAD_VERSION = 1  # as exovoice.reference.net.simnet
DEVICE_PLATFORMS = ("android", "ios")

VerifyResult = tuple[bool, ErrorType | None]


def account_key(secret: bytes, account_sid: str) -> bytes:
    """The key an account's tokens are signed with: HMAC-SHA256 of the account sid under the
    platform's secret, so no account's key opens another's tokens."""
    return hmac.new(secret, f"exovoice-account:{account_sid}".encode(), hashlib.sha256).digest()


class ExotelPlatform(ASGIService):
    """The platform simulator (HTTP side). Use as a context manager or `start()`/`close()`."""

    def __init__(self, accounts: Iterable[Account], *, secret: bytes | None = None,
                 clock: Callable[[], float] = time.time,
                 refresh_ttl: float = REFRESH_TOKEN_TTL, access_ttl: float = ACCESS_TOKEN_TTL,
                 push_ttl: float = PUSH_PAYLOAD_TTL, http_timeout: float = 5.0,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.accounts: dict[str, Account] = {}
        for a in accounts:
            if a.sid in self.accounts:
                raise ValueError(f"account {a.sid} configured twice")
            self.accounts[a.sid] = a
        self._secret = secret if secret is not None else secrets.token_bytes(32)
        self._keys = {sid: account_key(self._secret, sid) for sid in self.accounts}
        self.clock = clock
        self.refresh_ttl, self.access_ttl, self.push_ttl = refresh_ttl, access_ttl, push_ttl
        self.http_timeout = http_timeout
        self.cdrs = CdrStore()
        self._stores = {sid: SubscriberStore(sid, clock) for sid in self.accounts}
        self._seq = itertools.count(1)
        self._seq_lock = threading.Lock()
        # Set by the SIP side: take(session_id, access_token, contact) raises ApiError.
        self.session_taker: Callable[[str, str, str], None] | None = None
        # A bridge worker behind the front names itself in its session ids ("w2-s..."), so a
        # take that reaches another worker's HTTP side is forwarded to it (sipserver).
        self.session_prefix = ""

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
    def key(self, account_sid: str) -> bytes:
        """The account's signing key (for a test harness standing in for the platform)."""
        return self._keys[self.account(account_sid).sid]

    def _sign(self, account_sid: str, claims: dict[str, Any]) -> str:
        return sign(claims, self._keys[account_sid], headers={"kid": account_sid})

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
        base = {"iss": ISSUER, "sub": sub.subscriber_name, "account_sid": account.sid,
                "subscriber_sid": sub.sid, "gen": sub.token_generation, "device_id": device_id,
                "platform": platform}
        return {"refresh_token": self._token(account.sid, base, "refresh", self.refresh_ttl),
                "access_token": self._token(account.sid, base, "access", self.access_ttl)}

    def _token(self, account_sid: str, base: dict[str, Any], kind: str, ttl: float) -> str:
        now = self.clock()
        return self._sign(account_sid, {**base, "typ": kind, "aud": AUDIENCE[kind], "iat": now,
                                        "nbf": now, "exp": now + ttl,
                                        "jti": str(self._next())})

    def refresh_access_token(self, account_sid: str, refresh_token: Any,
                             device_id: Any) -> dict[str, str]:
        """A new access token for the device holding a valid refresh token (the refresh token
        itself is kept); raises ApiError 401 naming the ErrorType when it is refused."""
        account = self.account(account_sid)
        claims = self._checked(refresh_token, device_id, "refresh", account.sid)
        base = {k: claims[k] for k in ("iss", "sub", "account_sid", "subscriber_sid", "gen",
                                       "device_id", "platform")}
        return {"refresh_token": refresh_token,
                "access_token": self._token(account.sid, base, "access", self.access_ttl)}

    def _checked(self, token: Any, device_id: Any, kind: str, account_sid: str | None = None,
                 subscriber_name: str | None = None) -> dict[str, Any]:
        """The claims of a token passing every check, or TokenRefused with the ErrorType."""
        try:
            unverified = decode(token).claims
        except TokenError as e:
            raise TokenRefused(ErrorType.AUTHENTICATION_INVALID_TOKEN, str(e)) from None
        sid = unverified.get("account_sid")
        if account_sid is not None and sid != account_sid:
            raise TokenRefused(ErrorType.AUTHENTICATION_INVALID_TOKEN,
                               "the token is for another account")
        key = self._keys.get(sid) if isinstance(sid, str) else None
        if key is None:
            raise TokenRefused(ErrorType.AUTHENTICATION_INVALID_TOKEN, "no such account")
        try:
            claims = verify(token, key, audience=AUDIENCE[kind], issuer=ISSUER,
                            now=self.clock(), leeway=LEEWAY)
        except TokenError as e:
            kind_error = (ErrorType.AUTHENTICATION_EXPIRED_TOKEN if e.kind == EXPIRED
                          else ErrorType.AUTHENTICATION_INVALID_TOKEN)
            raise TokenRefused(kind_error, str(e)) from None
        invalid = ErrorType.AUTHENTICATION_INVALID_TOKEN
        if claims.get("typ") != kind:
            raise TokenRefused(invalid, f"not an {kind} token")
        if not isinstance(device_id, str) or claims.get("device_id") != device_id:
            raise TokenRefused(invalid, "the token was issued to another device")
        if subscriber_name is not None and claims.get("sub") != subscriber_name:
            raise TokenRefused(invalid, "the token was issued to another subscriber")
        account = self.accounts[sid]
        if not account.voip_enabled:
            raise TokenRefused(invalid, "VoIP calling is not enabled on the account")
        sub: Subscriber | None = self._stores[sid].find(claims.get("sub"))  # type: ignore
        if (sub is None or sub.sid != claims.get("subscriber_sid") or sub.status != "active"
                or sub.token_generation != claims.get("gen")):
            raise TokenRefused(invalid, "the subscriber's tokens are no longer valid")
        return claims

    def verify_token(self, token: Any, device_id: Any, *, kind: str = "access",
                     subscriber_name: str | None = None,
                     account_sid: str | None = None) -> VerifyResult:
        """(True, None) or (False, AUTHENTICATION_INVALID_TOKEN | AUTHENTICATION_EXPIRED_TOKEN)
        (see the module's docstring for what each covers)."""
        try:
            self._checked(token, device_id, kind, account_sid, subscriber_name)
        except TokenRefused as e:
            return False, e.error_type
        return True, None

    def verify_access_token(self, token: Any, device_id: Any,
                            subscriber_name: str | None = None) -> VerifyResult:
        return self.verify_token(token, device_id, kind="access",
                                 subscriber_name=subscriber_name)

    def register(self, account_sid: str, access_token: Any, subscriber_name: Any,
                 device_id: Any) -> dict[str, Any]:
        """The SDK's initialize: the device presents its access token (raises TokenRefused)."""
        self.account(account_sid)
        claims = self._checked(access_token, device_id, "access", account_sid,
                               subscriber_name if isinstance(subscriber_name, str) else "")
        return {"subscriber_name": claims["sub"], "device_id": claims["device_id"],
                "expires_at": claims["exp"]}

    def token_claims(self, token: Any) -> dict[str, Any]:
        """Claims of a token this platform signed (raises TokenError otherwise)."""
        sid = decode(token).claims.get("account_sid")
        key = self._keys.get(sid) if isinstance(sid, str) else None
        if key is None:
            raise TokenError("signature", "not signed by this platform")
        return decode(token, key).claims

    def revoke_tokens(self, account_sid: str, subscriber_name: str | None = None) -> None:
        """Every token issued so far (to one subscriber, or all) is now invalid."""
        self.subscribers(account_sid).revoke_tokens(subscriber_name)

    # --- push payloads --------------------------------------------------------------------
    def new_session_id(self) -> str:
        return f"{self.session_prefix}s{uuid.uuid4().hex[:12]}{self._next()}"

    def issue_push_payload(self, subscriber_name: str, caller_id: str,
                           session_id: str | None = None, *, call_sid: str | None = None,
                           ttl: float | None = None, account_sid: str | None = None) -> str:
        """The signed JWT the push carries: callee (sub), callerId, sessionId, iat, exp.

        Claim names are those of exovoice.reference.net.simnet, so the reference client reads both."""
        now = self.clock()
        claims = {"iss": ISSUER, "sub": subscriber_name, "callerId": caller_id,
                  "sessionId": session_id or self.new_session_id(), "iat": now,
                  "exp": now + (self.push_ttl if ttl is None else ttl)}
        if call_sid is not None:
            claims["callSid"] = call_sid
        sid = self.account(account_sid).sid
        return self._sign(sid, {**claims, "account_sid": sid, "aud": AUDIENCE["push"],
                                "nbf": now})

    def read_push_payload(self, payload: Any) -> tuple[dict[str, Any], bool]:
        """(claims, expired) of a push payload this platform signed; raises TokenError."""
        sid = decode(payload).claims.get("account_sid")
        key = self._keys.get(sid) if isinstance(sid, str) else None
        if key is None:
            raise TokenError("signature", "not a push payload of this platform")
        claims = decode(payload, key).claims
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


    # --- HTTP ------------------------------------------------------------------------------
    def build_app(self) -> Any:
        from .api import platform_app

        return platform_app()

