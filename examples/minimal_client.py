#!/usr/bin/env python3
"""A minimal Exotel Voice client harness for exovoice's adapter protocol, written from
docs/adapter-protocol.md and the integration guide alone, as a third party would: no exovoice
code, the Python standard library only, a small call state machine of its own.

    exovoice conform --client-cmd "python3 examples/minimal_client.py"
    exovoice conform --client-cmd "python3 examples/minimal_client.py --late"
    exovoice conform --client-cmd "python3 examples/minimal_client.py --late --no-cause"

It declares `core`, `network` and `call-details`, and gives every event the `cause` the
protocol asks for: the id of the request it was handling, or had handled last, when the event
happened. With --late it sends every event only after its request's answer: when the next
request arrives (before taking it), or once nothing has arrived for a few milliseconds, as a
client on a real network might. Either way the driver writes the trace in causal order.
--no-cause leaves `cause` out, as a client written before it existed would: late events are
then placed by their arrival, and some land after a request that came after them.

It takes no platform control (it refuses them, and the driver falls back to a network
happening) and no getStatistics (it refuses it: the scenario is not run).
"""

from __future__ import annotations

import json
import os
import re
import select
import sys
import time
from typing import Any

CAPABILITIES = ["core", "network", "call-details"]
NAME_OK = re.compile(r"[A-Za-z0-9]{1,15}")  # guide 9.3 a: alphanumeric, fewer than 16
MESSAGE_OK = re.compile(r"[A-Za-z0-9,:{}()\[\]]*")  # guide 4.3.1: the dial message
OUTGOING_PHASE = ("OUTGOING_INITIATED", "EARLY", "RINGING", "CONNECTING")
MEDIA_TROUBLE = ("MEDIA_DISRUPTED", "RENEWING_MEDIA")
LIVE = OUTGOING_PHASE + ("INCOMING", "ANSWERING", "ESTABLISHED") + MEDIA_TROUBLE
IDLE_FLUSH = 0.02  # --late: seconds of quiet on stdin before held events go out


class Refused(Exception):
    """The SDK refuses an operation: the answer is {"result": {"error": ...}}."""


class Unknown(Exception):
    """A request this client does not serve: the answer is {"error": ...}."""


class Client:
    def __init__(self, late: bool, cause: bool = True) -> None:
        self.late = late
        self.cause = cause
        self.held: list[dict[str, Any]] = []
        self.request = 0  # the id of the request being handled, or handled last
        self.fresh(callkit=False)

    def fresh(self, callkit: bool) -> None:
        self.registering = False
        self.initialized = False
        self.calls = 0
        self.call: dict[str, Any] | None = None

    # --- output ------------------------------------------------------------------------
    def send(self, msg: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(msg, separators=(",", ":")) + "\n")
        sys.stdout.flush()

    def event(self, name: str, args: dict[str, Any] | None = None, *, of_call: bool = True
              ) -> None:
        line: dict[str, Any] = {"kind": "callback", "name": name}
        if of_call and self.call is not None:
            line["call"] = self.call["id"]
        if args:
            line["args"] = args
        msg: dict[str, Any] = {"event": line}
        if self.cause:
            msg["cause"] = self.request
        if self.late:
            self.held.append(msg)
        else:
            self.send(msg)

    def flush(self) -> None:
        for msg in self.held:
            self.send(msg)
        self.held = []

    # --- the call ------------------------------------------------------------------------
    @property
    def state(self) -> str | None:
        return self.call["state"] if self.call is not None else None

    def new_call(self, direction: str, remote: str, state: str) -> None:
        self.calls += 1
        self.call = {"id": f"m{self.calls}", "direction": direction, "remote": remote,
                     "state": state, "session": f"session-{self.calls}", "reason": "NONE",
                     "started": time.time(), "established": None, "ended": None}

    def end(self, reason: str) -> None:
        assert self.call is not None
        self.call.update(state="ENDED", reason=reason, ended=time.time())
        self.event("onCallEnded", {"endReason": reason})

    def establish(self) -> None:
        assert self.call is not None
        self.call["state"] = "ESTABLISHED"
        if self.call["established"] is None:
            self.call["established"] = time.time()
        self.event("onCallEstablished")

    def details(self) -> dict[str, Any]:
        c = self.call
        if c is None:
            raise Refused("INVALID_PARAMETER")
        duration = 0.0
        if c["established"] is not None:
            duration = (c["ended"] or time.time()) - c["established"]
        return {"callId": c["id"], "sessionId": c["session"], "callState": c["state"],
                "callDirection": c["direction"], "callEndReason": c["reason"],
                "remoteId": c["remote"], "callDuration": round(duration, 3),
                "callStartedTime": c["started"], "callEstablishedTime": c["established"],
                "callEndedTime": c["ended"]}

    # --- operations ----------------------------------------------------------------------
    def api(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        """The answer's fields besides id: result, call, value."""
        if name == "initialize":
            if not isinstance(args.get("subscriberName"), str) \
                    or not NAME_OK.fullmatch(args["subscriberName"]):
                raise Refused("INVALID_PARAMETER")
            self.registering, self.initialized = True, False
            return {}  # onInitializationSuccess when the platform accepts (net_initialized)
        if name == "getCallDetails":
            return {"value": self.details(), "call": self.call["id"] if self.call else None}
        if name in ("reset", "stop"):
            if self.state in LIVE:
                self.end("LOCAL_HANGUP")
            was = self.initialized or self.registering
            self.initialized = self.registering = False
            if was:
                self.event("onDeinitialized", of_call=False)
            return {}
        if name == "dial":
            if not self.initialized:
                raise Refused("SDK_UNINITIALIZED")
            if self.state in LIVE:
                raise Refused("SYSTEM_BUSY")
            remote, message = args.get("remoteId"), args.get("message")
            if not isinstance(remote, str) or not remote.strip():
                raise Refused("INVALID_DIAL_INFO")
            if message is not None and (not isinstance(message, str)
                                        or not MESSAGE_OK.fullmatch(message)):
                raise Refused("INVALID_PARAMETER")
            self.new_call("OUTGOING", remote, "OUTGOING_INITIATED")
            self.event("onCallInitiated")
            return {"call": self.call["id"]}  # type: ignore[index]
        if name == "relaySessionData":
            if not self.initialized:
                raise Refused("SDK_UNINITIALIZED")
            if "payload" in args:
                raise Refused("PAYLOAD_ERROR")  # no push capability: no payload is readable
            caller = str(args.get("callerId") or "unknown")
            if self.state in LIVE or args.get("ttl") == 0:  # busy, or the caller gave up
                self.event("onMissedCall", {"remoteId": caller, "time": _now()}, of_call=False)
                return {}
            self.new_call("INCOMING", caller, "INCOMING")
            self.event("onIncomingCall")
            return {"call": self.call["id"]}  # type: ignore[index]
        if name == "answer":
            if self.state != "INCOMING":
                raise Refused("INVALID_PARAMETER")
            self.call["state"] = "ANSWERING"  # type: ignore[index]
            return {"call": self.call["id"]}  # type: ignore[index]
        if name == "hangup":
            if self.call is None:
                raise Refused("INVALID_PARAMETER")
            if self.state in LIVE:
                self.call["state"] = "ENDING"
                self.end("LOCAL_HANGUP")
            return {"call": self.call["id"]}
        raise Unknown(f"unsupported operation {name}")

    # --- stimuli -------------------------------------------------------------------------
    def network(self, name: str, args: dict[str, Any]) -> None:
        st = self.state
        outgoing = self.call is not None and self.call["direction"] == "OUTGOING"
        if name == "net_initialized" and self.registering:
            self.registering, self.initialized = False, True
            self.event("onInitializationSuccess", of_call=False)
        elif name == "net_init_failed" and self.registering:
            self.registering = False
            self.event("onInitializationFailure", {"error": "INTERNAL_ERROR"}, of_call=False)
        elif name == "net_token_rejected" and (self.initialized or self.registering):
            self.initialized = self.registering = False
            self.event("onAuthenticationFailure",
                       {"error": args.get("error", "AUTHENTICATION_EXPIRED_TOKEN")},
                       of_call=False)
        elif not outgoing and st == "ANSWERING" and name == "net_answered":
            self.establish()
        elif outgoing and st in OUTGOING_PHASE:
            self.outgoing(name, st)
        elif st == "INCOMING" and name in ("net_remote_hangup", "net_no_answer"):
            self.end("REMOTE_HANGUP" if name == "net_remote_hangup" else "TIMEOUT")
        elif st in ("ANSWERING", "ESTABLISHED") + MEDIA_TROUBLE:
            self.media(name, st)
        # anything else: a happening nothing here answers, ignored (the protocol's rule)

    def outgoing(self, name: str, st: str) -> None:
        if name == "net_early_media" and st == "OUTGOING_INITIATED":
            self.call["state"] = "EARLY"  # type: ignore[index]
        elif name == "net_ringing" and st in ("OUTGOING_INITIATED", "EARLY"):
            self.call["state"] = "RINGING"  # type: ignore[index]
            self.event("onCallRinging")
        elif name == "net_connecting":
            self.call["state"] = "CONNECTING"  # type: ignore[index]
        elif name == "net_answered":
            self.establish()
        elif name in ENDINGS:
            self.end(ENDINGS[name])
        elif name == "net_congestion":
            self.call.update(state="ENDED", reason="FAILURE", ended=time.time())  # type: ignore[union-attr]
            self.event("onCallFailed", {"error": "CONGESTION_ERROR"})

    def media(self, name: str, st: str) -> None:
        if name == "net_remote_hangup":
            self.end("REMOTE_HANGUP")
        elif name == "net_failure":
            self.end("FAILURE")
        elif name == "net_rtp_lost" and st in ("ESTABLISHED", "RENEWING_MEDIA"):
            self.call["state"] = "MEDIA_DISRUPTED"  # type: ignore[index]
            self.event("onMediaDisrupted")
        elif name == "net_rtp_renewing" and st == "MEDIA_DISRUPTED":
            self.call["state"] = "RENEWING_MEDIA"  # type: ignore[index]
            self.event("onRenewingMedia")
        elif name == "net_rtp_restored" and st in MEDIA_TROUBLE:
            self.establish()
        elif name == "net_media_timeout" and st in MEDIA_TROUBLE:
            self.end("MEDIA_TIMEOUT")

    # --- requests ------------------------------------------------------------------------
    def handle(self, req: dict[str, Any]) -> bool:
        """Answer one request; False after close."""
        rid = req.get("id")
        if req.get("v") != 1:
            self.send({"id": rid, "error": f"protocol version {req.get('v')!r} is not 1"})
            return True
        self.request = rid if isinstance(rid, int) else self.request
        op, name, args = req.get("op"), req.get("name"), req.get("args") or {}
        try:
            if op == "hello":
                self.held = []
                self.fresh(bool(req.get("callkit")))
                self.send({"id": rid, "v": 1, "capabilities": CAPABILITIES})
            elif op == "api":
                try:
                    fields = self.api(str(name), args)
                    answer = {"id": rid, "result": "ok", **{k: v for k, v in fields.items()
                                                              if v is not None}}
                except Refused as e:
                    answer = {"id": rid, "result": {"error": str(e)}}
                self.send(answer)
            elif op == "stimulus" and str(name).startswith("net_"):
                self.network(str(name), args)
                self.send({"id": rid, "ok": True})
            elif op == "close":
                self.flush()
                self.send({"id": rid, "ok": True})
                return False
            else:
                raise Unknown(f"unsupported {op} {name}")
        except Unknown as e:
            self.send({"id": rid, "error": str(e)})
        if not self.late:
            self.flush()
        return True


ENDINGS = {"net_busy": "BUSY", "net_no_answer": "TIMEOUT", "net_unreachable": "UNREACHABLE",
           "net_failure": "FAILURE", "net_remote_hangup": "REMOTE_HANGUP"}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def main(argv: list[str]) -> int:
    client = Client(late="--late" in argv, cause="--no-cause" not in argv)
    fd = sys.stdin.fileno()
    buf = b""
    while True:
        if client.held:  # --late: hold the events until the next request or a quiet moment
            ready, _, _ = select.select([fd], [], [], IDLE_FLUSH)
            if not ready:
                client.flush()
                continue
        chunk = os.read(fd, 65536)
        if not chunk:
            client.flush()
            return 0
        buf += chunk
        while b"\n" in buf:
            raw, buf = buf.split(b"\n", 1)
            if not raw.strip():
                continue
            client.flush()  # what happened before this request goes out before it is taken
            try:
                req = json.loads(raw)
                if not isinstance(req, dict):
                    raise ValueError("a request is a JSON object")
            except ValueError as e:
                client.send({"id": None, "error": f"bad request: {e}"})
                continue
            if not client.handle(req):
                return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
