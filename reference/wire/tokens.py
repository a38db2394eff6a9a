"""JWT-shaped tokens of the simulated platform: subscriber tokens and push payloads.

`header.claims.signature`, each part base64url without padding; the signature is
HMAC-SHA256 over `header.claims` with the platform's secret (HS256). Only the standard
library is used: this is a simulation of the platform, not an authentication library.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any


class TokenError(ValueError):
    """Why a token or payload could not be read: `kind` is "malformed" or "signature"."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(claims: dict[str, Any], secret: bytes) -> str:
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(mac)}"


@dataclass(frozen=True)
class Decoded:
    claims: dict[str, Any]
    signed: bool  # the signature matched the secret it was checked with


def decode(token: Any, secret: bytes | None = None) -> Decoded:
    """Read a token; raise TokenError("malformed") when it is not a JWT with JSON claims, or
    TokenError("signature") when a secret is given and the signature does not match."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise TokenError("malformed", "not a JWT (header.claims.signature)")
    head, body, sig = token.split(".")
    try:
        header = json.loads(_unb64(head))
        claims = json.loads(_unb64(body))
        mac = _unb64(sig)
    except (ValueError, UnicodeDecodeError) as e:
        raise TokenError("malformed", f"not a JWT: {e}") from None
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(claims, dict):
        raise TokenError("malformed", "JWT header or claims are not what the platform issues")
    if secret is None:
        return Decoded(claims, False)
    want = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(want, mac):
        raise TokenError("signature", "JWT signature does not match")
    return Decoded(claims, True)
