"""Small helpers shared by the platform's and the sample backend's HTTP servers and clients.

Servers: `ASGIService` serves an ASGI app (FastAPI, built by the subclass's `build_app`) with
uvicorn on 127.0.0.1 (port 0 = ephemeral by default) in one background thread with its own
event loop: HTTP/1.1 with keep-alive, no access log. `close()` stops accepting, closes idle
keep-alive connections, lets requests in flight finish (bounded), and joins the thread, so a
test that closes a server leaves no thread or socket behind.

Clients: `request` (urllib: one exchange, never raises for HTTP or network trouble).

Nothing secret goes into a message: `one_line`, which every error body and log line passes
through, redacts JWTs and the credentials of a URL (`redact`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import re
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

MAX_BODY = 1 << 20  # bytes a server reads from a request, a client from a response


_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
_USERINFO = re.compile(r"(?<=//)[^/@\s]+@")
_BEARER = re.compile(r"(?i)(bearer\s+)\S+")


def redact(text: str) -> str:
    """`text` with every JWT, bearer credential and URL userinfo replaced by `***`."""
    text = _JWT.sub("***", text)
    text = _BEARER.sub(r"\1***", text)
    return _USERINFO.sub("***@", text)


def one_line(text: Any) -> str:
    """A message fit for a one-line JSON error body or log line, secrets redacted."""
    return redact(" ".join(str(text).split()))


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


SERVICE_KEY = "exovoice.service"  # the ASGI scope key naming the service a request reached


class ASGIService:
    """An ASGI app served by uvicorn in a background thread: `start()`, `close()`, context
    manager. Subclasses build the app in `build_app()`; `base_url` is
    `http://127.0.0.1:<port>` once started.

    uvicorn's own `Server.serve` installs signal handlers (main thread only) and its
    `shutdown` sleeps a fixed 0.1 s; this runs `Server.startup` on a socket bound here and
    stops it with `close_timeout`-bounded waits of its own, so start and close cost what the
    sockets cost."""

    poll = 0.005  # s between looks at connections still closing
    close_timeout = 5.0  # s a request in flight may take to finish once close() is called

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._address = (host, port)
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    def build_app(self) -> Any:
        """The ASGI app (the same object for every instance may be returned: each request's
        scope names its instance under SERVICE_KEY)."""
        raise NotImplementedError

    def _app(self) -> Any:
        cls = type(self)
        shared = cls.__dict__.get("_shared_app")
        if shared is None:
            shared = self.build_app()
            cls._shared_app = shared  # type: ignore[attr-defined]

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            scope[SERVICE_KEY] = self
            await shared(scope, receive, send)
        return app

    @property
    def running(self) -> bool:
        return self._sock is not None

    @property
    def address(self) -> tuple[str, int]:
        if self._sock is None:
            raise RuntimeError("server is not started")
        host, port = self._sock.getsockname()[:2]
        return str(host), int(port)

    @property
    def base_url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"

    def start(self) -> "ASGIService":
        if self._sock is not None:
            return self
        import uvicorn

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(self._address)
            sock.listen(128)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        config = uvicorn.Config(self._app(), log_config=None, access_log=False,
                                lifespan="off", http="h11", loop="asyncio",
                                timeout_keep_alive=5, server_header=False)
        server = uvicorn.Server(config)
        ready = threading.Event()
        self._error = None
        thread = threading.Thread(target=self._run, args=(server, sock, ready),
                                  name=f"{type(self).__name__}-http", daemon=True)
        self._sock, self._thread = sock, thread
        thread.start()
        ready.wait()
        if self._error is not None:
            error, self._error = self._error, None
            self._thread = None
            thread.join()
            self._sock = None
            sock.close()
            raise OSError(f"{type(self).__name__} did not start: {error}")
        return self

    def _run(self, server: Any, sock: socket.socket, ready: threading.Event) -> None:
        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            try:
                config = server.config
                if not config.loaded:
                    config.load()
                server.lifespan = config.lifespan_class(config)  # what Server._serve sets up
                await server.startup(sockets=[sock])
            except BaseException as exc:  # noqa: BLE001 - reported by start()
                self._error = exc
                ready.set()
                return
            ready.set()
            await self._stop.wait()
            await self._shutdown(server)

        asyncio.run(serve())

    async def _shutdown(self, server: Any) -> None:
        for listener in server.servers:
            listener.close()
        state = server.server_state
        for connection in list(state.connections):
            connection.shutdown()  # idle keep-alive: closed now; busy: closed after its answer
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.close_timeout
        while (state.connections or state.tasks) and loop.time() < deadline:
            await asyncio.sleep(self.poll)
        for task in list(state.tasks):
            task.cancel()
        for listener in server.servers:
            await listener.wait_closed()

    def close(self) -> None:
        sock, thread, loop, stop = self._sock, self._thread, self._loop, self._stop
        if sock is None:
            return
        self._sock = self._thread = self._loop = self._stop = None
        if loop is not None and stop is not None:
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:  # the loop already ended
                pass
        if thread is not None:
            thread.join(timeout=self.close_timeout + 5)
        sock.close()

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
    headers: dict[str, str] = field(default_factory=dict)

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
            return Response(resp.status, resp.read(read_limit), headers=dict(resp.headers))
    except urllib.error.HTTPError as e:
        try:
            payload = e.read(read_limit)
        finally:
            e.close()
        return Response(e.code, payload, headers=dict(e.headers or {}))
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        return Response(None, b"", one_line(f"{type(e).__name__}: {reason}"))


