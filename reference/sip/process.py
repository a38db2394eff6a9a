"""What every process owning a pjsua2 endpoint needs before it starts one."""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import IO


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
