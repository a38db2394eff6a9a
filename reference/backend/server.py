"""A sample customer backend: the two endpoints the platform calls (guide 5.1).

    GET  /v1/accounts/<account>/dialtonumber?CallSid=&CallFrom=&CallTo=&...[&CustomField=]
    POST /v1/accounts/<account>/pushtoclient   (basic auth; JSON subscriberName, payload,
                                                payloadVersion)

`CustomerBackend(routing, push_channel, api_key=, api_token=)`; `dial_whom_url` and `push_url`
(with the credentials in the URL, as the platform is configured) once started.

Dial Whom: CallSid, CallFrom and CallTo are required (else 400). The callee is looked up by
CustomField first (when given and routed), then by the caller (CallFrom without `sip:`); an
unrouted call is 404. The 200 body is the guide's JSON (destination.numbers = ["sip:<id>"],
outgoing_phone_number, record, recording_channels, max_ringing_duration,
max_conversation_duration, fetch_after_attempt, request_id, method, http_code, code,
error_data, status).

Push: 401 on missing or wrong credentials, 400 on a malformed body, 404 when no device is
registered for the subscriber (the platform learns the push did not go out), else the data
message goes to the push channel and the answer is 200.

Served with FastAPI on uvicorn (HTTP/1.1, keep-alive); every answer is JSON. The endpoints'
logic (`answer_dial_whom`, `answer_push`) is plain Python, so a test or a subclass can script
it; `record(method, path, headers)` sees every request first.
"""

from __future__ import annotations

import json
import urllib.parse
import uuid
from dataclasses import dataclass, field
from typing import Any

from ..wire.http import ASGIService, credentials_match, one_line
from .pushchannel import PushChannel

Route = str | list[str]  # a remote id (answered as sip:<id>) or numbers answered verbatim


@dataclass
class RoutingTable:
    """Who to call. Values are subscriber names, or a list of destination numbers answered
    verbatim (to play a misconfigured backend, e.g. a PSTN number)."""

    by_caller: dict[str, Route] = field(default_factory=dict)
    by_custom_field: dict[str, Route] = field(default_factory=dict)

    def resolve(self, call_from: str, custom_field: str | None) -> list[str] | None:
        route: Route | None = None
        if custom_field is not None:
            route = self.by_custom_field.get(custom_field)
        if route is None:
            caller = call_from[len("sip:"):] if call_from.startswith("sip:") else call_from
            route = self.by_caller.get(caller)
        if route is None:
            return None
        return [f"sip:{route}"] if isinstance(route, str) else list(route)


@dataclass
class DialWhomReply:
    """The fixed part of the Dial Whom answer."""

    outgoing_phone_number: str = "08080808080"
    record: bool = False
    recording_channels: str = "dual"
    max_ringing_duration: int = 30
    max_conversation_duration: int = 3600
    fetch_after_attempt: bool = False


REQUIRED_QUERY = ("CallSid", "CallFrom", "CallTo")


class CustomerBackend(ASGIService):
    def __init__(self, routing: RoutingTable | None = None,
                 push_channel: PushChannel | None = None, *, api_key: str = "pushkey",
                 api_token: str = "pushtoken", account: str = "exotel",
                 reply: DialWhomReply | None = None, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        super().__init__(host, port)
        self.routing = routing or RoutingTable()
        self.push_channel = push_channel or PushChannel()
        self.api_key, self.api_token = api_key, api_token
        self.account = account
        self.reply = reply or DialWhomReply()
        self.dial_whom_requests: list[dict[str, str]] = []  # every query received
        self.push_requests: list[Any] = []  # every accepted push body

    @property
    def dial_whom_path(self) -> str:
        return f"/v1/accounts/{self.account}/dialtonumber"

    @property
    def push_path(self) -> str:
        return f"/v1/accounts/{self.account}/pushtoclient"

    @property
    def dial_whom_url(self) -> str:
        return self.base_url + self.dial_whom_path

    def push_url_with(self, api_key: str, api_token: str) -> str:
        host, port = self.address
        q = urllib.parse.quote
        return f"http://{q(api_key, safe='')}:{q(api_token, safe='')}@{host}:{port}" \
               f"{self.push_path}"

    @property
    def push_url(self) -> str:
        """The push URL with this backend's credentials in it (what the platform is given)."""
        return self.push_url_with(self.api_key, self.api_token)

    def build_app(self) -> Any:
        from .app import backend_app  # FastAPI is imported by the process that serves

        return backend_app()

    def record(self, method: str, path: str, headers: dict[str, str]) -> None:
        """Hook: every request, before it is answered."""

    # --- the endpoints' logic, without HTTP -------------------------------------------------
    def answer_dial_whom(self, params: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        for name, values in params.items():
            if len(values) > 1:
                return 400, _error(400, f"query parameter {name} given more than once")
        query = {k: v[0] for k, v in params.items()}
        self.dial_whom_requests.append(query)
        missing = [k for k in REQUIRED_QUERY if not query.get(k)]
        if missing:
            return 400, _error(400, f"missing query parameters: {', '.join(missing)}")
        numbers = self.routing.resolve(query["CallFrom"], query.get("CustomField"))
        if numbers is None:
            return 404, _error(404, f"no callee for caller {query['CallFrom']}"
                               + (f" / CustomField {query['CustomField']}"
                                  if "CustomField" in query else ""))
        r = self.reply
        return 200, {"fetch_after_attempt": r.fetch_after_attempt,
                     "destination": {"numbers": numbers},
                     "outgoing_phone_number": r.outgoing_phone_number, "record": r.record,
                     "recording_channels": r.recording_channels,
                     "max_ringing_duration": r.max_ringing_duration,
                     "max_conversation_duration": r.max_conversation_duration,
                     "request_id": uuid.uuid4().hex, "method": "GET", "http_code": 200,
                     "code": None, "error_data": None, "status": None}

    def answer_push(self, auth: tuple[str, str] | None, raw: bytes) -> tuple[int, dict]:
        if not credentials_match(auth, self.api_key, self.api_token):
            return 401, _error(401, "bad or missing basic-auth credentials")
        try:
            body = json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError) as e:
            return 400, _error(400, f"malformed JSON: {e}")
        if not isinstance(body, dict):
            return 400, _error(400, "body must be a JSON object")
        name, payload, version = (body.get("subscriberName"), body.get("payload"),
                                  body.get("payloadVersion"))
        if not isinstance(name, str) or not name:
            return 400, _error(400, "subscriberName must be a non-empty string")
        if not isinstance(payload, str) or not payload:
            return 400, _error(400, "payload must be a non-empty string")
        if isinstance(version, bool) or not isinstance(version, int):
            return 400, _error(400, "payloadVersion must be a whole number")
        self.push_requests.append(body)
        message = {"subscriberName": name, "payload": payload, "payloadVersion": version}
        delivered = self.push_channel.deliver(name, message)
        if not delivered:
            return 404, _error(404, f"no device registered for {name}")
        return 200, {"status": "delivered", "devices": delivered}


def _error(code: int, message: str) -> dict[str, Any]:
    return {"http_code": code, "status": "failure", "message": one_line(message)}
