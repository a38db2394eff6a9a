"""One scenario's world: the client under test (through a ClientAdapter), the trace the
scenario leaves, and bounded waits on the client's events.

The trace interleaves the api and env lines the steps issue with the adapter's events in the
order they happened: before every operation the events already delivered are drained into the
trace, so a callback caused by an operation always lands after it. At the end of the scenario
the trace is judged by the validator (exovoice.spec.validate), which fails the scenario on any
violation, also where no step looked.
"""

from __future__ import annotations

import json
import queue
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

from ..trace.recorder import TraceRecorder
from ..validate.engine import Violation
from ..validate.run import Options, judge_file
from ..vocabulary import OBSERVATIONS, Api, Env, Kind
from .adapter import AdapterError, ApiResult, Capability, ClientAdapter, Unsupported

WAIT = 5.0  # bound for an expected event
SETTLE = 0.25  # bound for "nothing more happens" checks

NOT_RUN = "not-run"


def not_run(reason: str) -> None:
    """Report the scenario as not-run (never passed)."""
    pytest.skip(f"{NOT_RUN}: {reason}")


class ProtocolError(AssertionError):
    """The client broke the adapter protocol (as opposed to the spec)."""


@dataclass
class Verdict:
    """What the validator said about a scenario's trace."""

    violation: Violation | None
    trace: str
    unusable: str | None = None

    def explain(self) -> str:
        if self.unusable:
            return f"the scenario's trace is unusable: {self.unusable}"
        v = self.violation
        if v is None:
            return "the trace conforms"
        lines = self.trace.splitlines()
        at = lines[v.line - 1] if 0 < v.line <= len(lines) else "(end of trace)"
        return f"spec violation at trace line {v.line}: {v.message}\n  line: {at}"


@dataclass
class ScenarioContext:
    adapter_factory: Callable[[], ClientAdapter]
    client_label: str = "client"
    callkit: bool = False
    adapter: ClientAdapter | None = None
    caps: frozenset[str] = frozenset()
    recorder: TraceRecorder | None = None
    seen: list[dict[str, Any]] = field(default_factory=list)
    mark: int = 0  # index in `seen` where the latest When began
    first_when: int | None = None  # index in `seen` where the first When began
    consumed: set[int] = field(default_factory=set)  # events a Then step already matched
    when_seen: bool = False
    last: ApiResult | None = None
    last_op: str | None = None
    call: str | None = None  # the latest call id
    subscriber: str = "alice"
    caller: str = "bob"
    steps_done: list[str] = field(default_factory=list)
    step_failed: bool = False
    verdict: Verdict | None = None
    values: dict[str, Any] = field(default_factory=dict)
    keep_trace: Path | None = None  # where to leave this scenario's trace (EXOVOICE_TRACE_DIR)
    _source: Any = None
    # lines the steps recorded themselves, which an adapter may also echo in its events: an
    # echo is recognised only until the next operation or stimulus begins
    _echo: list[tuple[str, str]] = field(default_factory=list)
    _after: dict[str, tuple[str, dict[str, Any] | None]] = field(default_factory=dict)

    # --- the client ---------------------------------------------------------------------
    @property
    def started(self) -> bool:
        return self.adapter is not None

    def use_callkit(self, on: bool = True) -> None:
        if self.started and self.callkit != on:
            raise AssertionError("CallKit must be chosen before the first step that uses the client")
        self.callkit = on

    def client(self) -> ClientAdapter:
        if self.adapter is None:
            adapter = self.adapter_factory()
            try:
                caps = adapter.hello(callkit=self.callkit)
            except AdapterError as e:
                raise ProtocolError(f"the client failed the handshake: {e}") from e
            self.adapter = adapter
            self.caps = frozenset(caps)
            self.recorder = TraceRecorder(None, callkit=self.callkit, client=self.client_label)
            self._source = adapter.events()
        return self.adapter

    def need(self, *caps: str) -> None:
        self.client()
        for cap in caps:
            if cap not in self.caps:
                not_run(f"needs capability {cap}")

    def close(self) -> None:
        if self.adapter is not None:
            try:
                self.adapter.close()
            except Exception:  # noqa: BLE001 - closing must not hide the scenario's verdict
                pass

    # --- events -------------------------------------------------------------------------
    def _record_event(self, ev: dict[str, Any]) -> None:
        if not isinstance(ev, dict) or "kind" not in ev or "name" not in ev:
            raise ProtocolError(f"the client sent an event that is not a trace line: {ev!r}")
        kind, name = ev["kind"], ev["name"]
        if (kind, name) in self._echo:
            self._echo.remove((kind, name))
            return
        rec = self.recorder
        assert rec is not None
        try:
            if kind == Kind.CALLBACK.value:
                rec.callback(name, call=ev.get("call"), args=ev.get("args"))
            elif kind == Kind.CALLKIT.value:
                args = dict(ev.get("args") or {})
                uuid = args.pop("uuid", None)
                if uuid is None:
                    raise ProtocolError(f"CallKit line without args.uuid: {ev!r}")
                rec.callkit(name, uuid=str(uuid), args=args)
            elif kind == Kind.API.value:
                res = ev.get("result", "ok")
                rec.api(name, call=ev.get("call"), args=ev.get("args"),
                        result=res if isinstance(res, str) else res.get("error", "ok"))
            elif kind == Kind.ENV.value:
                rec.env(name, ev.get("args"))
            elif kind == Kind.STATE.value:
                rec.state(name, call=ev.get("call"))
            elif kind == Kind.META.value:
                return
            else:
                raise ProtocolError(f"unknown event kind in {ev!r}")
        except ValueError as e:
            raise ProtocolError(f"the client sent an event outside trace v1: {e}") from e
        self.seen.append(ev)

    def drain(self) -> None:
        self.client()
        while True:
            try:
                ev = self._source.get_nowait()
            except queue.Empty:
                return
            self._record_event(ev)

    def _pull(self, timeout: float) -> bool:
        try:
            ev = self._source.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return False
        self._record_event(ev)
        return True

    def wait_for(self, name: str | tuple[str, ...], *, timeout: float = WAIT, since: int | None = None,
                 where: Callable[[dict[str, Any]], bool] | None = None,
                 consume: bool = False) -> dict[str, Any] | None:
        """The first event named `name` since `since` (default: the latest When), waiting at
        most `timeout` seconds for it. With `consume`, events an earlier Then step matched
        are passed over and the one found is marked matched (so "Then the app gets X" after
        two Whens finds the X the first When caused, once)."""
        self.client()
        names = (name,) if isinstance(name, str) else tuple(name)
        i = self.mark if since is None else since
        deadline = time.monotonic() + timeout
        while True:
            while i < len(self.seen):
                ev = self.seen[i]
                if ev.get("name") in names and (where is None or where(ev)) \
                        and not (consume and i in self.consumed):
                    if consume:
                        self.consumed.add(i)
                    return ev
                i += 1
            left = deadline - time.monotonic()
            if left <= 0 or not self._pull(left):
                # one last look at what arrived meanwhile
                if i < len(self.seen):
                    continue
                return None

    def settle(self, timeout: float = SETTLE) -> None:
        """Take every event that arrives within `timeout` (a bound, not a sleep)."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if not self._pull(left):
                break

    def since_mark(self, name: str | None = None) -> list[dict[str, Any]]:
        evs = self.seen[self.mark:]
        return [e for e in evs if name is None or e.get("name") == name]

    def callbacks_seen(self) -> list[str]:
        return [f"{e['name']}{'(' + json.dumps(e['args'], sort_keys=True) + ')' if e.get('args') else ''}"
                for e in self.seen if e.get("kind") in ("callback", "callkit")]

    # --- operations and stimuli ---------------------------------------------------------
    def api(self, name: str, *, call: str | None = None, args: dict[str, Any] | None = None,
            record: bool = True) -> ApiResult:
        adapter = self.client()
        self.drain()
        self._echo.clear()
        try:
            res = adapter.api(name, call=call, args=args)
        except Unsupported as e:
            not_run(f"the client cannot set up {name} here: {e}")
        except AdapterError as e:
            if name not in Api.names() or name in OBSERVATIONS:  # a query (getCallDetails...)
                not_run(f"client lacks the query {name}")
            raise ProtocolError(f"{name}: the client broke the adapter protocol: {e}") from e
        if not isinstance(res, ApiResult):
            raise ProtocolError(f"{name}: the client answered {res!r}, not an ApiResult")
        if record and name in Api.names():
            assert self.recorder is not None
            try:
                self.recorder.api(name, call=res.call if name == Api.dial.value else call,
                                  args=args, result=res.result)
            except ValueError as e:
                raise ProtocolError(f"{name}: bad result {res.result!r}: {e}") from e
            self._echo.append((Kind.API.value, name))
            self.last, self.last_op = res, name
            if name == Api.dial.value and res.ok and res.call:
                self.call = res.call
        return res

    def stimulus(self, name: str, *, args: dict[str, Any] | None = None) -> None:
        adapter = self.client()
        self.drain()
        self._echo.clear()
        if name in Env.names():
            assert self.recorder is not None
            self.recorder.env(name, args)
            self._echo.append((Kind.ENV.value, name))
        try:
            adapter.stimulus(name, call=self.call, args=args)
        except Unsupported as e:
            not_run(f"the client cannot give the stimulus {name}: {e}")
        except AdapterError as e:
            raise ProtocolError(f"stimulus {name}: the client broke the adapter protocol: {e}") from e

    def control(self, name: str, fallback: str, args: dict[str, Any] | None, *,
                after: str | None = None) -> None:
        """A platform control (the reference adapter's token_expired, token_invalid,
        init_fails, upload_fails). A client that does not know it gets the network happening
        `fallback` instead: now, or right after the next `after` operation."""
        adapter = self.client()
        self.drain()
        self._echo.clear()
        try:
            adapter.stimulus(name, call=self.call, args=args)
            return
        except AdapterError:
            pass
        if "network" not in self.caps:
            not_run(f"client lacks network (and the platform control {name})")
        if after is None:
            self.stimulus(fallback, args=args)
        else:
            self._after[after] = (fallback, args)

    def platform(self, op: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        """The client's platform simulator (capability `platform`, the adapter's optional
        `platform(op, args)` operation): its answer, also kept in values["platform:<op>"]."""
        adapter = self.client()
        if Capability.PLATFORM not in self.caps:
            not_run(f"needs capability {Capability.PLATFORM}")
        self.drain()
        self._echo.clear()
        call = getattr(adapter, "platform", None)
        if not callable(call):
            raise ProtocolError("the client declares platform but offers no platform operation")
        try:
            res = call(op, dict(args or {}))
        except AdapterError as e:
            raise ProtocolError(f"platform {op}: the client broke the adapter protocol: {e}") from e
        if not isinstance(res, dict):
            raise ProtocolError(f"platform {op}: the client answered {res!r}, not an object")
        self.values[f"platform:{op}"] = res
        return res

    def platform_answer(self, op: str) -> dict[str, Any]:
        """The answer of the latest `op` platform operation (a When step made it)."""
        res = self.values.get(f"platform:{op}")
        if res is None:
            raise AssertionError(f"no platform {op} operation was made before this step")
        return res

    def after_op(self, op: str, res: ApiResult) -> None:
        pending = self._after.pop(op, None)
        if pending is not None and res.ok:
            self.stimulus(pending[0], args=pending[1])

    def read_state(self) -> str | None:
        """getCallState() of the latest call (guide 4.5: getLatestCallDetails().getCallState()),
        written in the trace as a `state` line so the validator checks it too."""
        self.drain()
        res = self.api("getCallDetails", call=self.call, record=False)
        value = res.value if res.ok else None
        state = None
        if isinstance(value, dict):
            state = value.get("callState")
        elif value is not None:
            state = getattr(value, "callState", None) or getattr(value, "call_state", None)
        if state is not None:
            state = str(getattr(state, "value", state))
            assert self.recorder is not None
            try:
                self.recorder.state(state, call=self.call)
            except ValueError as e:
                raise ProtocolError(f"getCallDetails: unknown call state {state!r}") from e
        return state

    # --- judging ------------------------------------------------------------------------
    def trace_text(self) -> str:
        return self.recorder.text() if self.recorder is not None else ""

    def judge(self) -> Verdict | None:
        if self.recorder is None:
            return None
        try:
            self.drain()
        except ProtocolError:
            pass
        text = self.trace_text()
        with tempfile.TemporaryDirectory() as d:
            path = self.keep_trace or Path(d) / "scenario.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            v = judge_file(path, Options(callkit=self.callkit))
        self.verdict = Verdict(v.violations[0] if v.violations else None, text, v.unusable)
        return self.verdict
