"""The customer's endpoints the platform calls (guide 5.1), as payload models: what the
platform sends and what it needs back. One definition, read by the platform simulator when it
calls a backend (exovoice.reference.platform.outbound) and by `exovoice probe-backend` when it
judges a customer's live backend.

- Dial Whom (5.1.1): GET with the query fields of `dial_whom_query`, in the guide's order;
  a 200 whose body is `DialWhomResponse` (extra keys such as request_id, http_code ignored),
  every destination number `sip:<remoteId>`. The guide's prose also allows a plain-text body
  `sip:<remoteId>`; its example ends with one `}` too many, as if the object were wrapped,
  so `{"response": {...}}` is unwrapped. Types are strict (`"record": "false"` is wrong).
- Push (5.1.2): POST `PushRequest` as JSON, basic-auth credentials from the URL's userinfo, no
  other header; 200 is success, anything else failure.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

# The guide's Dial Whom example writes the epoch as "1970-01-01 05:30:00": platform times are
# India Standard Time.
IST = timezone(timedelta(hours=5, minutes=30), "IST")
DEFAULT_MAX_RINGING = 30
DEFAULT_MAX_CONVERSATION = 3600
PAYLOAD_VERSION = 1
HTTP_TIMEOUT = 5.0  # s the platform waits for either endpoint's answer


class Destination(BaseModel):
    model_config = ConfigDict(extra="ignore")
    numbers: list[StrictStr] = Field(min_length=1)


class DialWhomResponse(BaseModel):
    """The wire shape of a Dial Whom 200 body (guide 5.1.1)."""

    model_config = ConfigDict(extra="ignore")
    destination: Destination
    outgoing_phone_number: StrictStr | None = None
    record: StrictBool = False
    recording_channels: Literal["single", "dual"] = "dual"
    max_ringing_duration: StrictInt = Field(DEFAULT_MAX_RINGING, gt=0)
    max_conversation_duration: StrictInt = Field(DEFAULT_MAX_CONVERSATION, gt=0)
    fetch_after_attempt: StrictBool = False


class PushRequest(BaseModel):
    """The body the platform POSTs to the push endpoint (guide 5.1.2)."""

    model_config = ConfigDict(extra="forbid")
    subscriberName: StrictStr
    payload: StrictStr
    payloadVersion: StrictInt = PAYLOAD_VERSION


def _fmt(ts: float, tz: tzinfo, pattern: str) -> str:
    return datetime.fromtimestamp(ts, tz).strftime(pattern)


def dial_whom_query(call_sid: str, call_from: str, call_to: str,
                    custom_field: str | None = None, *, now: float | None = None,
                    start_time: float | None = None, flow_id: str = "249196",
                    tenant_id: str = "113828", tz: tzinfo = IST) -> dict[str, str]:
    """The query fields of guide 5.1.1, in the guide's order; CustomField only if given."""
    now = time.time() if now is None else now
    start = now if start_time is None else start_time
    long_date, stamp = "%a, %d %b %Y %H:%M:%S", "%Y-%m-%d %H:%M:%S"
    query = {
        "CallSid": call_sid,
        "CallFrom": call_from,
        "CallTo": call_to,
        "CallStatus": "ringing",
        "Direction": "incoming",
        "Created": _fmt(start, tz, long_date),
        "DialCallDuration": "0",
        "StartTime": _fmt(start, tz, stamp),
        "EndTime": _fmt(0, tz, stamp),  # not ended yet: the epoch, as in the guide
        "CallType": "call-attempt",
        "DialWhomNumber": "",
        "flow_id": str(flow_id),
        "tenant_id": str(tenant_id),
        "From": call_from,
        "To": call_to,
        "CurrentTime": _fmt(now, tz, stamp),
    }
    if custom_field is not None:
        query["CustomField"] = custom_field
    return query


def unwrap_dial_whom_body(text: str) -> object:
    """The Dial Whom body as the platform reads it: `sip:<id>` text as a one-number
    destination, else JSON, a `{"response": {...}}` wrapper removed. Raises ValueError when it
    is neither."""
    import json

    text = text.strip()
    if text.startswith("sip:") and "\n" not in text and " " not in text:
        return {"destination": {"numbers": [text]}}
    data = json.loads(text)
    if isinstance(data, dict) and "destination" not in data and isinstance(
            data.get("response"), dict):
        data = data["response"]
    return data
