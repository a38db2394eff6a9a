"""The checks of `exovoice probe-backend`: a customer's live Dial Whom and push endpoints judged
against guide 5.1 as the platform calls them (exovoice.spec.endpoints holds the payloads).

Every check sends what the platform sends and judges one thing of the answer, so a backend
wrong in one way fails one check. Only the two URLs given are contacted, each request once.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ..arguments import subscriber_name_problem
from ..endpoints import (
    HTTP_TIMEOUT,
    PAYLOAD_VERSION,
    DialWhomResponse,
    PushRequest,
    dial_whom_query,
    unwrap_dial_whom_body,
)

PASS, FAIL, SKIP = "pass", "fail", "skip"
EXCERPT = 300  # characters of a body kept as evidence


@dataclass
class Check:
    id: str
    section: str
    title: str
    verdict: str = SKIP
    reason: str = ""
    evidence: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "section": self.section, "title": self.title,
                "verdict": self.verdict, "reason": self.reason, "evidence": self.evidence}


@dataclass
class Exchange:
    """One request and what came back (status None: no answer)."""

    method: str
    url: str
    sent: Any
    status: int | None
    content_type: str
    text: str
    seconds: float
    error: str | None = None

    def evidence(self) -> dict[str, Any]:
        return {"request": f"{self.method} {self.url}", "sent": self.sent,
                "status": self.status, "content_type": self.content_type,
                "body": self.text[:EXCERPT], "seconds": round(self.seconds, 3),
                **({"error": self.error} if self.error else {})}


@dataclass
class Target:
    dial_whom_url: str | None
    push_url: str | None
    push_auth: tuple[str, str] | None
    caller: str = "alice"
    custom_field: str | None = None
    subscriber: str = "bob"
    limit: float = HTTP_TIMEOUT  # s the platform waits for an answer


def _redacted(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url
    host = parts.hostname or ""
    netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """`http://user:pw@host/p` -> (`http://host/p`, (user, pw)), as the platform reads a push
    URL configured with its credentials."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url, None
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    clean = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    return clean, (urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or ""))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """The platform does not follow redirects: a 3xx is the answer."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Prober:
    def __init__(self, target: Target) -> None:
        self.t = target
        self.opener = urllib.request.build_opener(_NoRedirect, urllib.request.ProxyHandler({}))

    def _send(self, method: str, url: str, *, params: dict[str, str] | None = None,
              json_body: Any = None, auth: tuple[str, str] | None = None) -> Exchange:
        query = urllib.parse.urlencode(params) if params else ""
        full = url + (("&" if urllib.parse.urlsplit(url).query else "?") + query if query
                      else "")
        shown = _redacted(full)
        data = None if json_body is None else json.dumps(json_body).encode()
        req = urllib.request.Request(full, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if auth is not None:
            pair = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            req.add_header("Authorization", f"Basic {pair}")
        start = time.monotonic()
        try:
            with self.opener.open(req, timeout=self.t.limit * 2 + 1) as resp:
                status, headers, raw = resp.status, resp.headers, resp.read(1 << 20)
        except urllib.error.HTTPError as e:
            status, headers = e.code, e.headers
            try:
                raw = e.read(1 << 20)
            finally:
                e.close()
        except (urllib.error.URLError, OSError, ValueError) as e:
            why = getattr(e, "reason", e)
            return Exchange(method, shown, json_body, None, "", "", time.monotonic() - start,
                            f"{type(e).__name__}: {why}")
        took = time.monotonic() - start
        return Exchange(method, shown, json_body, status, headers.get("Content-Type", ""),
                        raw.decode("utf-8", "replace"), took)

    # --- Dial Whom (5.1.1) --------------------------------------------------------------------
    def dial_whom(self) -> list[Check]:
        url = self.t.dial_whom_url
        checks = [
            Check("dial-whom.status", "5.1.1", "a known caller is answered 200 OK"),
            Check("dial-whom.content-type", "5.1.1",
                  "the answer is JSON (application/json), or text/plain sip:<remoteId>"),
            Check("dial-whom.body", "5.1.1", "the body has the fields and types the platform "
                  "reads, destination.numbers all sip:<remoteId>"),
            Check("dial-whom.time", "5.1.1", "answered within the platform's limit"),
            Check("dial-whom.unknown-caller", "5.1.1",
                  "a caller the backend does not route is not answered 200"),
        ]
        if url is None:
            for c in checks:
                c.reason = "no Dial Whom URL given"
            return checks
        status, ctype, body, timing, unknown = checks
        query = dial_whom_query(secrets.token_hex(16), f"sip:{self.t.caller}",
                                "sip:08040408080", self.t.custom_field)
        ex = self._send("GET", url, params=query)
        for c in (status, ctype, body, timing):
            c.evidence.append(ex.evidence())
        if ex.status is None:
            for c in (status, ctype, body, timing):
                c.verdict, c.reason = FAIL, f"no answer: {ex.error}"
        else:
            _judge_status(status, ex)
            _judge_content_type(ctype, ex)
            _judge_body(body, ex)
            _judge_time(timing, ex, self.t.limit)
        stranger = f"nobody{secrets.token_hex(3)}"
        ex2 = self._send("GET", url, params=dial_whom_query(
            secrets.token_hex(16), f"sip:{stranger}", "sip:08040408080"))
        unknown.evidence.append(ex2.evidence())
        if ex2.status is None:
            unknown.verdict, unknown.reason = FAIL, f"no answer: {ex2.error}"
        elif ex2.status == 200:
            unknown.verdict = FAIL
            unknown.reason = (f"caller {stranger} (routed by nobody) was answered 200: the "
                              "platform would ring whoever it names")
        else:
            unknown.verdict = PASS
            unknown.reason = f"HTTP {ex2.status}: the platform fails the call cleanly"
        return checks

    # --- push (5.1.2) -------------------------------------------------------------------------
    def push(self) -> list[Check]:
        checks = [
            Check("push.status", "5.1.2", "a push with the platform's body and credentials is "
                  "answered 200 OK"),
            Check("push.time", "5.1.2", "answered within the platform's limit"),
            Check("push.refuses-bad-credentials", "5.1.2",
                  "a push with wrong or no credentials is refused (not 2xx)"),
        ]
        if self.t.push_url is None:
            for c in checks:
                c.reason = "no push URL given"
            return checks
        status, timing, refuse = checks
        url, in_url = split_credentials(self.t.push_url)
        auth = self.t.push_auth or in_url
        body = PushRequest(subscriberName=self.t.subscriber, payload=_probe_payload(),
                           payloadVersion=PAYLOAD_VERSION).model_dump()
        ex = self._send("POST", url, json_body=body, auth=auth)
        for c in (status, timing):
            c.evidence.append(ex.evidence())
        if ex.status is None:
            for c in (status, timing):
                c.verdict, c.reason = FAIL, f"no answer: {ex.error}"
        else:
            _judge_status(status, ex)
            _judge_time(timing, ex, self.t.limit)
        if auth is None:
            refuse.reason = "no push credentials given (in the URL, the environment or a file)"
            return checks
        wrong = (auth[0], auth[1] + "-wrong")
        accepted = []
        for label, creds in (("wrong password", wrong), ("no credentials", None)):
            bad = self._send("POST", url, json_body=body, auth=creds)
            refuse.evidence.append({"case": label, **bad.evidence()})
            if bad.status is not None and 200 <= bad.status < 300:
                accepted.append(f"{label}: HTTP {bad.status}")
        if accepted:
            refuse.verdict = FAIL
            refuse.reason = "accepted " + "; ".join(accepted) + ": anyone can push to devices"
        else:
            refuse.verdict, refuse.reason = PASS, "wrong and missing credentials refused"
        return checks


def _probe_payload() -> str:
    """A payload shaped like the platform's (a JWT string the backend passes on untouched);
    signed by no one: a backend has no business reading it."""
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    now = int(time.time())
    return ".".join((part({"alg": "HS256", "typ": "JWT"}),
                     part({"iss": "exotel", "probe": True, "iat": now, "exp": now + 30}),
                     secrets.token_urlsafe(32)))


def _judge_status(c: Check, ex: Exchange) -> None:
    if ex.status == 200:
        c.verdict, c.reason = PASS, "HTTP 200"
    else:
        c.verdict = FAIL
        c.reason = f"HTTP {ex.status}: the platform treats anything but 200 as failure"


def _judge_content_type(c: Check, ex: Exchange) -> None:
    media = ex.content_type.split(";")[0].strip().lower()
    text = ex.text.strip()
    if media == "application/json" or media.endswith("+json"):
        c.verdict, c.reason = PASS, f"Content-Type {media}"
    elif media == "text/plain" and text.startswith("sip:"):
        c.verdict, c.reason = PASS, "text/plain sip:<remoteId>"
    else:
        c.verdict = FAIL
        c.reason = f"Content-Type {media or '(none)'}: the platform reads JSON or sip:<remoteId>"


def _judge_body(c: Check, ex: Exchange) -> None:
    try:
        data = unwrap_dial_whom_body(ex.text)
    except ValueError:
        c.reason = "not judged: the body is neither JSON nor sip:<remoteId> (see content-type)"
        return
    if not isinstance(data, dict):
        c.verdict, c.reason = FAIL, "the body is not a JSON object"
        return
    try:
        wire = DialWhomResponse.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        c.verdict, c.reason = FAIL, f"{where}: {first['msg']}"
        return
    for number in wire.destination.numbers:
        remote = number[len("sip:"):] if number.startswith("sip:") else None
        problem = ("not sip:<remoteId> (SIP and PSTN intermixing is not supported)"
                   if remote is None else subscriber_name_problem(remote))
        if problem:
            c.verdict, c.reason = FAIL, f"destination.numbers {number!r}: {problem}"
            return
    c.verdict, c.reason = PASS, f"destination {', '.join(wire.destination.numbers)}"


def _judge_time(c: Check, ex: Exchange, limit: float) -> None:
    if ex.seconds <= limit:
        c.verdict, c.reason = PASS, f"{ex.seconds * 1000:.0f} ms (limit {limit:g} s)"
    else:
        c.verdict = FAIL
        c.reason = (f"{ex.seconds:.2f} s: the platform gives up after {limit:g} s and fails "
                    "the call")


def probe(target: Target) -> list[Check]:
    """Every check, Dial Whom's then push's."""
    p = Prober(target)
    return p.dial_whom() + p.push()
