"""The simulated Exotel platform as the reference SDK sees it: it issues and checks tokens
and push payloads, keeps the sessions, and answers registration and log upload, so the
client can check them the way the SDK checks the platform's answers. Controls a test may
set (also reachable as adapter stimuli, see exovoice.reference.targets.adapter):
`expire_tokens()` (every token issued so far is now expired), `invalidate_tokens()` (the
platform no longer accepts them as valid), `fail_next_init`, `fail_uploads`,
`end_session(session_id)` (the caller gave up: a push for it is stale).
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from exovoice.spec.vocabulary import ErrorType, Network

from ..wire.tokens import TokenError, decode, sign

PAYLOAD_VERSION = 1


@dataclass(frozen=True)
class Push:
    """A push the client accepted: who is calling, for which session."""

    caller_id: str
    session_id: str
    stale: bool


@dataclass
class Platform:
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    token_ttl: float = 1800.0  # access tokens live 30 min (FACTS.md)
    push_ttl: float = 30.0  # max_ringing_duration
    fail_next_init: bool = False
    fail_uploads: bool = False
    network_up: bool = True
    auto_answer_media: bool = True  # answer() is followed by net_answered without a stimulus
    _expired_before: float = 0.0
    _invalid_before: float = 0.0
    _ended_sessions: set[str] = field(default_factory=set)
    _seq: Any = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- tokens ------------------------------------------------------------------------
    def issue_token(self, subscriber: str, *, ttl: float | None = None) -> str:
        now = time.time()
        with self._lock:
            n = next(self._seq)
        return sign({"sub": subscriber, "iat": now, "exp": now + (self.token_ttl if ttl is None
                                                                    else ttl), "jti": str(n)},
                    self.secret)

    def expire_tokens(self) -> None:
        self._expired_before = time.time()

    def invalidate_tokens(self) -> None:
        self._invalid_before = time.time()

    def check_token(self, token: Any, subscriber: str | None) -> tuple[str, dict[str, str]]:
        """The happening a registration with this token leads to, and its callback args."""
        if self.fail_next_init:
            self.fail_next_init = False
            return Network.net_init_failed.value, {"error": ErrorType.SERVER_ERROR.value}
        if not self.network_up:
            return Network.net_init_failed.value, {"error": ErrorType.NETWORK_ERROR.value}
        invalid = (Network.net_token_rejected.value,
                   {"error": ErrorType.AUTHENTICATION_INVALID_TOKEN.value})
        try:
            claims = decode(token, self.secret).claims
        except TokenError:
            return invalid
        if claims.get("sub") != subscriber or claims.get("iat", 0) <= self._invalid_before:
            return invalid
        if claims.get("exp", 0) <= time.time() or claims.get("iat", 0) <= self._expired_before:
            return Network.net_token_rejected.value, {
                "error": ErrorType.AUTHENTICATION_EXPIRED_TOKEN.value}
        return Network.net_initialized.value, {}

    def token_still_valid(self, token: Any, subscriber: str | None) -> tuple[str, dict] | None:
        """While registered: the rejection the next registration refresh would get, if any."""
        cause, args = self.check_token(token, subscriber)
        return (cause, args) if cause == Network.net_token_rejected.value else None

    def refuses_token(self, token: Any) -> dict[str, str] | None:
        """A call attempt (a dial, a session take) presents the token: the ErrorType the
        platform refuses it with (LC-AUTH-CALL), or None when it accepts it."""
        try:
            sub = decode(token, self.secret).claims.get("sub")
        except TokenError:
            return {"error": ErrorType.AUTHENTICATION_INVALID_TOKEN.value}
        rejected = self.token_still_valid(token, sub)
        return rejected[1] if rejected is not None else None

    # --- push --------------------------------------------------------------------------
    def issue_push(self, subscriber: str, caller_id: str = "+918047112327", *,
                   session_id: str | None = None, ttl: float | None = None) -> dict[str, Any]:
        """The data message the customer backend pushes (guide 5.1.2, FACTS.md)."""
        with self._lock:
            n = next(self._seq)
        now = time.time()
        claims = {"sub": subscriber, "callerId": caller_id, "sessionId": session_id or f"s{n}",
                  "iat": now, "exp": now + (self.push_ttl if ttl is None else ttl)}
        return {"payload": sign(claims, self.secret), "payloadVersion": PAYLOAD_VERSION,
                "subscriberName": subscriber}

    def new_session(self) -> str:
        """The platform's id for a call's session (reported to support, guide 4.8)."""
        with self._lock:
            return f"s{next(self._seq)}"

    def end_session(self, session_id: str) -> None:
        self._ended_sessions.add(session_id)

    def read_push(self, data: Any) -> Push:
        """Check a relayed push; raise TokenError("malformed"/"signature") when it is not one
        the platform issued."""
        if not isinstance(data, dict):
            raise TokenError("malformed", "session data must be an object")
        version = data.get("payloadVersion")
        if version != PAYLOAD_VERSION or isinstance(version, bool):
            raise TokenError("malformed", f"payloadVersion {version!r} is not {PAYLOAD_VERSION}")
        claims = decode(data.get("payload"), self.secret).claims
        caller, session = claims.get("callerId"), claims.get("sessionId")
        if not isinstance(caller, str) or not isinstance(session, str):
            raise TokenError("malformed", "payload lacks callerId or sessionId")
        stale = session in self._ended_sessions or claims.get("exp", 0) <= time.time()
        return Push(caller, session, stale)

    def relay_outcome(self, push: Push) -> str:
        return (Network.net_push_stale if push.stale else Network.net_push_valid).value

    # --- logs --------------------------------------------------------------------------
    def upload_outcome(self, entries: int) -> tuple[str, dict[str, str]]:
        if self.fail_uploads or not self.network_up:
            return Network.net_upload_failed.value, {"error": ErrorType.UPLOAD_LOG_FAILURE.value}
        return Network.net_upload_done.value, {}


__all__ = ["PAYLOAD_VERSION", "Platform", "Push", "TokenError"]
