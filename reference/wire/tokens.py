"""JWTs of the simulated platform: subscriber tokens and push payloads, signed and checked with
PyJWT, HS256 only.

`sign(claims, key)` writes one; `verify(token, key, audience=, issuer=, now=, leeway=)` is the
platform's check: the algorithm pinned to HS256 (a token saying `alg: none`, or any other
algorithm, is refused before its signature is looked at), the signature, the issuer, the
audience and the presence of `exp`, `iat` and `nbf` by PyJWT; `exp` and `nbf` against `now`
with `leeway` seconds of grace either way. `decode(token)` reads the claims without checking
anything (for routing a token to the key that checks it, or for a device, which never holds
the platform's key); `decode(token, key)` checks only the algorithm and the signature.

Why `exp`/`nbf` are compared here and not by PyJWT: PyJWT reads the wall clock, while the
platform's clock is injectable (tests move it to expire a token); the comparison is PyJWT's
own (expired when exp <= now - leeway, not yet valid when nbf > now + leeway) and raises its
exception types, so `verify` refuses exactly what `jwt.decode` with that leeway would at `now`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import jwt

ALGORITHM = "HS256"
LEEWAY = 5.0  # s of clock skew forgiven on exp and nbf

# why a token is refused -> TokenError.kind
MALFORMED, SIGNATURE, ALGORITHM_REFUSED = "malformed", "signature", "algorithm"
EXPIRED, NOT_YET_VALID, AUDIENCE, ISSUER = "expired", "not-yet-valid", "audience", "issuer"


class TokenError(ValueError):
    """Why a token or payload could not be read or was refused; `kind` is one of MALFORMED,
    SIGNATURE, ALGORITHM_REFUSED, EXPIRED, NOT_YET_VALID, AUDIENCE, ISSUER."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def sign(claims: dict[str, Any], key: bytes, *, headers: dict[str, Any] | None = None) -> str:
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers=headers)


@dataclass(frozen=True)
class Decoded:
    claims: dict[str, Any]
    signed: bool  # the signature matched the key it was checked with


def header(token: Any) -> dict[str, Any]:
    """The token's JOSE header, unchecked (raises TokenError(MALFORMED))."""
    if not isinstance(token, str):
        raise TokenError(MALFORMED, "not a JWT (header.claims.signature)")
    try:
        return jwt.get_unverified_header(token)
    except jwt.DecodeError as e:
        raise TokenError(MALFORMED, f"not a JWT: {e}") from None


def _claims_only(token: str) -> dict[str, Any]:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.DecodeError as e:
        raise TokenError(MALFORMED, f"not a JWT: {e}") from None
    if not isinstance(claims, dict):
        raise TokenError(MALFORMED, "JWT claims are not a JSON object")
    return claims


def decode(token: Any, key: bytes | None = None) -> Decoded:
    """Read a token's claims; with `key`, also check that it is HS256 and signed with `key`
    (raises TokenError: MALFORMED, ALGORITHM_REFUSED or SIGNATURE). Nothing else is checked."""
    alg = header(token).get("alg")
    if key is None:
        return Decoded(_claims_only(token), False)
    if alg != ALGORITHM:
        raise TokenError(ALGORITHM_REFUSED, f"JWT algorithm {alg!r} is not {ALGORITHM}")
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM],
                            options={"verify_exp": False, "verify_nbf": False,
                                     "verify_iat": False, "verify_aud": False,
                                     "verify_iss": False})
    except jwt.InvalidSignatureError:
        raise TokenError(SIGNATURE, "JWT signature does not match") from None
    except jwt.InvalidTokenError as e:
        raise TokenError(MALFORMED, f"not a JWT: {e}") from None
    return Decoded(claims, True)


def verify(token: Any, key: bytes, *, audience: str, issuer: str, now: float | None = None,
           leeway: float = LEEWAY) -> dict[str, Any]:
    """The claims of a token that passes every check (see the module's docstring); raises
    TokenError naming the first check it failed."""
    alg = header(token).get("alg")
    if alg != ALGORITHM:  # PyJWT would say the same; said first so `none` is named
        raise TokenError(ALGORITHM_REFUSED, f"JWT algorithm {alg!r} is not {ALGORITHM}")
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], audience=audience,
                            issuer=issuer,
                            options={"require": ["exp", "iat", "nbf", "iss", "aud"],
                                     "verify_exp": False, "verify_nbf": False,
                                     "verify_iat": False})
    except jwt.InvalidSignatureError:
        raise TokenError(SIGNATURE, "JWT signature does not match") from None
    except jwt.InvalidAudienceError:
        raise TokenError(AUDIENCE, f"JWT is not meant for {audience}") from None
    except jwt.InvalidIssuerError:
        raise TokenError(ISSUER, f"JWT was not issued by {issuer}") from None
    except jwt.InvalidAlgorithmError as e:
        raise TokenError(ALGORITHM_REFUSED, str(e)) from None
    except jwt.InvalidTokenError as e:
        raise TokenError(MALFORMED, f"JWT refused: {e}") from None
    _check_times(claims, time.time() if now is None else now, leeway)
    return claims


def _check_times(claims: dict[str, Any], now: float, leeway: float) -> None:
    exp, nbf = claims.get("exp"), claims.get("nbf")
    for name, value in (("exp", exp), ("nbf", nbf)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TokenError(MALFORMED, f"JWT claim {name} is not a number")
    if exp <= now - leeway:  # type: ignore[operator]
        raise TokenError(EXPIRED, "JWT has expired")
    if nbf > now + leeway:  # type: ignore[operator]
        raise TokenError(NOT_YET_VALID, "JWT is not yet valid")
