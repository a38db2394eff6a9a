"""What every process owning a pjsua2 endpoint needs before it starts one."""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import threading
from typing import IO, Any, Callable


def private_stdout() -> IO[str]:
    """pjlib prints to fd 1 from libCreate on: move fd 1 to stderr and return a private copy
    of the original stdout, so the process's JSON-line channel stays clean."""
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    return out


def stop_on_signals(done: threading.Event) -> None:
    """SIGTERM and SIGINT ask the main loop to finish (and destroy pjsua2 in order)."""
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())


class SecretsError(ValueError):
    """Secrets that could not be read, or were offered where others can read them."""


def read_private_json(source: str, what: str) -> dict[str, Any]:
    """A JSON object holding secrets: `-` is the first line of stdin (what the parent wrote
    before anything else), anything else a file only this user may read (mode 0600 or
    stricter, owned by this user). Never a command-line argument: /proc/*/cmdline is
    readable by every user of the machine."""
    if source == "-":
        line = sys.stdin.readline()
        if not line.strip():
            raise SecretsError(f"{what}: expected a JSON object on the first line of stdin")
        text = line
    else:
        try:
            st = os.stat(source)
            if st.st_mode & 0o077 or st.st_uid != os.getuid():
                raise SecretsError(f"{what}: {source} may be read by other users (mode "
                                   f"{st.st_mode & 0o777:o}); chmod 600 it")
            with open(source, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise SecretsError(f"{what}: cannot read {source}: {e.strerror}") from None
    try:
        obj = json.loads(text)
    except ValueError as e:
        raise SecretsError(f"{what}: not JSON: {e}") from None
    if not isinstance(obj, dict):
        raise SecretsError(f"{what}: not a JSON object")
    return obj


class JsonLines:
    """One JSON object a line on the process's private stdout, from any thread. A reader that
    went away ends the process (`done` is set) instead of raising in a pjsua2 callback."""

    def __init__(self, out: IO[str], done: threading.Event) -> None:
        self.out = out
        self.done = done
        self.lock = threading.Lock()

    def say(self, **obj: Any) -> None:
        if obj.get("event") == "ready":
            # start-up is over: what it allocated lives as long as the process, so take it
            # out of the collector's sight; later collections then scan only what calls
            # allocate instead of the whole heap
            gc.collect()
            gc.freeze()
        line = json.dumps(obj, default=str)
        with self.lock:
            try:
                self.out.write(line + "\n")
                self.out.flush()
            except (BrokenPipeError, ValueError):
                self.done.set()

    def serve(self, command: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        """Answer JSON commands from stdin, one a line, with a `reply` event each, until
        `done` is set or stdin ends (the parent went away)."""
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            obj: Any = None
            try:
                obj = json.loads(line)
                self.say(event="reply", cmd=obj.get("cmd"), ok=True, **command(obj))
            except Exception as exc:  # noqa: BLE001 - answered, the loop goes on
                cmd = obj.get("cmd") if isinstance(obj, dict) else None
                self.say(event="reply", cmd=cmd, ok=False, error=str(exc))
            if self.done.is_set():
                return
        self.done.set()
