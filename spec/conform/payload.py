"""Push payloads for scenarios (FACTS.md: a JWT whose claims include the caller id).

The step library needs a push to relay without a platform: it builds an unsigned JWT-shaped
token (header.claims.signature, base64url) naming the caller and the subscriber. A client with
the `push` capability may check more; one without it must at least accept this shape.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

PAYLOAD_VERSION = 1


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def make_payload(caller: str, subscriber: str, session: str | None = None) -> str:
    claims = {"iss": "exotel", "sub": subscriber, "from": caller,
              "session": session or uuid.uuid4().hex}
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.c2ln"


def session_data(caller: str, subscriber: str, *, for_subscriber: str | None = None) -> dict[str, Any]:
    """The `{payload, payloadVersion, subscriberName}` the app relays (guide 4.3.2)."""
    return {"payload": make_payload(caller, subscriber), "payloadVersion": PAYLOAD_VERSION,
            "subscriberName": for_subscriber or subscriber}


def parse_payload(payload: Any) -> dict[str, Any] | None:
    """The claims of a payload, or None when it is malformed."""
    if not isinstance(payload, str) or payload.count(".") != 2:
        return None
    try:
        part = payload.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    return claims if isinstance(claims, dict) else None
