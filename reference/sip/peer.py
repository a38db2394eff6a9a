"""A scripted SIP party in its own process (one pjsua2 Endpoint per process).

    python -m exovoice.reference.sip.peer --port 0 --mode answer [--answer-delay 0.2] [--hangup-after S]

Prints JSON lines on stdout (pjlib's own console output is moved to stderr first): the first
line is ``{"event": "ready", "port": P, "uri": "sip:peer@127.0.0.1:P"}``; then every
SipEvent as ``{"event": kind, "call": handle, ...}`` and replies to commands.

Modes (what an incoming call gets):
  answer          180, then 200 after --answer-delay
  early-media     183 (SDP, RTP flows), then 200 after --answer-delay
  ring-forever    180 and nothing else (the caller cancels or times out)
  busy            486      unavailable  480      not-found    404
  congestion      503      failure      500      decline      603
  silent          no response at all (the caller's INVITE times out: 408)
  answer-then-hangup  as answer, then BYE after --hangup-after (default 1 s)

Commands, one JSON object a line on stdin (``call`` defaults to the latest call):
  {"cmd": "hangup", "headers"?: {...}} {"cmd": "stats"} {"cmd": "pause_rtp"} {"cmd": "resume_rtp"}
  {"cmd": "hold"} {"cmd": "unhold"} {"cmd": "answer", "code": 200}
  {"cmd": "call", "uri": "sip:...", "headers": {...}} {"cmd": "quit"}
Each gets ``{"event": "reply", "cmd": ..., "ok": true|false, ...}``. EOF on stdin or SIGTERM
stops the peer cleanly (calls hung up, libDestroy); the last line is ``{"event": "exit"}``.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from typing import Any

from ..procs.process import JsonLines, private_stdout, stop_on_signals

FINAL_CODES = {
    "busy": 486,
    "unavailable": 480,
    "not-found": 404,
    "congestion": 503,
    "failure": 500,
    "decline": 603,
}
MODES = ("answer", "early-media", "ring-forever", "silent", "answer-then-hangup", *FINAL_CODES)


class Peer:
    def __init__(self, args: argparse.Namespace, out: Any) -> None:
        from .endpoint import SipEndpoint

        self.args = args
        self.out = out
        self.done = threading.Event()
        self.channel = JsonLines(out, self.done)
        self.ep = SipEndpoint(port=args.port, user=args.user, log_level=args.log_level)
        self.latest: str | None = None

    def say(self, **obj: Any) -> None:
        self.channel.say(**obj)

    def later(self, delay: float, fn, *a) -> None:
        def go():
            if self.done.is_set():
                return
            try:
                fn(*a)
            except Exception as exc:  # noqa: BLE001 - reported, the peer keeps running
                self.say(event="error", error=str(exc))

        t = threading.Timer(delay, go)
        t.daemon = True
        t.start()

    # -- incoming calls, by mode --
    def on_incoming(self, handle: str) -> None:
        call = self.ep.handles[handle]
        mode = self.args.mode
        if mode in FINAL_CODES:
            call.answer(FINAL_CODES[mode])
        elif mode == "silent":
            pass
        elif mode == "ring-forever":
            call.answer(180)
        else:
            call.answer(183 if mode == "early-media" else 180)
            self.later(self.args.answer_delay, call.answer, 200)
            if mode == "answer-then-hangup" or self.args.hangup_after is not None:
                delay = self.args.answer_delay + (self.args.hangup_after or 1.0)
                self.later(delay, call.hangup)

    def event_loop(self) -> None:
        import queue

        while not self.done.is_set():
            try:
                ev = self.ep.events.get(timeout=0.2)
            except queue.Empty:
                continue
            self.say(**ev.as_dict())
            if ev.kind == "incoming":
                self.latest = ev.call
                try:
                    self.on_incoming(ev.call)
                except Exception as exc:  # noqa: BLE001
                    self.say(event="error", error=str(exc))

    # -- commands --
    def command(self, obj: dict[str, Any]) -> dict[str, Any]:
        cmd = obj.get("cmd")
        if cmd == "quit":
            self.done.set()
            return {}
        if cmd == "call":
            call = self.ep.make_call(obj["uri"], obj.get("headers") or {})
            self.latest = call.handle
            return {"call": call.handle}
        handle = obj.get("call") or self.latest
        call = self.ep.handles.get(handle) if handle else None
        if call is None:
            raise ValueError("no such call")
        if cmd == "stats":
            st = call.stats()
            return {"call": handle, "stats": st.as_dict() if st else None}
        if cmd == "answer":
            call.answer(int(obj.get("code", 200)))
        elif cmd == "hangup" and obj.get("headers"):
            call.hangup(headers=obj["headers"])
        elif cmd in ("hangup", "pause_rtp", "resume_rtp", "hold", "unhold"):
            getattr(call, cmd)()
        else:
            raise ValueError(f"unknown command {cmd!r}")
        return {"call": handle}

    def stdin_loop(self) -> None:
        self.channel.serve(self.command)

    def run(self) -> int:
        self.ep.start()
        self.say(event="ready", port=self.ep.port, uri=self.ep.uri, pid=os.getpid())
        threads = [
            threading.Thread(target=self.event_loop, name="peer-events", daemon=True),
            threading.Thread(target=self.stdin_loop, name="peer-stdin", daemon=True),
        ]
        for t in threads:
            t.start()
        deadline = time.monotonic() + self.args.max_lifetime
        while not self.done.wait(0.1):
            if time.monotonic() > deadline:
                self.say(event="error", error="max lifetime reached")
                break
        self.done.set()
        self.ep.stop()
        for ev in self.ep.drain():
            self.say(**ev.as_dict())
        self.say(event="exit")
        return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m exovoice.reference.sip.peer", description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--user", default="peer")
    ap.add_argument("--mode", choices=MODES, default="answer")
    ap.add_argument("--answer-delay", type=float, default=0.2)
    ap.add_argument("--hangup-after", type=float, default=None)
    ap.add_argument("--log-level", type=int, default=0)
    ap.add_argument("--max-lifetime", type=float, default=300.0, help="exit after this many s")
    args = ap.parse_args(argv)
    peer = Peer(args, private_stdout())
    stop_on_signals(peer.done)
    return peer.run()


if __name__ == "__main__":
    sys.exit(main())
