"""Benchmark the platform's and the sample backend's HTTP servers: start-up, one request,
shutdown, and the import that a process pays once.

    python bench/http_lifecycle.py [--rounds 30] [--format text|json]

Each round starts an `ExotelPlatform` and a `CustomerBackend` on ephemeral 127.0.0.1 ports,
asks each one thing over real HTTP (a subscriber list; a Dial Whom), and closes both; the
figures are medians of start, first answer and close, and how many threads and open sockets
the process has once every round is over (0 and 0: nothing leaks). `import` is the time a
fresh interpreter takes to import both servers' modules, the fixed cost of a process that
serves them (the platform's `sipserver`, the demo).

The floor is a bare `http.server.ThreadingHTTPServer` doing the same round (start, one GET,
shutdown) in this process, and `python -c pass` for the import: ratios are against them.
Run it against another checkout by putting that checkout's `exovoice` first on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _sockets() -> int:
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                n += 1
        except OSError:
            pass
    return n


def _get(url: str, auth: str | None = None) -> int:
    req = urllib.request.Request(url)
    if auth:
        req.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as e:
        e.close()
        return e.code


def floor_round() -> tuple[float, float, float]:
    class H(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a: object) -> None:
            pass

    t0 = time.perf_counter()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    th = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    th.start()
    t1 = time.perf_counter()
    _get(f"http://127.0.0.1:{srv.server_address[1]}/")
    t2 = time.perf_counter()
    srv.shutdown()
    srv.server_close()
    th.join()
    return t1 - t0, t2 - t1, time.perf_counter() - t2


def project_round() -> tuple[float, float, float]:
    from exovoice.reference.backend import CustomerBackend, RoutingTable
    from exovoice.reference.platform import Account, ExotelPlatform
    from exovoice.reference.wire.http import basic_auth_header

    t0 = time.perf_counter()
    backend = CustomerBackend(RoutingTable(by_caller={"alice": "bob"})).start()
    platform = ExotelPlatform([Account("acme", "k", "t", dial_whom_url=backend.dial_whom_url,
                                       push_url=backend.push_url)]).start()
    t1 = time.perf_counter()
    assert _get(platform.api_url("acme") + "/subscribers", basic_auth_header("k", "t")) == 200
    assert _get(backend.dial_whom_url + "?CallSid=1&CallFrom=alice&CallTo=x") == 200
    t2 = time.perf_counter()
    platform.close()
    backend.close()
    return t1 - t0, (t2 - t1) / 2, time.perf_counter() - t2


def import_time(code: str) -> float:
    best = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        best.append(time.perf_counter() - t)
    return statistics.median(best)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--format", choices=("text", "json"), default="text")
    a = ap.parse_args(argv)
    project_round()  # warm: imports
    threads0, sockets0 = threading.active_count(), _sockets()
    rows = {"floor": [floor_round() for _ in range(a.rounds)],
            "servers": [project_round() for _ in range(a.rounds)]}
    time.sleep(0.2)
    out: dict[str, object] = {}
    for name, rounds in rows.items():
        start, answer, close = (statistics.median(x) * 1000 for x in zip(*rounds))
        out[name] = {"start_ms": round(start, 2), "answer_ms": round(answer, 2),
                     "close_ms": round(close, 2)}
    out["left_threads"] = threading.active_count() - threads0
    out["left_sockets"] = _sockets() - sockets0
    out["import_s"] = round(import_time(
        "import exovoice.reference.platform.server, exovoice.reference.backend.server"), 3)
    out["import_floor_s"] = round(import_time("pass"), 3)
    if a.format == "json":
        print(json.dumps(out))
        return 0
    f, s = out["floor"], out["servers"]
    for k in ("start_ms", "answer_ms", "close_ms"):
        print(f"{k:<10} servers {s[k]:7.2f}  floor {f[k]:7.2f}  ratio {s[k] / f[k]:5.1f}")
    print(f"import     {out['import_s']:.3f} s (python -c pass {out['import_floor_s']:.3f} s)")
    print(f"left over  {out['left_threads']} threads, {out['left_sockets']} sockets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
