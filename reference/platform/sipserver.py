"""The simulated Exotel platform as a process: HTTP side (ExotelPlatform) + SIP side (PlatformSip).

    python -m exovoice.reference.platform.sipserver --config -      (the first line of stdin)
    python -m exovoice.reference.platform.sipserver --config FILE   (mode 0600)

Config (JSON object; it holds secrets, so never on the command line, where every user of the
machine reads it; a file others may read is refused, exit 2):
  account      {"sid", "api_key", "api_token", "sip_exophone"?, "dial_whom_url", "push_url",
                "voip_enabled"?}                 (exovoice.reference.platform.Account fields)
  secret_hex   the platform's secret (hex), from which each account's signing key is derived
               (exovoice.reference.platform.server.account_key), so a test's simulated client
               accepts the tokens
  subscribers  ["alice", "bob", ...] created at start (active)
  subscriber_sids {"alice": "<sid>", ...}  optional: the sids they get (workers behind one
               front share them, so any worker accepts the tokens another issued)
  callee_uris  {"bob": "sip:peer@127.0.0.1:P"}   where the callee leg goes (this slice)
  rate_limit   {"calls": 10, "window": 60}
  capacity     calls at once before an INVITE is refused 503 CONGESTION_ERROR (default 2, all
               pjsua's 4 slots; 1 behind the Kamailio front, which leaves two for teardowns)
  spare_slots  pjsua call slots kept free (default 1: the next INVITE is refused 503, never
               486 by pjsua; one bridged call at a time); 0 lets two bridged calls share the
               4 slots (a call placed during a call), at the risk of pjsua's 486 under a burst
  max_lifetime seconds before the process gives up by itself (default 300)
  worker_id    "w2": this process is one bridge worker of several behind the front
               (exovoice.reference.platform.cluster); its push sessions are named "w2-s...",
               and a take for another worker's session that reaches this one's HTTP side is
               forwarded there (see the "peers" command)

Prints JSON lines on stdout (pjlib's console output goes to stderr): first
``{"event": "ready", "sip_port", "sip_uri", "platform_url", "api_url", "account_sid", "pid"}``
then PlatformSip's events (invite, refused, ringing, routed, callee-invite, callee-state,
answered, bridged, call-ended with the CDR, warning, error). Commands on stdin, one JSON object
a line: {"cmd": "route", "remote_id", "uri"}, {"cmd": "cdrs"},
{"cmd": "media", "action": "pause"|"resume"|"renew", "toward": "caller"|"callee",
"call_sid"?, "seconds"?} (PlatformSip.media_fault: an RTP outage, for N s when given, or a
re-INVITE toward one leg of the latest bridged call), {"cmd": "ring_timeout", "call_sid"?}
(PlatformSip.expire_ringing: max_ringing_duration runs out now), {"cmd": "peers", "api_urls":
{"w1": "http://.../v2/accounts/<sid>", ...}} (where the other workers take their sessions),
{"cmd": "subscriber", "name", "sid"} (a subscriber record another worker shares: created if
missing, with that sid), {"cmd": "quit"}; each gets
{"event": "reply", "cmd", "ok", ...}. EOF on stdin or SIGTERM stops it; the last line is
{"event": "exit"}.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import urllib.parse
from typing import Any

from ..procs.process import (
    JsonLines,
    SecretsError,
    private_stdout,
    read_private_json,
    stop_on_signals,
)
from ..wire.http import request
from .accounts import Account
from .server import ExotelPlatform
from .sip import PlatformSip
from .subscribers import ApiError


def load_config(source: str) -> dict[str, Any]:
    """The config from stdin (`-`) or a private file; it always holds secrets (the account's
    API token, the push URL's credentials, the platform's secret)."""
    config = read_private_json(source, "--config")
    if not isinstance(config.get("account"), dict):
        raise ValueError("config must be a JSON object with an 'account' object")
    return config


class Server:
    def __init__(self, config: dict[str, Any], out: Any) -> None:
        self.out = out
        self.done = threading.Event()
        self.channel = JsonLines(out, self.done)
        self.max_lifetime = float(config.get("max_lifetime", 300))
        account = Account(**config["account"])
        secret = bytes.fromhex(config["secret_hex"]) if config.get("secret_hex") else None
        self.platform = ExotelPlatform([account], secret=secret)
        names = list(config.get("subscribers", []))
        for i in range(0, len(names), 10):
            for status, body in self.platform.subscribers(account.sid).create_many(
                    [{"subscriber_name": n} for n in names[i:i + 10]]):
                if status != 201:
                    raise ValueError(f"subscriber: {body}")
        # workers of one platform (behind its front) share their subscribers' records, as
        # they would share a database: the same sids, so a token any of them issued verifies
        for name, sub_sid in (config.get("subscriber_sids") or {}).items():
            self.platform.subscribers(account.sid).get(name).sid = str(sub_sid)
        rate = config.get("rate_limit") or {}
        self.sip = PlatformSip(self.platform, config.get("callee_uris") or {},
                               account_sid=account.sid, rate_calls=int(rate.get("calls", 10)),
                               rate_window=float(rate.get("window", 60)),
                               capacity=int(config.get("capacity", 2)),
                               spare_slots=int(config.get("spare_slots", 1)),
                               on_event=self.say_event)
        self.worker_id = str(config.get("worker_id") or "")
        self.peers: dict[str, str] = {}  # worker id -> its API URL
        if self.worker_id:
            self.platform.session_prefix = f"{self.worker_id}-"
            self.platform.session_taker = self.take

    def take(self, session: str, token: str, contact: str) -> None:
        """A callee's take: this worker's own session, or forwarded to the worker its id
        names (the SDK knows one sessions URL; the session lives where its call is)."""
        owner = session.split("-", 1)[0] if "-" in session else ""
        peer = self.peers.get(owner) if owner != self.worker_id else None
        if peer is None:
            self.sip.take(session, token, contact)
            return
        got = request("POST", f"{peer}/sessions/{urllib.parse.quote(session, safe='')}/take",
                      body={"contact": contact}, timeout=self.platform.http_timeout,
                      headers={"Authorization": f"Bearer {token}"})
        if got.status == 202:
            return
        if got.status is None:
            raise ApiError(503, f"worker {owner} holding session {session} did not answer: "
                           f"{got.error}")
        try:
            message = str((got.json() or {}).get("message") or f"HTTP {got.status}")
        except ValueError:
            message = f"HTTP {got.status}"
        raise ApiError(got.status, message)

    def say_event(self, ev: dict[str, Any]) -> None:
        self.say(**ev)

    def say(self, **obj: Any) -> None:
        self.channel.say(**obj)

    def command(self, obj: dict[str, Any]) -> dict[str, Any]:
        cmd = obj.get("cmd")
        if cmd == "quit":
            self.done.set()
            return {}
        if cmd == "route":
            self.sip.callee_uris[str(obj["remote_id"])] = str(obj["uri"])
            return {}
        if cmd == "media":
            seconds = obj.get("seconds")
            return self.sip.media_fault(str(obj.get("action")), str(obj.get("toward", "caller")),
                                        obj.get("call_sid"),
                                        None if seconds is None else float(seconds))
        if cmd == "peers":
            self.peers = {str(k): str(v).rstrip("/") for k, v in
                          dict(obj.get("api_urls") or {}).items()}
            return {}
        if cmd == "subscriber":
            store = self.platform.subscribers(self.sip.account.sid)
            name = str(obj["name"])
            if store.find(name) is None:
                store.create({"subscriber_name": name})
            store.get(name).sid = str(obj["sid"])
            return {}
        if cmd == "ring_timeout":
            return self.sip.expire_ringing(obj.get("call_sid"))
        if cmd == "cdrs":
            return {"cdrs": [r.to_dict() for r in self.platform.cdrs.all()]}
        raise ValueError(f"unknown command {cmd!r}")

    def stdin_loop(self) -> None:
        self.channel.serve(self.command)

    def run(self) -> int:
        self.platform.start()
        try:
            self.sip.start()
        except BaseException:
            self.platform.close()
            raise
        try:
            sid = self.sip.account.sid
            self.say(event="ready", sip_port=self.sip.port, sip_uri=self.sip.uri,
                     platform_url=self.platform.base_url, api_url=self.platform.api_url(sid),
                     account_sid=sid, pid=os.getpid())
            threading.Thread(target=self.stdin_loop, name="sipserver-stdin", daemon=True).start()
            deadline = time.monotonic() + self.max_lifetime
            while not self.done.wait(0.1):
                if time.monotonic() > deadline:
                    self.say(event="error", error="max lifetime reached")
                    break
        finally:
            self.done.set()
            self.sip.close()
            self.platform.close()
        self.say(event="exit")
        return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m exovoice.reference.platform.sipserver",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True,
                    help="- (a JSON object on the first line of stdin) or a 0600 JSON file")
    args = ap.parse_args(argv)
    try:
        config = load_config(args.config)
    except (SecretsError, ValueError) as exc:
        print(f"sipserver: {exc}", file=sys.stderr)
        return 2
    server = Server(config, private_stdout())
    stop_on_signals(server.done)
    return server.run()


if __name__ == "__main__":
    sys.exit(main())
