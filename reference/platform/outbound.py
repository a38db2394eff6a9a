"""The platform's outbound HTTP calls to the customer's endpoints (guide 5.1).

- `dial_whom(url, ...)`: the Dial Whom GET (5.1.1). A 200 whose destination is `sip:<remoteId>`
  gives a `DialWhomResult`; anything else a `DialWhomFailure` with a reason.
- `push(url, ...)`: the push POST (5.1.2) with the basic-auth credentials carried in the URL
  and no custom header; anything but 200 is a `PushOutcome` with ok=False.

Decisions (where the guide is loose):
- The 200 body is the guide's JSON object (extra keys such as request_id, http_code are
  ignored). The guide's example ends with one `}` too many, as if the object were wrapped, so a
  body `{"response": {...}}` is unwrapped. The guide's prose also says "the response body should
  be a string of type sip:<remoteId>", so a plain-text body `sip:<remoteId>` is accepted with the
  defaults.
- Every destination number must be `sip:<subscriber name>` (SIP and PSTN are not intermixed);
  the first is the callee (`remote_id`).
- Types are strict (`"record": "false"` is a failure, not a coercion).
"""

from __future__ import annotations

import urllib.parse
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from exovoice.spec.arguments import subscriber_name_problem
from exovoice.spec.endpoints import (
    DEFAULT_MAX_CONVERSATION,
    DEFAULT_MAX_RINGING,
    DialWhomResponse,
    PushRequest,
    dial_whom_query,
    unwrap_dial_whom_body,
)

from ..wire.http import one_line, request


# --- Dial Whom ---------------------------------------------------------------------------------
class DialWhomResult(BaseModel):
    """Where to bridge the call: the callee's subscriber name and the call's limits."""

    model_config = ConfigDict(frozen=True)
    ok: Literal[True] = True
    remote_id: str
    remote_ids: list[str]
    numbers: list[str]
    outgoing_phone_number: str | None = None
    record: bool = False
    recording_channels: Literal["single", "dual"] = "dual"
    max_ringing_duration: int = DEFAULT_MAX_RINGING
    max_conversation_duration: int = DEFAULT_MAX_CONVERSATION
    fetch_after_attempt: bool = False
    query: dict[str, str] = {}  # what was sent


class DialWhomFailure(BaseModel):
    model_config = ConfigDict(frozen=True)
    ok: Literal[False] = False
    reason: str
    http_status: int | None = None
    query: dict[str, str] = {}


def parse_dial_whom(status: int | None, body: bytes, *, error: str | None = None,
                    query: dict[str, str] | None = None) -> DialWhomResult | DialWhomFailure:
    """Judge a Dial Whom answer (exposed for tests that have no server)."""
    query = query or {}

    def fail(reason: str) -> DialWhomFailure:
        return DialWhomFailure(reason=one_line(reason), http_status=status, query=query)

    if status is None:
        return fail(f"Dial Whom endpoint unreachable: {error}")
    if status != 200:
        snippet = body[:200].decode("utf-8", "replace")
        return fail(f"Dial Whom endpoint answered HTTP {status}" + (f": {snippet}" if snippet
                                                                    else ""))
    text = body.decode("utf-8", "replace").strip()
    try:
        data: Any = unwrap_dial_whom_body(text)
    except ValueError:
        return fail(f"Dial Whom body is neither JSON nor sip:<remoteId>: {text[:80]!r}")
    if not isinstance(data, dict):
        return fail("Dial Whom body is not a JSON object")
    try:
        wire = DialWhomResponse.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return fail(f"Dial Whom body is invalid at {where}: {first['msg']}")
    remote_ids = []
    for number in wire.destination.numbers:
        if not number.startswith("sip:"):
            return fail(f"destination {number!r} is not sip:<remoteId> "
                        "(SIP and PSTN intermixing is not supported)")
        remote = number[len("sip:"):]
        problem = subscriber_name_problem(remote)
        if problem:
            return fail(f"destination {number!r}: {problem}")
        remote_ids.append(remote)
    return DialWhomResult(remote_id=remote_ids[0], remote_ids=remote_ids,
                          numbers=list(wire.destination.numbers),
                          outgoing_phone_number=wire.outgoing_phone_number, record=wire.record,
                          recording_channels=wire.recording_channels,
                          max_ringing_duration=wire.max_ringing_duration,
                          max_conversation_duration=wire.max_conversation_duration,
                          fetch_after_attempt=wire.fetch_after_attempt, query=query)


def dial_whom(url: str, call_sid: str, call_from: str, call_to: str,
              custom_field: str | None = None, *, timeout: float = 5.0,
              **query_options: Any) -> DialWhomResult | DialWhomFailure:
    """GET the customer's Dial Whom URL with the guide's query; see `dial_whom_query` for the
    options (now, start_time, flow_id, tenant_id, tz)."""
    query = dial_whom_query(call_sid, call_from, call_to, custom_field, **query_options)
    sep = "&" if urllib.parse.urlsplit(url).query else "?"
    full = url + sep + urllib.parse.urlencode(query)
    resp = request("GET", full, timeout=timeout)
    return parse_dial_whom(resp.status, resp.body, error=resp.error, query=query)


# --- push --------------------------------------------------------------------------------------
class PushOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)
    ok: bool
    http_status: int | None = None
    reason: str | None = None  # why it failed


def push(url: str, subscriber_name: str, payload: str, payload_version: int = 1, *,
         timeout: float = 5.0) -> PushOutcome:
    """POST `{subscriberName, payload, payloadVersion}` as JSON to the customer's push URL.

    The URL's userinfo (`https://key:token@host/...`) is sent as HTTP basic auth; no other
    header than Content-Type and Authorization. 200 is success, anything else failure."""
    body = PushRequest(subscriberName=subscriber_name, payload=payload,
                       payloadVersion=payload_version).model_dump()
    resp = request("POST", url, body=body, timeout=timeout)
    if resp.status == 200:
        return PushOutcome(ok=True, http_status=200)
    if resp.status is None:
        return PushOutcome(ok=False, reason=one_line(f"push endpoint unreachable: {resp.error}"))
    snippet = resp.body[:200].decode("utf-8", "replace")
    return PushOutcome(ok=False, http_status=resp.status,
                       reason=one_line(f"push endpoint answered HTTP {resp.status}"
                                       + (f": {snippet}" if snippet else "")))
