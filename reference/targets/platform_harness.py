"""The `platform` operation of the adapter protocol (docs/adapter-protocol.md, version-1
extension) for the reference: the platform simulator (`exovoice.reference.platform.ExotelPlatform`)
and the sample customer backend (`exovoice.reference.backend.CustomerBackend`), both served over real
HTTP on ephemeral 127.0.0.1 ports, wired together as a customer would configure them.

`PlatformHarness.op(name, args) -> dict` answers the operations:

- `setup` {dialWhomAnswer?: str, dialWhomStatus?: int, pushStatus?: int, wrongAuth?: bool,
  voipEnabled?: bool, subscribers?: [str]}: (re)start both servers. `dialWhomAnswer` is the
  destination number the Dial Whom endpoint answers for any caller (default `sip:bob`);
  `dialWhomStatus` / `pushStatus` make the endpoint answer that HTTP status instead;
  `wrongAuth` makes the Subscriber Management API calls use wrong basic-auth credentials;
  `subscribers` are created before the scenario acts.
- `dial_whom` {from: str, to?: str, customField?: str}: the platform asks the Dial Whom
  endpoint about a call; answers the outcome and what the backend received (`received`: the
  query fields).
- `push` {subscriber: str, callerId?: str}: the platform pushes a call; answers the outcome and
  what the backend received (`received`: method, headers, body).
- `provision` {subscribers: [str]}: POST subscribers; answers {status, body}.
- `token` {subscriber: str, deviceId?: str, devicePlatform?: str}: POST subscriber-token;
  answers {status, body}.

A bad argument raises ValueError; `close()` stops both servers (their threads are joined).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from ..backend import CustomerBackend, PushChannel, RoutingTable
from ..backend.server import _error
from ..platform import Account, ExotelPlatform, SubscriberApi, new_call_sid

ACCOUNT_SID = "exotel1"
API_KEY, API_TOKEN = "apikey", "apitoken"
DEFAULT_ANSWER = "sip:bob"
OPS = ("setup", "dial_whom", "push", "provision", "token")


class _AnyCaller(RoutingTable):
    """Routes every call to one fixed destination number, answered verbatim."""

    def __init__(self, number: str) -> None:
        super().__init__()
        self.number = number

    def resolve(self, call_from: str, custom_field: str | None) -> list[str] | None:
        return [self.number]


class ScriptedBackend(CustomerBackend):
    """The sample backend, recording every request's method and headers, whose endpoints can
    be told to answer a fixed HTTP status."""

    def __init__(self, routing: RoutingTable, push_channel: PushChannel, *,
                 dial_whom_status: int | None = None, push_status: int | None = None) -> None:
        super().__init__(routing, push_channel)
        self.dial_whom_status, self.push_status = dial_whom_status, push_status
        self.received: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def record(self, method: str, path: str, headers: dict[str, str]) -> None:
        with self.lock:
            self.received.append({"method": method, "path": path, "headers": headers})

    def answer_dial_whom(self, params: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        status, body = super().answer_dial_whom(params)
        if self.dial_whom_status is not None:
            return self.dial_whom_status, _error(self.dial_whom_status, "scripted answer")
        return status, body

    def answer_push(self, auth: tuple[str, str] | None, raw: bytes) -> tuple[int, dict]:
        if self.push_status is None:
            return super().answer_push(auth, raw)
        try:  # keep what was sent, deliver nothing
            self.push_requests.append(json.loads(raw) if raw else None)
        except (ValueError, UnicodeDecodeError):
            self.push_requests.append(None)
        return self.push_status, _error(self.push_status, "scripted answer")


def _opt_int(args: dict[str, Any], key: str) -> int | None:
    value = args.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
        raise ValueError(f"{key} must be an HTTP status code")
    return value


def _str(args: dict[str, Any], key: str, default: str | None = None) -> str:
    value = args.get(key, default)
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a string")
    return value


def _names(args: dict[str, Any], key: str) -> list[str]:
    value = args.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key} must be a list of subscriber names")
    return value


class PlatformHarness:
    def __init__(self) -> None:
        self.platform: ExotelPlatform | None = None
        self.backend: ScriptedBackend | None = None
        self.channel = PushChannel()
        self.api: SubscriberApi | None = None

    def op(self, name: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        args = dict(args or {})
        if name == "setup":
            return self._setup(args)
        if name not in OPS:
            raise ValueError(f"unknown platform operation {name!r}")
        if self.platform is None:
            self._setup({})
        return getattr(self, f"_{name}")(args)

    def close(self) -> None:
        for server in (self.platform, self.backend):
            if server is not None:
                server.close()
        self.platform = self.backend = self.api = None

    # --- operations ---------------------------------------------------------------------
    def _setup(self, args: dict[str, Any]) -> dict[str, Any]:
        self.close()
        answer = _str(args, "dialWhomAnswer", DEFAULT_ANSWER)
        voip = args.get("voipEnabled", True)
        if not isinstance(voip, bool) or not isinstance(args.get("wrongAuth", False), bool):
            raise ValueError("voipEnabled and wrongAuth must be booleans")
        subscribers = _names(args, "subscribers")
        self.channel = PushChannel()
        backend = ScriptedBackend(_AnyCaller(answer), self.channel,
                                  dial_whom_status=_opt_int(args, "dialWhomStatus"),
                                  push_status=_opt_int(args, "pushStatus"))
        backend.start()
        self.backend = backend
        account = Account(ACCOUNT_SID, API_KEY, API_TOKEN, voip_enabled=voip,
                          dial_whom_url=backend.dial_whom_url, push_url=backend.push_url)
        self.platform = ExotelPlatform([account])
        self.platform.start()
        token = "not-" + API_TOKEN if args.get("wrongAuth") else API_TOKEN
        self.api = SubscriberApi(self.platform.api_url(ACCOUNT_SID), API_KEY, token)
        store = self.platform.subscribers(ACCOUNT_SID)
        for sub in subscribers:
            store.create({"subscriber_name": sub})
        return {"accountSid": ACCOUNT_SID, "apiUrl": self.platform.api_url(ACCOUNT_SID),
                "dialWhomUrl": backend.dial_whom_url,
                "pushUrl": backend.base_url + backend.push_path}

    def _dial_whom(self, args: dict[str, Any]) -> dict[str, Any]:
        assert self.platform is not None and self.backend is not None
        caller = _str(args, "from")
        call_from = caller if caller.startswith("sip:") else f"sip:{caller}"
        account = self.platform.account(ACCOUNT_SID)
        custom = args.get("customField")
        if custom is not None and not isinstance(custom, str):
            raise ValueError("customField must be a string")
        before = len(self.backend.dial_whom_requests)
        out = self.platform.dial_whom(new_call_sid(), call_from,
                                      _str(args, "to", account.sip_exophone), custom,
                                      account_sid=ACCOUNT_SID)
        got = self.backend.dial_whom_requests[before:]
        result: dict[str, Any] = {"ok": out.ok, "sent": dict(out.query),
                                  "received": dict(got[-1]) if got else None}
        if out.ok:
            result.update(remoteId=out.remote_id, numbers=list(out.numbers),
                          transport="voip" if all(n.startswith("sip:") for n in out.numbers)
                          else "pstn")
        else:
            result.update(reason=out.reason, httpStatus=out.http_status)
        return result

    def _push(self, args: dict[str, Any]) -> dict[str, Any]:
        assert self.platform is not None and self.backend is not None
        subscriber = _str(args, "subscriber")
        device = self.channel.register(subscriber, f"device-{subscriber}")
        payload = self.platform.issue_push_payload(subscriber, _str(args, "callerId", "alice"))
        with self.backend.lock:
            before = len(self.backend.received)
        bodies = len(self.backend.push_requests)
        out = self.platform.push(subscriber, payload, account_sid=ACCOUNT_SID)
        with self.backend.lock:
            requests = self.backend.received[before:]
        body = self.backend.push_requests[bodies:]
        received = None
        if requests:
            received = {**requests[-1], "body": body[-1] if body else None}
        return {"ok": out.ok, "httpStatus": out.http_status, "reason": out.reason,
                "received": received, "delivered": device.pending()}

    def _provision(self, args: dict[str, Any]) -> dict[str, Any]:
        assert self.api is not None
        resp = self.api.create([{"subscriber_name": n} for n in _names(args, "subscribers")])
        return _answer(resp)

    def _token(self, args: dict[str, Any]) -> dict[str, Any]:
        assert self.api is not None
        resp = self.api.token(_str(args, "subscriber"), _str(args, "deviceId", "device-1"),
                              _str(args, "devicePlatform", "android"))
        return _answer(resp)


def _answer(resp: Any) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        body = resp.body.decode("utf-8", "replace")
    return {"status": resp.status, "body": body}
