"""One scenario's world: the client under test (through a ClientAdapter), the trace the
scenario leaves, and bounded waits on the client's events.

The trace is built in causal order, not in arrival order. Every line has a key: the driver's
own line for a request (an api line with its result, an env line) takes that request's number,
and an event takes the number of the request it followed (its `cause`, as the client said, or
the latest request when it arrived); lines are kept sorted by key, the driver's line of a
request before the events that followed it. So an event that arrives after its answer, even
after the next request was sent, still lands before that next request's line. The step
library's positions ("since the latest When", "since this Given began") are keys too, so a
late event is never taken for a consequence of a later step.

Every request is checked against the protocol's catalogue (exovoice.spec.conform.protocol)
before it is sent: a step never asks a client for something docs/adapter-protocol.md does not
describe. At the end of the scenario the trace is judged by the validator
(exovoice.spec.validate), which fails the scenario on any violation, also where no step looked.
"""

from __future__ import annotations

import bisect
import itertools
import json
import queue
import tempfile
import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Callable

import pytest

from ..trace.recorder import TraceRecorder
from ..validate.engine import Violation
from ..validate.run import Options, judge_file
from ..vocabulary import Api, Env, Kind
from . import protocol
from .adapter import AdapterError, ApiResult, Capability, ClientAdapter, ClientBroken, Unsupported

Key = tuple[int, int, int]  # (request number, 0 driver line | 1 event, arrival sequence)
Position = Key

WAIT = 5.0  # bound for an expected event
SETTLE = 0.25  # bound for "nothing more happens" checks

NOT_RUN = "not-run"


def not_run(reason: str) -> None:
    """Report the scenario as not-run (never passed)."""
    pytest.skip(f"{NOT_RUN}: {reason}")


class ProtocolError(AssertionError):
    """The client broke the adapter protocol (as opposed to the spec). `fatal`: it stopped
    speaking it altogether (no answer in time, exited, wrote what is not a message), so
    nothing more can be asked of it."""

    def __init__(self, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal


def _protocol_error(what: str, e: AdapterError) -> ProtocolError:
    return ProtocolError(f"{what}: the client broke the adapter protocol: {e}",
                         fatal=isinstance(e, ClientBroken))


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
    seen: list[dict[str, Any]] = field(default_factory=list)  # the events, in causal order
    mark: Position = (0, 0, 0)  # where the latest When began
    first_when: Position | None = None  # where the first When began
    consumed: set[int] = field(default_factory=set)  # id() of events a Then step matched
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
    _seen_keys: list[Key] = field(default_factory=list)
    _line_keys: list[Key] = field(default_factory=list)  # beside recorder.lines
    _requests: int = 0  # requests made, for an adapter that does not number its own
    _seq: Any = field(default_factory=itertools.count)

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
                self._requests += 1
                caps = adapter.hello(callkit=self.callkit)
            except AdapterError as e:
                try:
                    adapter.close()
                except Exception:  # noqa: BLE001 - the handshake's failure is the story
                    pass
                raise ProtocolError(f"the client failed the handshake: {e}", fatal=True) from e
            self.adapter = adapter
            self.caps = frozenset(caps)
            self.recorder = TraceRecorder(None, callkit=self.callkit, client=self.client_label)
            self._line_keys = [(0, 0, next(self._seq))] * len(self.recorder.lines)
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

    # --- causal order -------------------------------------------------------------------
    def _last_request(self) -> int:
        """The number of the latest request: the adapter's own request id when it numbers
        its requests (the JSON-lines form), else the count of requests made."""
        numbered = getattr(self.adapter, "last_request_id", None)
        return numbered if type(numbered) is int else self._requests

    def here(self) -> Position:
        """A position before everything the next request causes and after everything that
        came before it, including events of earlier requests that have not arrived yet."""
        return (self._last_request() + 1, 0, 0)

    def _place(self, key: Key) -> None:
        """Move the line the recorder has just appended to where `key` sorts."""
        rec = self.recorder
        assert rec is not None
        line = rec.lines.pop()
        at = bisect.bisect_right(self._line_keys, key)
        rec.lines.insert(at, line)
        self._line_keys.insert(at, key)

    def _driver_line(self, number: int) -> None:
        self._place((number, 0, next(self._seq)))

    def _at_or_after(self, since: Position) -> int:
        """The index in `seen` of the first event at or after `since`."""
        return bisect.bisect_left(self._seen_keys, since)

    # --- events -------------------------------------------------------------------------
    def _record_event(self, ev: dict[str, Any]) -> None:
        if not isinstance(ev, dict) or "kind" not in ev or "name" not in ev:
            raise ProtocolError(f"the client sent an event that is not a trace line: {ev!r}")
        ev = dict(ev)
        cause = ev.pop("cause", None)
        last = self._last_request()
        if cause is None:
            cause = last
        elif type(cause) is not int or not 1 <= cause <= last:
            raise ProtocolError(f"the client sent an event whose cause is {cause!r}, not a "
                                f"request already made (1 to {last}): {ev!r}", fatal=True)
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
        if name == "onIncomingCall" and ev.get("call"):
            self.call = str(ev["call"])  # the announced call is the latest call now
        key = (cause, 1, next(self._seq))
        self._place(key)
        at = bisect.bisect_right(self._seen_keys, key)
        self.seen.insert(at, ev)
        self._seen_keys.insert(at, key)

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

    def wait_for(self, name: str | tuple[str, ...], *, timeout: float = WAIT,
                 since: Position | None = None,
                 where: Callable[[dict[str, Any]], bool] | None = None,
                 consume: bool = False) -> dict[str, Any] | None:
        """The first event named `name` at or after `since` (default: the latest When), in
        causal order, waiting at most `timeout` seconds for it. With `consume`, events an
        earlier Then step matched are passed over and the one found is marked matched (so
        "Then the app gets X" after two Whens finds the X the first When caused, once)."""
        self.client()
        names = (name,) if isinstance(name, str) else tuple(name)
        since = self.mark if since is None else since
        deadline = time.monotonic() + timeout
        while True:
            # a late event may sort before ones already looked at: look again from the start
            for ev in self.seen[self._at_or_after(since):]:
                if ev.get("name") in names and (where is None or where(ev)) \
                        and not (consume and id(ev) in self.consumed):
                    if consume:
                        self.consumed.add(id(ev))
                    return ev
            left = deadline - time.monotonic()
            if left <= 0 or not self._pull(left):
                self.drain()  # one last look at what arrived meanwhile
                found = [ev for ev in self.seen[self._at_or_after(since):]
                         if ev.get("name") in names and (where is None or where(ev))
                         and not (consume and id(ev) in self.consumed)]
                if not found:
                    return None
                if consume:
                    self.consumed.add(id(found[0]))
                return found[0]

    def settle(self, timeout: float = SETTLE) -> None:
        """Take every event that arrives within `timeout` (a bound, not a sleep)."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if not self._pull(left):
                break

    def since(self, position: Position, name: str | None = None) -> list[dict[str, Any]]:
        """The events at or after `position`, in causal order (those named `name`)."""
        evs = self.seen[self._at_or_after(position):]
        return [e for e in evs if name is None or e.get("name") == name]

    def before(self, position: Position) -> list[dict[str, Any]]:
        """The events before `position`, in causal order."""
        return self.seen[:self._at_or_after(position)]

    def since_mark(self, name: str | None = None) -> list[dict[str, Any]]:
        return self.since(self.mark, name)

    def callbacks_seen(self) -> list[str]:
        """The SDK's callbacks, as a person reads them (the CallKit lines and the app's own
        API calls are apart: callkit_seen, app_calls_seen)."""
        return [_shown(e) for e in self.seen if e.get("kind") == Kind.CALLBACK.value]

    def callkit_seen(self) -> list[str]:
        return [_shown(e, "uuid") for e in self.seen if e.get("kind") == Kind.CALLKIT.value]

    def app_calls_seen(self) -> list[str]:
        return [_shown(e) for e in self.seen if e.get("kind") == Kind.API.value]

    def events_seen(self) -> list[str]:
        """Every event, in causal order (what "the client sent" names)."""
        return [_shown(e, "uuid") for e in self.seen]

    # --- operations and stimuli ---------------------------------------------------------
    def _send(self, op: str, name: str, args: dict[str, Any] | None,
              send: Callable[[ClientAdapter], Any]) -> tuple[Any, int]:
        """Check a request against the catalogue, make it, and return what it returned with
        its number (which its trace line takes)."""
        adapter = self.client()
        protocol.check_request(op, name, args)
        self.drain()
        self._echo.clear()
        expected = self._last_request() + 1
        self._requests += 1
        try:
            out = send(adapter)
        finally:
            number = max(self._last_request(), expected)
        return out, number

    def api(self, name: str, *, call: str | None = None, args: dict[str, Any] | None = None,
            record: bool = True) -> ApiResult:
        try:
            res, number = self._send(protocol.API, name, args,
                                     lambda a: a.api(name, call=call, args=args))
        except Unsupported as e:
            not_run(f"the client cannot set up {name} here: {e}")
        except AdapterError as e:
            raise _protocol_error(name, e) from e
        if not isinstance(res, ApiResult):
            raise ProtocolError(f"{name}: the client answered {res!r}, not an ApiResult")
        if record and name in Api.names():
            assert self.recorder is not None
            try:
                self.recorder.api(name, call=res.call if name == Api.dial.value else call,
                                  args=args, result=res.result)
            except ValueError as e:
                raise ProtocolError(f"{name}: bad result {res.result!r}: {e}") from e
            self._driver_line(number)
            self._echo.append((Kind.API.value, name))
            self.last, self.last_op = res, name
            if name == Api.dial.value and res.ok and res.call:
                self.call = res.call
        return res

    def query(self, name: str) -> ApiResult:
        """A query of the catalogue (getCallDetails, getStatistics, getAudioRoute) about the
        latest call. A client that declares the query's capability is held to it: a refusal
        of the request is a protocol error and a value short of its model fails the scenario.
        A client that does not is asked anyway (the version-1 way), and whatever it answers
        short of a full value makes the scenario not-run, never failed."""
        found = protocol.entry(protocol.API, name)
        assert found is not None and found.group == protocol.QUERY, name
        cap = found.needs[0]
        held = cap in self.caps
        lacks = f"client lacks the query {name} (capability {cap} not declared)"
        try:
            res, _number = self._send(protocol.API, name, None,
                                      lambda a: a.api(name, call=self.call, args=None))
        except Unsupported as e:
            not_run(f"the client cannot answer {name} here: {e}")
        except ClientBroken as e:
            raise _protocol_error(name, e) from e
        except AdapterError as e:
            if held:
                raise ProtocolError(f"{name}: the client declares {cap} but refused the query: "
                                    f"{e}") from e
            not_run(lacks)
        if not isinstance(res, ApiResult):
            raise ProtocolError(f"{name}: the client answered {res!r}, not an ApiResult")
        if not res.ok:
            if not held:
                not_run(f"{lacks}: it answered {res.result}")
            return res
        problem = protocol.value_problem(name, _plain(res.value))
        if problem is not None:
            if not held:
                not_run(f"{lacks}: {problem}")
            raise AssertionError(f"{problem} (the client declares {cap}; "
                                 "docs/adapter-protocol.md gives the value's shape)")
        return ApiResult(res.result, res.call, _plain(res.value))

    def observe(self, line: Callable[[TraceRecorder], None]) -> None:
        """Write an observation line (a state, an audio route) the latest query gave."""
        assert self.recorder is not None
        line(self.recorder)
        self._driver_line(self._last_request())

    def stimulus(self, name: str, *, args: dict[str, Any] | None = None) -> None:
        number = 0
        try:
            _, number = self._send(protocol.STIMULUS, name, args,
                                   lambda a: a.stimulus(name, call=self.call, args=args))
        except Unsupported as e:
            not_run(f"the client cannot give the stimulus {name}: {e}")
        except AdapterError as e:
            raise _protocol_error(f"stimulus {name}", e) from e
        finally:
            if name in Env.names() and number:
                assert self.recorder is not None
                self.recorder.env(name, args)
                self._driver_line(number)
                self._echo.append((Kind.ENV.value, name))

    def control(self, name: str, fallback: str | None, args: dict[str, Any] | None = None, *,
                after: str | None = None) -> None:
        """A platform control of the catalogue (token_expired, token_invalid,
        token_expired_silently, init_fails, upload_fails). A client that declares `controls`
        is held to it: a refusal is a protocol error. One that does not is offered it anyway
        (the version-1 way); if it refuses, it gets the network happening `fallback` instead,
        now or right after the next `after` operation (capability `network`), or, with no
        fallback, the scenario is not-run."""
        held = Capability.CONTROLS in self.caps
        try:
            self._send(protocol.STIMULUS, name, args,
                       lambda a: a.stimulus(name, call=self.call, args=args))
            return
        except Unsupported as e:
            not_run(f"the client cannot give the platform control {name}: {e}")
        except ClientBroken as e:
            raise _protocol_error(f"platform control {name}", e) from e
        except AdapterError as e:
            if held:
                raise ProtocolError(f"platform control {name}: the client declares "
                                    f"{Capability.CONTROLS} but refused it: {e}") from e
            refused = e
        if fallback is None:
            not_run(f"client lacks the platform control {name}: {refused}")
        if Capability.NETWORK not in self.caps:
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
        call = getattr(adapter, "platform", None)
        if not callable(call):
            raise ProtocolError("the client declares platform but offers no platform operation")
        try:
            res, _number = self._send(protocol.PLATFORM, op, args,
                                      lambda a: call(op, dict(args or {})))
        except AdapterError as e:
            raise _protocol_error(f"platform {op}", e) from e
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
        asked through getCallDetails (capability call-details) and written in the trace as a
        `state` line so the validator checks it too."""
        self.drain()
        res = self.query("getCallDetails")
        value = res.value if res.ok else None
        state = value.get("callState") if isinstance(value, dict) else None
        if state is not None:
            state = str(state)
            try:
                self.observe(lambda rec: rec.state(state, call=self.call))
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


def _shown(ev: dict[str, Any], *hide: str) -> str:
    """An event as a person reads it: its name and its arguments (without `hide`)."""
    args = {k: v for k, v in (ev.get("args") or {}).items() if k not in hide}
    return ev["name"] + (f"({json.dumps(args, sort_keys=True)})" if args else "")


def _plain(value: Any) -> Any:
    """A query's value as JSON would carry it: an in-process client may answer an object with
    attributes (a CallDetails) or an enum member (a route)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (str, int, float, bool, list)) or value is None:
        return value
    if hasattr(value, "as_json"):
        return value.as_json()
    if hasattr(value, "__dict__"):
        return {k: _plain(v) for k, v in vars(value).items() if not k.startswith("_")}
    return value
