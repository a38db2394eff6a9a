"""Write trace v1 (TRACE-FORMAT.md): what one client instance did and observed, in order.

Every client in this repo (the reference client, the step library's adapters, the benchmark's
corpus generator) writes through this class, so every trace a test run leaves has one shape
and can be handed to `exovoice validate`.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import IO, Any, Callable

from ..vocabulary import KIND_NAMES, Kind


class TraceRecorder:
    """Appends one JSON object per line; thread-safe, flushed per line so a crash loses
    nothing already observed. Names are checked against the vocabulary when written: a client
    in this repo must never write a trace the validator would call unusable."""

    def __init__(self, sink: IO[str] | Path | str | None = None, *, callkit: bool = False,
                 client: str = "exovoice-reference", sdk_version: str | None = None,
                 clock: Callable[[], float] | None = None, meta: bool = True) -> None:
        self._own = False
        if isinstance(sink, (str, Path)):
            Path(sink).parent.mkdir(parents=True, exist_ok=True)
            self._out: IO[str] | None = open(sink, "w", encoding="utf-8")
            self._own = True
        else:
            self._out = sink
        self.lines: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._clock = clock
        self._last_ts = 0.0
        if meta:
            args: dict[str, Any] = {"version": 1, "callkit": callkit, "client": client}
            if sdk_version:
                args["sdkVersion"] = sdk_version
            self._write({"kind": "meta", "name": "trace", "args": args})

    def _write(self, line: dict[str, Any]) -> None:
        kind = Kind(line["kind"])
        if line["name"] not in KIND_NAMES[kind]:
            raise ValueError(f"{line['name']!r} is not a {kind.value} name of trace format v1")
        with self._lock:
            if self._clock is not None:
                self._last_ts = max(self._last_ts, round(self._clock(), 6))
                line["ts"] = self._last_ts
            self.lines.append(line)
            if self._out is not None:
                self._out.write(json.dumps(line, separators=(",", ":")) + "\n")
                self._out.flush()

    def _line(self, kind: Kind, name: str, call: str | None, args: dict[str, Any] | None,
              result: str | None = None) -> dict[str, Any]:
        line: dict[str, Any] = {"kind": kind.value, "name": name}
        if call is not None:
            line["call"] = call
        if args:
            line["args"] = args
        if result is not None and result != "ok":
            line["result"] = {"error": result}
        return line

    def api(self, name: str, *, call: str | None = None, args: dict[str, Any] | None = None,
            result: str = "ok") -> None:
        self._write(self._line(Kind.API, name, call, args, result))

    def callback(self, name: str, *, call: str | None = None,
                 args: dict[str, Any] | None = None) -> None:
        self._write(self._line(Kind.CALLBACK, name, call, args))

    def state(self, name: str, *, call: str | None = None) -> None:
        self._write(self._line(Kind.STATE, name, call, None))

    def env(self, name: str, args: dict[str, Any] | None = None) -> None:
        self._write(self._line(Kind.ENV, name, None, args))

    def callkit(self, name: str, *, uuid: str, args: dict[str, Any] | None = None) -> None:
        self._write(self._line(Kind.CALLKIT, name, None, {"uuid": uuid, **(args or {})}))

    def text(self) -> str:
        return "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in self.lines)

    def close(self) -> None:
        if self._own and self._out is not None:
            self._out.close()
            self._out = None

    def __enter__(self) -> "TraceRecorder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def now() -> float:
    return time.time()
