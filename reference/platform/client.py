"""A thin client of the Subscriber Management API (what a customer backend would use)."""

from __future__ import annotations

import urllib.parse
from typing import Any

from ..wire.http import Response, request


class SubscriberApi:
    """Calls `<api_url>/...` (api_url = `.../v2/accounts/<sid>`) with basic auth key:token.

    Every method returns the raw `Response` (status, body; `.json()`), never raises for HTTP
    errors: tests look at the status codes."""

    def __init__(self, api_url: str, api_key: str | None, api_token: str | None,
                 timeout: float = 5.0) -> None:
        self.api_url = api_url.rstrip("/")
        self.auth = None if api_key is None else (api_key, api_token or "")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: Any = None,
              query: dict[str, Any] | None = None) -> Response:
        url = f"{self.api_url}/{path}"
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items()
                                                 if v is not None})
        return request(method, url, body=body, auth=self.auth, timeout=self.timeout)

    @staticmethod
    def _name(name: str) -> str:
        return urllib.parse.quote(name, safe="")

    def create(self, subscribers: list[dict[str, Any]]) -> Response:
        return self._call("POST", "subscribers", subscribers)

    def get(self, name: str) -> Response:
        return self._call("GET", f"subscribers/{self._name(name)}")

    def list(self, status: str | None = None, page_size: int | None = None,
             offset: int | None = None) -> Response:
        return self._call("GET", "subscribers",
                          query={"status": status, "page_size": page_size, "offset": offset})

    def update(self, name: str, **changes: Any) -> Response:
        return self._call("PUT", f"subscribers/{self._name(name)}", changes)

    def delete(self, name: str) -> Response:
        return self._call("DELETE", f"subscribers/{self._name(name)}")

    def token(self, subscriber_name: str, device_id: str, platform: str = "android") -> Response:
        return self._call("POST", "subscriber-token", {"platform": platform,
                                                       "device_id": device_id,
                                                       "subscriber_name": subscriber_name})
