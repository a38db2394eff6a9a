"""Serve the reference client over the JSON-lines adapter protocol (docs/adapter-protocol.md):
`python -m exovoice.reference.targets.jsonlines_server [--trace-dir DIR] [--callkit-app-start]`.

Requests arrive on stdin, answers and `{"event": ...}` lines leave on stdout, one JSON object
per line. Each `hello` starts a fresh client instance (its trace goes to DIR/trace-N.jsonl when
--trace-dir is given). With --callkit-app-start the client's app layer starts its outgoing
CallKit calls itself and says so in the handshake. Diagnostics go to stderr only.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path
from typing import IO, Any

from exovoice.spec.conform.adapter import PROTOCOL_VERSION, AdapterError

from .adapter import ReferenceAdapter


class Server:
    def __init__(self, out: IO[str], trace_dir: Path | None = None,
                 app_starts_callkit: bool = False) -> None:
        self.out = out
        self.app_starts_callkit = app_starts_callkit
        self.trace_dir = trace_dir
        self.adapter: ReferenceAdapter | None = None
        self._lock = threading.Lock()
        self._instances = 0

    def send(self, obj: dict[str, Any]) -> None:
        with self._lock:
            self.out.write(json.dumps(obj, separators=(",", ":")) + "\n")
            self.out.flush()

    def handle(self, req: dict[str, Any]) -> bool:
        """Answer one request; False after `close`."""
        rid = req.get("id")
        op = req.get("op")
        try:
            if req.get("v", PROTOCOL_VERSION) != PROTOCOL_VERSION:
                raise AdapterError(f"protocol version {req.get('v')!r} is not {PROTOCOL_VERSION}")
            if op == "hello":
                if self.adapter is not None:
                    self.adapter.close()
                self._instances += 1
                trace = (self.trace_dir / f"trace-{self._instances}.jsonl"
                         if self.trace_dir is not None else None)
                self.adapter = ReferenceAdapter(trace=trace,
                                                on_event=lambda e: self.send({"event": e}),
                                                app_starts_callkit=self.app_starts_callkit)
                caps = self.adapter.hello(callkit=bool(req.get("callkit", False)))
                self.send({"id": rid, "v": PROTOCOL_VERSION, "capabilities": sorted(caps)})
            elif op == "api":
                r = self._need().api(req["name"], call=req.get("call"), args=req.get("args"))
                out: dict[str, Any] = {"id": rid, "result": "ok" if r.ok else {"error": r.result}}
                if r.call is not None:
                    out["call"] = r.call
                if r.value is not None:
                    out["value"] = r.value
                self.send(out)
            elif op == "stimulus":
                self._need().stimulus(req["name"], call=req.get("call"), args=req.get("args"))
                self.send({"id": rid, "ok": True})
            elif op == "platform":
                args = req.get("args") or {}
                if not isinstance(args, dict):
                    raise AdapterError("platform args must be a JSON object")
                self.send({"id": rid, "result": self._need().platform(req["name"], args)})
            elif op == "close":
                if self.adapter is not None:
                    self.adapter.close()
                    self.adapter = None
                self.send({"id": rid, "ok": True})
                return False
            else:
                raise AdapterError(f"unknown op {op!r}")
        except (AdapterError, KeyError, TypeError, ValueError) as e:
            self.send({"id": rid, "error": f"{type(e).__name__}: {e}"})
        return True

    def _need(self) -> ReferenceAdapter:
        if self.adapter is None:
            raise AdapterError("hello first")
        return self.adapter

    def serve(self, inp: IO[str]) -> int:
        try:
            for raw in inp:
                raw = raw.strip()
                if not raw:
                    continue
                try:
                    req = json.loads(raw)
                    if not isinstance(req, dict):
                        raise ValueError("a request is a JSON object")
                except ValueError as e:
                    self.send({"id": None, "error": f"bad request: {e}"})
                    continue
                if not self.handle(req):
                    break
        finally:
            if self.adapter is not None:
                self.adapter.close()
        return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m exovoice.reference.targets.jsonlines_server")
    ap.add_argument("--trace-dir", type=Path, help="write each instance's trace there")
    ap.add_argument("--callkit-app-start", action="store_true",
                    help="the app layer starts outgoing CallKit calls itself (declared in the "
                    "handshake as callkit-app-start)")
    ns = ap.parse_args(argv)
    return Server(sys.stdout, ns.trace_dir, ns.callkit_app_start).serve(sys.stdin)


if __name__ == "__main__":
    raise SystemExit(main())
