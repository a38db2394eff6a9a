"""Small helpers shared by the platform's and the sample backend's HTTP servers and clients.

Standard library only: `http.server.ThreadingHTTPServer` on 127.0.0.1 (port 0 = ephemeral by
default) and `urllib.request`. Servers answer HTTP/1.0 (one request per connection) and join
their handler threads on close, so a test that closes a server leaves no thread or port behind.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_BODY = 1 << 20  # bytes a server reads from a request, a client from a response


def one_line(text: Any) -> str:
    """A message fit for a one-line JSON error body."""
    return " ".join(str(text).split())


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # tracked, so server_close() joins them
    block_on_close = True
    allow_reuse_address = False


class QuietHandler(BaseHTTPRequestHandler):
    """A handler that does not log to stderr and times out idle sockets."""

    protocol_version = "HTTP/1.0"
    timeout = 5.0
    server_version = "exovoice-sim/1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    # --- reading ---------------------------------------------------------------------------
    def read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        if length <= 0:
            return b""
        return self.rfile.read(min(length, MAX_BODY))

    def basic_auth(self) -> tuple[str, str] | None:
        """(user, password) of an `Authorization: Basic` header, or None."""
        return parse_basic_auth(self.headers.get("Authorization"))

    # --- writing ---------------------------------------------------------------------------
    def send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)


def parse_basic_auth(header: str | None) -> tuple[str, str] | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        text = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    user, sep, password = text.partition(":")
    return (user, password) if sep else None


def credentials_match(given: tuple[str, str] | None, user: str, password: str) -> bool:
    if given is None:
        return False
    # compare both halves even when the first differs (no early exit on timing)
    ok_user = hmac.compare_digest(given[0].encode(), user.encode())
    ok_password = hmac.compare_digest(given[1].encode(), password.encode())
    return ok_user and ok_password


def basic_auth_header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class HTTPService:
    """A ThreadingHTTPServer in a background thread: `start()`, `close()`, context manager.

    `base_url` is `http://127.0.0.1:<port>` once started.
    """

    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self._handler = handler
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def address(self) -> tuple[str, int]:
        if self._server is None:
            raise RuntimeError("server is not started")
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def base_url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"

    def _bind(self, server: _Server) -> None:
        """Hook: subclasses attach themselves to the server so handlers can reach them."""
        server.service = self  # type: ignore[attr-defined]

    def start(self) -> "HTTPService":
        if self._server is not None:
            return self
        server = _Server(self._address, self._handler)
        self._bind(server)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                  name=f"{type(self).__name__}-http", daemon=True)
        self._server, self._thread = server, thread
        thread.start()
        return self

    def close(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        server.shutdown()
        server.server_close()  # joins the handler threads (block_on_close)
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()


# --- client ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Response:
    status: int | None  # None: no HTTP answer at all (refused, timed out, bad URL)
    body: bytes
    error: str | None = None  # why there was no HTTP answer

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def split_url_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """`http://user:pw@host/p` -> (`http://host/p`, (user, pw)), percent-decoded."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    clean = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query,
                                     parts.fragment))
    return clean, (urllib.parse.unquote(parts.username),
                   urllib.parse.unquote(parts.password or ""))


def request(method: str, url: str, *, body: Any = None, auth: tuple[str, str] | None = None,
            timeout: float = 5.0, read_limit: int = MAX_BODY,
            headers: dict[str, str] | None = None) -> Response:
    """One HTTP exchange; never raises for HTTP or network errors. `body` is sent as JSON.

    Credentials in the URL's userinfo become an `Authorization: Basic` header (what curl and
    browsers do); `auth` overrides them."""
    url, url_auth = split_url_credentials(url)
    auth = auth or url_auth
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if auth is not None:
        req.add_header("Authorization", basic_auth_header(*auth))
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return Response(resp.status, resp.read(read_limit))
    except urllib.error.HTTPError as e:
        try:
            payload = e.read(read_limit)
        finally:
            e.close()
        return Response(e.code, payload)
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        return Response(None, b"", one_line(f"{type(e).__name__}: {reason}"))


