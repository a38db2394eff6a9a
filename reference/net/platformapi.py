"""The platform as a device reaches it: over the platform's HTTP API, holding only its own
subscriber token (guide 4.2, 5.2, 6), never a key of the platform's.

`DevicePlatform(api_url, device_id)` is the reference client's `platform` for a phone:

* initialize: the SDK registers, presenting its access token (``POST <api_url>/registrations``,
  ``Authorization: Bearer``); 200 is net_initialized, a 401 naming AUTHENTICATION_EXPIRED_TOKEN
  or AUTHENTICATION_INVALID_TOKEN is net_token_rejected with that ErrorType (the app's
  onAuthenticationFailure, guide 6, 9.3 b), no answer NETWORK_ERROR, anything else SERVER_ERROR;
* `refresh(refresh_token)`: a new access token from the refresh token (``POST
  <api_url>/subscriber-token/refresh`` with this device's id), what the app does on
  onAuthenticationFailure(AUTHENTICATION_EXPIRED_TOKEN) before initializing again;
* a relayed push's payload is read, not verified (the device has no key to verify it with):
  the platform checks it when the SDK takes the session with its access token, and refuses a
  stale or forged one there.
"""

from __future__ import annotations

import time
from typing import Any

from exovoice.spec.vocabulary import ErrorType, Network

from ..wire.http import one_line, request
from ..wire.tokens import TokenError, decode
from .simplatform import PAYLOAD_VERSION, Platform, Push

AUTH_ERRORS = (ErrorType.AUTHENTICATION_INVALID_TOKEN.value,
               ErrorType.AUTHENTICATION_EXPIRED_TOKEN.value)


class RefreshRefused(Exception):
    """The platform gave no new access token: `error_type` names why (guide 6)."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


class DevicePlatform(Platform):
    def __init__(self, api_url: str, device_id: str, *, timeout: float = 5.0) -> None:
        super().__init__(secret=b"")  # no key: nothing is signed or verified on the device
        self.api_url = api_url.rstrip("/")
        self.device_id = device_id
        self.timeout = timeout

    # --- registration --------------------------------------------------------------------
    def check_token(self, token: Any, subscriber: str | None) -> tuple[str, dict[str, str]]:
        resp = request("POST", f"{self.api_url}/registrations",
                       body={"subscriber_name": subscriber or "", "device_id": self.device_id},
                       headers={"Authorization": f"Bearer {token if isinstance(token, str) else ''}"},
                       timeout=self.timeout)
        if resp.status == 200:
            return Network.net_initialized.value, {}
        if resp.status is None:
            return Network.net_init_failed.value, {"error": ErrorType.NETWORK_ERROR.value}
        named = _error_type(resp)
        if resp.status == 401 and named in AUTH_ERRORS:
            return Network.net_token_rejected.value, {"error": named}
        return Network.net_init_failed.value, {"error": ErrorType.SERVER_ERROR.value}

    def token_still_valid(self, token: Any, subscriber: str | None) -> tuple[str, dict] | None:
        return None  # the platform refuses an expired token on the call that presents it

    def refuses_token(self, token: Any) -> dict[str, str] | None:
        return None  # likewise: the SIP side answers 403 naming the ErrorType

    def refresh(self, refresh_token: str) -> str:
        """A new access token (raises RefreshRefused)."""
        resp = request("POST", f"{self.api_url}/subscriber-token/refresh",
                       body={"refresh_token": refresh_token, "device_id": self.device_id},
                       timeout=self.timeout)
        if resp.status == 200:
            return str(resp.json()["subscriber_token"]["access_token"])
        if resp.status is None:
            raise RefreshRefused(ErrorType.NETWORK_ERROR.value, f"no answer: {resp.error}")
        named = _error_type(resp) or ErrorType.SERVER_ERROR.value
        raise RefreshRefused(named, f"HTTP {resp.status}: {_message(resp)}")

    # --- pushes ----------------------------------------------------------------------------
    def read_push(self, data: Any) -> Push:
        if not isinstance(data, dict):
            raise TokenError("malformed", "session data must be an object")
        version = data.get("payloadVersion")
        if version != PAYLOAD_VERSION or isinstance(version, bool):
            raise TokenError("malformed", f"payloadVersion {version!r} is not {PAYLOAD_VERSION}")
        claims = decode(data.get("payload")).claims
        caller, session = claims.get("callerId"), claims.get("sessionId")
        if not isinstance(caller, str) or not isinstance(session, str):
            raise TokenError("malformed", "payload lacks callerId or sessionId")
        exp = claims.get("exp")
        stale = not isinstance(exp, (int, float)) or exp <= time.time()
        return Push(caller, session, stale)

    def issue_token(self, subscriber: str, *, ttl: float | None = None) -> str:
        raise TypeError("a device does not issue tokens: the platform's API does")

    def issue_push(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise TypeError("a device does not issue pushes")


def _error_type(resp: Any) -> str | None:
    try:
        body = resp.json()
    except ValueError:
        return None
    data = body.get("error_data") if isinstance(body, dict) else None
    named = data.get("error_type") if isinstance(data, dict) else None
    return named if isinstance(named, str) else None


def _message(resp: Any) -> str:
    try:
        body = resp.json()
    except ValueError:
        body = None
    text = body.get("message") if isinstance(body, dict) else resp.body[:200].decode(
        "utf-8", "replace")
    return one_line(text)


__all__ = ["DevicePlatform", "RefreshRefused"]
