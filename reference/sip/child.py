"""Drive a JSON-lines child process (reference.sip.peer, reference.platform.sipserver) from
the parent: every process owning a pjsua2 endpoint is its own process, so a parent that needs
a SIP party or the platform talks to it over stdin/stdout (reference.sip.process.JsonLines).

The reader thread hands every event to `on_event` (if given) and keeps a bounded backlog for
`expect`; `send` writes one command and returns its `reply` (raising ChildError when the
child answers ok=false, dies or says nothing in time).
"""

from __future__ import annotations

import collections
import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]  # the directory holding the reference package
BACKLOG = 2000  # events kept for expect(): a long run must not grow without bound


class ChildError(RuntimeError):
    pass


class Child:
    def __init__(self, module: str, *args: str, name: str | None = None,
                 ready_timeout: float = 20.0,
                 on_event: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.name = name or module.rsplit(".", 1)[-1]
        self.on_event = on_event
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH"))
                                            if p)
        self.proc = subprocess.Popen([sys.executable, "-m", module, *args], cwd=ROOT, env=env,
                                     text=True, bufsize=1, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self._cond = threading.Condition()
        self._backlog: collections.deque[dict[str, Any]] = collections.deque(maxlen=BACKLOG)
        self._replies: "queue.Queue[dict[str, Any]]" = queue.Queue()
        self._send_lock = threading.Lock()
        self._eof = False
        self._reader = threading.Thread(target=self._read, name=f"child-{self.name}",
                                        daemon=True)
        self._reader.start()
        try:
            self.ready = self.expect(lambda e: e.get("event") == "ready", ready_timeout)
        except ChildError:
            self.close()
            raise

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue  # not ours (a library printing to the wrong fd)
            if not isinstance(ev, dict):
                continue
            if ev.get("event") == "reply":
                self._replies.put(ev)
                continue
            if self.on_event is not None:
                try:
                    self.on_event(ev)
                except Exception:  # noqa: BLE001 - an observer's bug must not kill the reader
                    pass
            with self._cond:
                self._backlog.append(ev)
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()
        self._replies.put({"event": "<eof>"})

    def expect(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 5.0
               ) -> dict[str, Any]:
        """The first backlog event matching `pred` (taken out), waiting up to `timeout`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for ev in self._backlog:
                    if pred(ev):
                        self._backlog.remove(ev)
                        return ev
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    why = "exited" if self._eof else f"said nothing matching within {timeout:g} s"
                    raise ChildError(f"{self.name} {why}")
                self._cond.wait(left)

    def recent(self, pred: Callable[[dict[str, Any]], bool], n: int = 5) -> list[dict[str, Any]]:
        """The last `n` backlog events matching `pred`, left in place (for error messages)."""
        with self._cond:
            return [ev for ev in self._backlog if pred(ev)][-n:]

    def forget(self) -> None:
        """Drop the backlog (what earlier work left unread)."""
        with self._cond:
            self._backlog.clear()

    def send(self, cmd: str, timeout: float = 10.0, **kw: Any) -> dict[str, Any]:
        """One command; its reply. Raises ChildError when the reply is not ok."""
        with self._send_lock:
            if self.proc.poll() is not None or self.proc.stdin is None:
                raise ChildError(f"{self.name} is not running")
            try:
                self.proc.stdin.write(json.dumps({"cmd": cmd, **kw}) + "\n")
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError) as e:
                raise ChildError(f"{self.name} is gone: {e}") from None
            try:
                reply = self._replies.get(timeout=timeout)
            except queue.Empty:
                raise ChildError(f"{self.name}: no reply to {cmd} within {timeout:g} s") from None
        if reply.get("event") == "<eof>":
            raise ChildError(f"{self.name} exited before answering {cmd}")
        if not reply.get("ok"):
            raise ChildError(f"{self.name}: {cmd} failed: {reply.get('error')}")
        return reply

    def close(self, timeout: float = 10.0) -> int:
        """EOF on stdin (the child stops cleanly); killed if it does not within `timeout`."""
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        except OSError:
            pass
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(5)
        self._reader.join(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return code


__all__ = ["Child", "ChildError"]
