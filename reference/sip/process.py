"""What every process owning a pjsua2 endpoint needs before it starts one."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from typing import IO, Any


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


class JsonLines:
    """One JSON object a line on the process's private stdout, from any thread. A reader that
    went away ends the process (`done` is set) instead of raising in a pjsua2 callback."""

    def __init__(self, out: IO[str], done: threading.Event) -> None:
        self.out = out
        self.done = done
        self.lock = threading.Lock()

    def say(self, **obj: Any) -> None:
        line = json.dumps(obj, default=str)
        with self.lock:
            try:
                self.out.write(line + "\n")
                self.out.flush()
            except (BrokenPipeError, ValueError):
                self.done.set()
