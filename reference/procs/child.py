"""Drive a JSON-lines child process (exovoice.reference.sip.peer, exovoice.reference.platform.sipserver,
exovoice.reference.app.phone) from the parent: every process owning a pjsua2 endpoint is its own
process, so a parent that needs a SIP party, the platform or a phone talks to it over
stdin/stdout (exovoice.reference.procs.process.JsonLines).

The reader thread hands every line to `on_event` (if given): a JSON object as is, anything
else as ``{"event": "noise", "text": ...}``, and the end of stdout as ``{"event": "<eof>"}``.
It also keeps a bounded backlog for `expect`. With `replies=True` (the default) `reply`
lines answer `send` and go nowhere else; with `replies=False` they are events like any other
(for a parent that reads everything from one stream and uses `post`).
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
from typing import IO, Any, Callable

ROOT = Path(__file__).resolve().parents[2]  # the directory holding the reference package
BACKLOG = 2000  # events kept for expect(): a long run must not grow without bound
EOF_EVENT = "<eof>"


class ChildError(RuntimeError):
    pass


class Child:
    def __init__(self, module: str, *args: str, name: str | None = None,
                 ready_timeout: float | None = 20.0,
                 on_event: Callable[[dict[str, Any]], None] | None = None,
                 replies: bool = True, stderr: Path | None = None,
                 stdin_first: dict[str, Any] | None = None) -> None:
        """Start `python -m module args...`; wait for its `ready` line unless `ready_timeout`
        is None. `stderr`: a file for the child's stderr (default: discarded). `stdin_first`:
        a JSON object written as the child's first stdin line, before anything else: how a
        secret (a signing key, a token) reaches a child, never on its command line, where
        every user of the machine can read it. Raises ChildError when it cannot start or is
        not ready in time."""
        self.name = name or module.rsplit(".", 1)[-1]
        self.on_event = on_event
        self.log = stderr
        self._replies_apart = replies
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH"))
                                            if p)
        self._log_file: IO[str] | None = (open(stderr, "w", encoding="utf-8")
                                          if stderr is not None else None)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", module, *args], cwd=ROOT, env=env, text=True,
                encoding="utf-8", bufsize=1, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=self._log_file if self._log_file is not None else subprocess.DEVNULL)
        except OSError as exc:
            if self._log_file is not None:
                self._log_file.close()
            raise ChildError(f"could not start {self.name}: {exc}") from exc
        if stdin_first is not None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(json.dumps(stdin_first) + "\n")
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError) as exc:
                self.proc.kill()
                self.proc.wait()
                if self._log_file is not None:
                    self._log_file.close()
                raise ChildError(f"{self.name} exited at start-up: {exc}") from exc
        self._cond = threading.Condition()
        self._backlog: collections.deque[dict[str, Any]] = collections.deque(maxlen=BACKLOG)
        self._replies: "queue.Queue[dict[str, Any]]" = queue.Queue()
        self._send_lock = threading.Lock()
        self._eof = False
        self._reader = threading.Thread(target=self._read, name=f"child-{self.name}",
                                        daemon=True)
        self._reader.start()
        self.ready: dict[str, Any] = {}
        if ready_timeout is not None:
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
                ev = None
            if not isinstance(ev, dict):  # not ours (a library printing to the wrong fd)
                self._hand_on({"event": "noise", "text": line.rstrip()}, keep=False)
                continue
            if self._replies_apart and ev.get("event") == "reply":
                self._replies.put(ev)
                continue
            self._hand_on(ev, keep=True)
        with self._cond:
            self._eof = True
            self._cond.notify_all()
        self._replies.put({"event": EOF_EVENT})
        self._hand_on({"event": EOF_EVENT}, keep=False)

    def _hand_on(self, ev: dict[str, Any], *, keep: bool) -> None:
        if self.on_event is not None:
            try:
                self.on_event(ev)
            except Exception:  # noqa: BLE001 - an observer's bug must not kill the reader
                pass
        if keep:
            with self._cond:
                self._backlog.append(ev)
                self._cond.notify_all()

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

    def post(self, cmd: str, **kw: Any) -> None:
        """Write one command without waiting for its reply. Raises ChildError when the
        child is gone."""
        if self.proc.poll() is not None or self.proc.stdin is None:
            raise ChildError(f"{self.name} is not running (could not send {cmd})")
        try:
            self.proc.stdin.write(json.dumps({"cmd": cmd, **kw}) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError) as e:
            raise ChildError(f"{self.name} is gone (could not send {cmd}): {e}") from None

    def send(self, cmd: str, timeout: float = 10.0, **kw: Any) -> dict[str, Any]:
        """One command; its reply (needs replies=True). Raises ChildError when the reply is
        not ok, or none comes."""
        with self._send_lock:
            self.post(cmd, **kw)
            try:
                reply = self._replies.get(timeout=timeout)
            except queue.Empty:
                raise ChildError(f"{self.name}: no reply to {cmd} within {timeout:g} s") from None
        if reply.get("event") == EOF_EVENT:
            raise ChildError(f"{self.name} exited before answering {cmd}")
        if not reply.get("ok"):
            raise ChildError(f"{self.name}: {cmd} failed: {reply.get('error')}")
        return reply

    def end_input(self) -> None:
        """EOF on stdin: the child finishes cleanly (pjsua2 destroyed, traces closed)."""
        try:
            if self.proc.stdin is not None and not self.proc.stdin.closed:
                self.proc.stdin.close()
        except OSError:
            pass

    def close(self, timeout: float = 10.0) -> int | None:
        """EOF, then SIGTERM, then SIGKILL, until it is gone; its exit code, or None when it
        had to be killed or terminated."""
        self.end_input()
        code: int | None
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            code = None
        self._reader.join(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        if self._log_file is not None:
            self._log_file.close()
        return code


__all__ = ["Child", "ChildError", "EOF_EVENT"]
