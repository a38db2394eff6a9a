"""The language-neutral form of the adapter protocol: a client under test runs as a
subprocess and speaks JSON lines on its stdin/stdout (docs/adapter-protocol.md, version 1).

    -> {"v":1,"id":1,"op":"hello","callkit":false}
    <- {"id":1,"capabilities":["core","network"]}
    -> {"v":1,"id":2,"op":"api","name":"dial","args":{"remoteId":"sip:1"}}
    <- {"event":{"kind":"callback","name":"onCallInitiated","call":"c1"}}
    <- {"id":2,"result":"ok","call":"c1"}

Every wait is bounded: a client that does not answer, answers garbage or dies gives a
ClientBroken (an AdapterError) with a one-line reason; a request it refuses gives a plain
AdapterError. A reader thread takes stdout (answers to a table, events to the queue) and
another keeps the tail of stderr for those reasons.

Every event leaves the queue with a `cause`: the id of the request it followed, as the client
said (the event message's `cause`), or, from a client that does not say, the latest request
sent when the event arrived. The driver orders the scenario's trace by it, so an event that
arrives late still lands where it happened.
"""

from __future__ import annotations

import collections
import itertools
import json
import queue
import shlex
import subprocess
import threading
from pathlib import Path
from typing import Any

from .adapter import (
    PROTOCOL_VERSION,
    UNSUPPORTED_PREFIX,
    AdapterError,
    ApiResult,
    ClientBroken,
    Unsupported,
)


class JsonLinesAdapter:
    def __init__(self, cmd: list[str], *, timeout: float = 10.0, cwd: str | Path | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.cmd = list(cmd)
        self.timeout = timeout
        self._cwd, self._env = cwd, env
        self._proc: subprocess.Popen[str] | None = None
        self._events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._answers: dict[int, dict[str, Any]] = {}
        self._cond = threading.Condition()
        self._broken: str | None = None
        self._eof = False
        self._stderr: collections.deque[str] = collections.deque(maxlen=20)
        self._threads: list[threading.Thread] = []
        self._ids = itertools.count(1)
        self._write_lock = threading.Lock()
        self._last_sent = 0  # the id of the latest request written to the client

    # --- ClientAdapter -------------------------------------------------------------------
    def hello(self, *, callkit: bool) -> frozenset[str]:
        if self._proc is None:
            self._start()
        ans = self._request({"op": "hello", "callkit": bool(callkit)})
        caps = ans.get("capabilities")
        if not isinstance(caps, list) or not all(isinstance(c, str) for c in caps):
            raise ClientBroken(f"{self._who()}: hello answer has no list of capabilities: "
                               f"{_short(ans)}")
        return frozenset(caps)

    def api(self, name: str, *, call: str | None = None, args: dict[str, Any] | None = None
            ) -> ApiResult:
        req: dict[str, Any] = {"op": "api", "name": name, "args": dict(args or {})}
        if call is not None:
            req["call"] = call
        ans = self._request(req)
        res = ans.get("result")
        if res == "ok":
            result = "ok"
        elif isinstance(res, dict) and isinstance(res.get("error"), str):
            result = res["error"]
        else:
            raise ClientBroken(f"{self._who()}: api {name} answer has no result: {_short(ans)}")
        got_call = ans.get("call")
        if got_call is not None and not isinstance(got_call, str):
            raise ClientBroken(f"{self._who()}: api {name} answer's call is not a string")
        return ApiResult(result, got_call, ans.get("value"))

    def stimulus(self, name: str, *, call: str | None = None,
                 args: dict[str, Any] | None = None) -> None:
        req: dict[str, Any] = {"op": "stimulus", "name": name, "args": dict(args or {})}
        if call is not None:
            req["call"] = call
        ans = self._request(req)
        if ans.get("ok") is not True:
            raise ClientBroken(f"{self._who()}: stimulus {name} not taken: {_short(ans)}")

    def platform(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        """The `platform` operation (version-1 extension, capability `platform`)."""
        ans = self._request({"op": "platform", "name": op, "args": dict(args or {})})
        res = ans.get("result")
        if not isinstance(res, dict):
            raise ClientBroken(f"{self._who()}: platform {op} answer has no result object: "
                               f"{_short(ans)}")
        return res

    def events(self) -> "queue.Queue[dict[str, Any]]":
        return self._events

    def close(self) -> None:
        proc = self._proc
        if proc is None:
            return
        try:
            if proc.poll() is None and self._broken is None:
                try:
                    self._request({"op": "close"}, timeout=min(2.0, self.timeout))
                except AdapterError:
                    pass
        finally:
            for stream in (proc.stdin,):
                try:
                    if stream is not None:
                        stream.close()
                except OSError:
                    pass
            try:
                proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(timeout=2.0)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=2.0)
            for t in self._threads:
                t.join(timeout=2.0)
            for stream in (proc.stdout, proc.stderr):
                try:
                    if stream is not None:
                        stream.close()
                except OSError:
                    pass
            self._proc = None
            self._threads = []

    def __enter__(self) -> "JsonLinesAdapter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def last_request_id(self) -> int:
        """The id of the latest request sent (0 before the first): what an event's `cause`
        refers to."""
        return self._last_sent

    # --- internals -----------------------------------------------------------------------
    def _who(self) -> str:
        text = shlex.join(self.cmd)
        return text if len(text) <= 60 else text[:57] + "..."

    def _start(self) -> None:
        try:
            self._proc = subprocess.Popen(
                self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True, encoding="utf-8", bufsize=1, cwd=self._cwd, env=self._env)
        except OSError as e:
            raise ClientBroken(f"{self._who()}: cannot start the client: {e}") from None
        self._threads = [threading.Thread(target=self._read_stdout, daemon=True,
                                          name="jsonlines-stdout"),
                         threading.Thread(target=self._read_stderr, daemon=True,
                                          name="jsonlines-stderr")]
        for t in self._threads:
            t.start()

    def _read_stdout(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for n, raw in enumerate(self._proc.stdout, 1):
            if self._broken is not None:
                continue  # keep draining so the client never blocks on a full pipe
            raw = raw.strip()
            if not raw:
                continue
            try:
                msg = json.loads(raw)
            except ValueError:
                self._break(f"stdout line {n} is not JSON: {_short(raw)}")
                continue
            if isinstance(msg, dict) and "event" in msg:
                ev = msg["event"]
                if not isinstance(ev, dict) or not isinstance(ev.get("kind"), str) \
                        or not isinstance(ev.get("name"), str):
                    self._break(f"stdout line {n}: an event is a trace line with kind and "
                                f"name: {_short(raw)}")
                    continue
                cause = msg.get("cause", None)
                sent = self._last_sent
                if cause is None:
                    cause = sent  # placed by its arrival
                elif type(cause) is not int or not 1 <= cause <= sent:
                    self._break(f"stdout line {n}: an event's cause must be the id of a "
                                f"request already sent (1 to {sent}), not {_short(cause)}")
                    continue
                self._events.put({**ev, "cause": cause})
            elif isinstance(msg, dict) and isinstance(msg.get("id"), int):
                with self._cond:
                    self._answers[msg["id"]] = msg
                    self._cond.notify_all()
            elif isinstance(msg, dict) and "error" in msg and msg.get("id") is None:
                self._break(f"the client rejected a request: {_short(str(msg['error']))}")
            else:
                self._break(f"stdout line {n} is neither an answer nor an event: {_short(raw)}")
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def _read_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        for raw in self._proc.stderr:
            if raw.strip():
                self._stderr.append(raw.rstrip())

    def _break(self, why: str) -> None:
        with self._cond:
            if self._broken is None:
                self._broken = why
            self._cond.notify_all()

    def _request(self, req: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        proc = self._proc
        if proc is None:
            raise ClientBroken(f"{self._who()}: hello() first: the client is not running")
        rid = next(self._ids)
        msg = {"v": PROTOCOL_VERSION, "id": rid, **req}
        what = req["op"] + (f" {req['name']}" if "name" in req else "")
        if self._broken is not None:
            raise ClientBroken(f"{self._who()}: {self._broken}")
        try:
            with self._write_lock:
                assert proc.stdin is not None
                # before the write: an event the request causes may be read before flush()
                # returns, and without a cause of its own it is placed by this number
                self._last_sent = rid
                proc.stdin.write(json.dumps(msg, separators=(",", ":")) + "\n")
                proc.stdin.flush()
        except (OSError, ValueError):
            raise ClientBroken(f"{self._who()}: cannot send {what}: the client is gone"
                               f"{self._exit_note()}") from None
        limit = self.timeout if timeout is None else timeout
        with self._cond:
            done = self._cond.wait_for(
                lambda: rid in self._answers or self._broken is not None or self._eof, limit)
            ans = self._answers.pop(rid, None)
        if ans is not None:
            if "error" in ans and "result" not in ans:
                error = str(ans["error"])
                if error.lower().startswith(UNSUPPORTED_PREFIX):
                    raise Unsupported(error[len(UNSUPPORTED_PREFIX):].strip() or what)
                raise AdapterError(f"{self._who()}: {what} failed: {_short(error)}")
            return ans
        if self._broken is not None:
            raise ClientBroken(f"{self._who()}: {self._broken}")
        if not done:
            raise ClientBroken(f"{self._who()}: no answer to {what} (request {rid}) within "
                               f"{limit:g} s")
        raise ClientBroken(f"{self._who()}: the client closed its stdout before answering "
                           f"{what}{self._exit_note()}")

    def _exit_note(self) -> str:
        proc = self._proc
        code = None
        if proc is not None:
            try:
                code = proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                code = None
        note = f" (exit status {code})" if code is not None else ""
        if code is not None:  # the tail of stderr is complete once the client has exited
            for t in self._threads:
                if t.name == "jsonlines-stderr":
                    t.join(timeout=0.5)
        if self._stderr:
            note += f"; stderr: {_short(self._stderr[-1])}"
        return note


def _short(text: Any, limit: int = 100) -> str:
    s = text if isinstance(text, str) else json.dumps(text, separators=(",", ":"))
    s = " ".join(s.split())
    return repr(s if len(s) <= limit else s[: limit - 3] + "...")
