"""`exovoice demo`: one real call, end to end, on this machine.

It starts the sample customer backend (in this process), the platform simulator
(``python -m exovoice.reference.platform.sipserver``: HTTP + the SIP exophone) and two phones
(``python -m exovoice.reference.app.phone``, the reference client over pjsua2, one process each: alice
and bob), all on 127.0.0.1. Alice dials bob through the exophone with a message; the
platform asks the backend whom to call (Dial Whom: alice -> bob) and pushes to bob; this
process plays APNs, handing the push to bob's phone, whose app relays it to the SDK, which
takes the session; the platform INVITEs bob, bob answers, the legs are bridged, they talk,
alice hangs up. Then both SDK traces are judged by the validator (complete mode) and the
platform's call detail record is shown.

With ``--workers N`` (N > 1) the platform is N bridge workers behind the Kamailio front
(exovoice.reference.platform.cluster): alice's INVITE enters through the front, which picks a
worker; bob's take reaches the first worker's HTTP side and is forwarded to the worker holding
the call. Without Kamailio, N > 1 is refused (exit 2), never run some other way.

Exit status: 0 the call went through and both traces conform; 1 the call failed or a trace
does not conform; 2 the demo could not run (pjsua2 missing, a process did not start).
"""

from __future__ import annotations

import argparse
import json
import queue
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Sequence, TypeAlias

from ..procs.child import Child, ChildError

EXIT_OK, EXIT_FAILED, EXIT_UNUSABLE = 0, 1, 2
DEFAULT_MESSAGE = "Order:1234"  # guide 4.3.1: alphanumerics, , : and brackets only
SID, API_KEY, API_TOKEN = "exovoice-demo", "demo-api-key", "demo-api-token"
EXOPHONE = "sip:08040408080"
CALLER, CALLEE = "alice", "bob"

# Bounded waits (seconds): a demo that cannot go on says what it waited for, never hangs.
START_TIMEOUT = 20.0
ESTABLISH_TIMEOUT = 20.0
END_TIMEOUT = 10.0
REPLY_TIMEOUT = 5.0
EXIT_TIMEOUT = 15.0
CHILD_LIFETIME = 180.0  # children give up by themselves should this process vanish

DESCRIPTION = """\
Place one real call on this machine and watch it. Starts the sample customer backend, the
Exotel platform simulator (HTTP API + SIP exophone) and two reference clients (phones, each
its own pjsua2 process) on 127.0.0.1. alice dials bob through the exophone with a message;
the platform asks the backend whom to call, pushes to bob (this command plays APNs), bob's
app relays the push, his SDK takes the session, bob answers a second later, the legs are
bridged, RTP flows both ways for --talk seconds, alice hangs up. Every callback and call
state of both phones and every step of the platform is printed as it happens; then both
SDK traces are judged by the validator (complete mode) and the call detail record shown."""

EPILOG = """\
Exit status: 0 the call went through and both traces conform to the spec; 1 the call
failed or a trace does not conform; 2 the demo could not run (pjsua2 missing, a process did
not start), with a one-line reason on stderr."""


class Unusable(Exception):
    """The demo could not run (exit 2)."""


class CallFailed(Exception):
    """The demo ran but the call did not go through (exit 1)."""


@dataclass
class Happening:
    """One line of the timeline: seconds since the demo started, who, what."""

    t: float
    side: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"t": round(self.t, 3), "side": self.side, "text": self.text, **self.data}


Inbox: TypeAlias = "queue.Queue[tuple[float, str, dict[str, Any]]]"


def start_child(side: str, module: str, args: list[str], inbox: Inbox, log: Path,
                t0: float, secrets_line: dict[str, Any]) -> Child:
    """A JSON-lines child process (the platform or a phone) whose every line, replies
    included, goes stamped with the time it arrived into the demo's one inbox, so both phones
    and the platform come out interleaved in the order things happened; stderr to `log`.
    What it must keep secret (keys, tokens) is its first stdin line, never an argument."""
    try:
        return Child(module, *args, name=side, ready_timeout=None, replies=False, stderr=log,
                     on_event=lambda ev: inbox.put((time.monotonic() - t0, side, ev)),
                     stdin_first=secrets_line)
    except ChildError as exc:
        raise Unusable(f"could not start the {side} process: {exc}") from exc


def post(child: Child, cmd: str, **kw: Any) -> None:
    """A command to a child; its reply arrives in the inbox."""
    try:
        child.post(cmd, **kw)
    except ChildError as exc:
        raise CallFailed(f"{exc}; see {child.log}") from exc


def is_platform(side: str) -> bool:
    """The platform's process ("platform"), or one of its workers ("worker1", ...)."""
    return side == "platform" or side.startswith("worker")


def _label(side: str) -> str:
    if side.startswith("worker"):
        return f"the platform's {side}"
    return "the platform simulator" if side == "platform" else f"{side}'s phone"


def _short(value: Any, width: int = 20) -> str:
    """Tokens and push payloads are long and say nothing to a reader."""
    if not isinstance(value, str):
        return json.dumps(value)
    return f'"{value}"' if len(value) <= width else f'"{value[:10]}..."'


def describe_trace(line: dict[str, Any]) -> str:
    """A trace line as one might write it in the app: `dial(remoteId="bob", ...)` for an API
    call, `onCallEnded(endReason=LOCAL_HANGUP)` for a callback."""
    name, args, kind = line.get("name", "?"), line.get("args") or {}, line.get("kind")
    if kind == "api":
        inner = ", ".join(f"{k}={_short(v)}" for k, v in args.items() if v not in ("", None))
        text = f"{name}({inner})"
        result = line.get("result")
        if isinstance(result, dict) and result.get("error"):
            text += f" refused: {result['error']}"
        return text
    if args:
        return f"{name}(" + ", ".join(f"{k}={v}" for k, v in args.items()) + ")"
    return name


class Demo:
    def __init__(self, opts: argparse.Namespace, out: IO[str]) -> None:
        self.opts = opts
        self.out = out
        self.live = opts.format == "text"
        self.t0 = time.monotonic()
        self.inbox: Inbox = queue.Queue()
        self.timeline: list[Happening] = []
        self.children: dict[str, Child] = {}
        self.stopping: set[str] = set()
        self.states: dict[str, str | None] = {CALLER: None, CALLEE: None}
        self.callbacks: dict[str, list[str]] = {CALLER: [], CALLEE: []}
        self.exited: set[str] = set()
        self.ready: dict[str, dict[str, Any]] = {}
        self.replies: dict[str, list[dict[str, Any]]] = {}
        self.errors: dict[str, str] = {}  # the last error line of each process
        self.stats: dict[str, dict[str, Any]] = {}
        self.cdr: dict[str, Any] | None = None
        self.verdicts: dict[str, dict[str, Any]] = {}
        self.setup: dict[str, Any] = {}
        self.callee_of_call: str = CALLEE
        self.backend: Any = None
        self.front: Any = None  # the Kamailio front, with --workers N > 1
        self.platforms: list[str] = []  # the platform's process sides
        self.device: Any = None
        self.dir = Path(opts.keep) if opts.keep else Path(tempfile.mkdtemp(prefix="exovoice-demo-"))
        self.traces = {CALLER: self.dir / f"{CALLER}.jsonl", CALLEE: self.dir / f"{CALLEE}.jsonl"}

    # --- output -------------------------------------------------------------------------
    def say(self, text: str = "") -> None:
        if self.live:
            print(text, file=self.out, flush=True)

    def note(self, side: str, text: str, t: float | None = None, *, show: bool = True,
             **data: Any) -> None:
        """Record a happening; `show=False` keeps it out of the live view only (detail a
        reader of the text does not need, e.g. SIP's CONNECTING between 200 and ACK)."""
        h = Happening(time.monotonic() - self.t0 if t is None else t, side, text, data)
        self.timeline.append(h)
        if show:
            self.say(f"{f'+{h.t:.2f}s':>7}  {side:<8}  {text}")

    # --- the inbox ----------------------------------------------------------------------
    def pump(self, until: Callable[[], bool], timeout: float, waiting_for: str,
             fail: type[Exception] = CallFailed,
             abort: Callable[[], str | None] | None = None) -> None:
        """Handle what arrives (printing it, forwarding pushes) until `until()` holds; raise
        `fail` naming `waiting_for` after `timeout` s, or at once when `abort()` names a
        reason to stop waiting."""
        deadline = time.monotonic() + timeout
        while True:
            self.forward_pushes()
            if until():
                return
            why = abort() if abort is not None else None
            if why:
                raise fail(why)
            left = deadline - time.monotonic()
            if left <= 0:
                raise fail(f"no {waiting_for} within {timeout:g} s")
            try:
                t, side, ev = self.inbox.get(timeout=min(0.05, left))
            except queue.Empty:
                continue
            self.handle(t, side, ev, fail)

    def idle(self, seconds: float, abort: Callable[[], str | None] | None = None) -> None:
        """Let time pass while still showing what happens (a dropped call, media trouble)."""
        end = time.monotonic() + seconds
        self.pump(lambda: time.monotonic() >= end, seconds + 1, "pause", abort=abort)

    def forward_pushes(self) -> None:
        """The demo is APNs: what the backend pushed to bob's device reaches bob's phone."""
        if self.device is None:
            return
        for push in self.device.pending():
            self.note("push", f"data message for {push.get('subscriberName')} delivered to "
                      f"{CALLEE}'s device, handed to his app", event="push-delivered")
            post(self.children[CALLEE], "push", push=push)

    def handle(self, t: float, side: str, ev: dict[str, Any], fail: type[Exception]) -> None:
        kind = ev.get("event")
        if kind == "<eof>":
            self.exited.add(side)
            if side not in self.stopping:
                log = self.children[side].log
                said = self.errors.get(side)
                raise fail(f"{_label(side)} exited unexpectedly"
                           + (f": {said}" if said else "") + f" (see {log})")
            return
        if is_platform(side):
            self.on_platform(t, side, ev)
        else:
            self.on_phone(t, side, ev)

    def on_phone(self, t: float, side: str, ev: dict[str, Any]) -> None:
        kind = ev.get("event")
        if kind == "trace":
            line = ev.get("line") or {}
            state = ev.get("callState")
            changed = state != self.states.get(side)
            self.states[side] = state
            if line.get("kind") == "callback":
                self.callbacks[side].append(str(line.get("name")))
            text = describe_trace(line)
            if changed and state not in (None, "NONE"):
                text = f"{text:<46} call {state}"
            self.note(side, text, t, event="trace", kind=line.get("kind"),
                      name=line.get("name"), args=line.get("args"), callState=state)
        elif kind == "ready":
            self.ready[side] = ev
            self.note(side, f"signed in; SIP contact {ev.get('uri')}", t, event="ready")
        elif kind == "answering":
            self.note(side, f"(the user picks up in {ev.get('after'):g} s)", t, event="answering")
        elif kind == "dropped":
            self.note(side, f"the app dropped a push: {ev.get('reason')}", t, event="dropped")
        elif kind == "error":
            self.errors[side] = str(ev.get("error"))
            self.note(side, f"error: {ev.get('error')}", t, event="error", error=ev.get("error"))
            if side not in self.ready:
                self.ready[side] = ev
        elif kind == "reply":
            if ev.get("ok") is False:
                self.note(side, f"{ev.get('cmd') or 'command'} failed: {ev.get('error')}", t,
                          event="reply-error", error=ev.get("error"))
            self.replies.setdefault(side, []).append(ev)
        elif kind == "exit":
            self.note(side, "phone closed (trace flushed, SIP stack destroyed)", t,
                      event="exit")
        elif kind == "noise":
            self.note(side, f"(output) {ev.get('text')}", t, event="noise")

    def on_platform(self, t: float, side: str, ev: dict[str, Any]) -> None:
        kind = ev.get("event")
        show = True
        if kind == "ready":
            self.ready[side] = ev
            text = (f"up: exophone {ev.get('sip_uri')}, API {ev.get('api_url')}"
                    if side == "platform" else
                    f"worker up: SIP {ev.get('sip_uri')}, API {ev.get('api_url')}")
        elif kind == "invite":
            msg = ev.get("custom_field")
            text = f"INVITE from {ev.get('subscriber')}" + (f', message "{msg}"' if msg else "")
        elif kind == "refused":
            text = f"refused the caller: {ev.get('code')} ({ev.get('reason')})"
        elif kind == "ringing":
            text = "180 Ringing to the caller"
        elif kind == "routed":
            self.callee_of_call = str(ev.get("remote_id") or CALLEE)
            push = "push sent" if ev.get("push_ok") else f"push failed: {ev.get('push_reason')}"
            text = f"Dial Whom: {self.callee_of_call}; {push}"
        elif kind == "awaiting-take":
            text = f"waiting for {self.callee_of_call}'s SDK to take the session"
        elif kind == "taken":
            text = f"session taken by {self.callee_of_call}'s SDK"
        elif kind == "callee-invite":
            text = f"INVITE to {self.callee_of_call} at {ev.get('uri')}"
        elif kind == "callee-state":
            state, code = ev.get("state"), ev.get("code")
            text = f"{self.callee_of_call}'s leg {state}" + (f" ({code})" if code else "")
            if state == "EARLY":
                text = f"{self.callee_of_call}'s phone rings ({code or 180} on the callee leg)"
            elif state == "DISCONNECTED":  # after a BYE the last code is the BYE's 200
                text = f"{self.callee_of_call}'s leg ended" + (
                    f" ({code})" if code and int(code) >= 300 else "")
            # the rest is said better by the lines around it (INVITE, answered, call ended)
            show = state in ("EARLY", "DISCONNECTED")
        elif kind == "answered":
            text = f"{self.callee_of_call} answered: 200 OK to the caller"
        elif kind == "bridged":
            text = "both legs bridged: audio flows caller <-> callee"
        elif kind == "call-ended":
            cdr = ev.get("cdr") or {}
            self.cdr = cdr
            text = (f"call ended: {cdr.get('status')} ({cdr.get('end_reason') or 'no reason'}), "
                    f"{float(cdr.get('duration') or 0):.2f} s talked")
        elif kind in ("warning", "error"):
            if kind == "error":
                self.errors[side] = str(ev.get("error"))
            text = f"{kind}: {ev.get('error')}"
        elif kind == "reply":
            self.replies.setdefault(side, []).append(ev)
            return
        elif kind == "exit":
            text = "stopped"
        else:
            text = kind if kind else json.dumps(ev)
        self.note(side, text, t, show=show, event=kind)

    def request(self, side: str, cmd: str, timeout: float = REPLY_TIMEOUT,
                fail: type[Exception] = CallFailed, **kw: Any) -> dict[str, Any]:
        """Send a command and wait for its reply (replies come in order, one per command)."""
        before = len(self.replies.get(side, []))
        post(self.children[side], cmd, **kw)

        def got() -> bool:
            return any(r.get("cmd") in (cmd, None)
                       for r in self.replies.get(side, [])[before:])
        self.pump(got, timeout, f"reply from {side} to {cmd}", fail)
        reply = next(r for r in self.replies[side][before:] if r.get("cmd") in (cmd, None))
        if not reply.get("ok"):
            raise fail(f"{side}: {cmd} failed: {reply.get('error')}")
        return reply

    # --- the steps ----------------------------------------------------------------------
    def start(self) -> None:
        from exovoice.reference.backend import CustomerBackend, PushChannel
        from exovoice.reference.backend.server import RoutingTable
        from exovoice.reference.platform.client import SubscriberApi

        self.dir.mkdir(parents=True, exist_ok=True)
        self.say(f"exovoice demo: {CALLER} calls {CALLEE} through the simulated Exotel "
                 f"platform, real SIP/RTP on 127.0.0.1")
        self.say(f"traces and logs in {self.dir}")
        self.say()
        channel = PushChannel()
        self.device = channel.register(CALLEE, f"{CALLEE}-phone")
        try:
            self.backend = CustomerBackend(RoutingTable(by_caller={CALLER: CALLEE}),
                                           channel).start()
        except OSError as exc:
            raise Unusable(f"the customer backend did not start: {exc}") from exc
        self.note("backend", f"Dial Whom routes {CALLER} -> {CALLEE}; pushes go to "
                  f"{CALLEE}'s device", event="ready")
        secret = secrets.token_bytes(32)
        config = {
            "account": {"sid": SID, "api_key": API_KEY, "api_token": API_TOKEN,
                        "sip_exophone": EXOPHONE, "dial_whom_url": self.backend.dial_whom_url,
                        "push_url": self.backend.push_url},
            "secret_hex": secret.hex(), "subscribers": [CALLER, CALLEE],
            "max_lifetime": CHILD_LIFETIME}
        platform = self.start_platform(config)
        api = SubscriberApi(platform["api_url"], API_KEY, API_TOKEN)
        tokens: dict[str, str] = {}
        for name in (CALLER, CALLEE):  # as the app's backend would, for each device
            got = api.token(name, f"{name}-phone")
            if got.status != 200:
                raise Unusable(f"the Subscriber API issued no token for {name}: "
                               f"HTTP {got.status}")
            tokens[name] = got.json()["subscriber_token"]["refresh_token"]
        self.note("platform", f"issued subscriber tokens for {CALLER} and {CALLEE} "
                  "(Subscriber API)", event="tokens")
        for name in (CALLER, CALLEE):
            argv = ["--exophone", platform["sip_uri"],
                    "--sessions-url", platform["api_url"], "--device-id", f"{name}-phone",
                    "--subscriber", name,
                    "--trace", str(self.traces[name]), "--hostname", "127.0.0.1",
                    "--account-sid", str(platform.get("account_sid", SID)),
                    "--max-lifetime", str(CHILD_LIFETIME)]
            if name == CALLEE:
                argv += ["--answer-after", "1"]
            self.children[name] = start_child(name, "exovoice.reference.app.phone", argv,
                                              self.inbox, self.dir / f"{name}.log", self.t0,
                                              {"refresh_token": tokens[name]})
        self.pump(lambda: CALLER in self.ready and CALLEE in self.ready, START_TIMEOUT,
                  "ready line from both phones", Unusable)
        for name in (CALLER, CALLEE):
            if self.ready[name].get("event") == "error":
                raise Unusable(f"{name}'s phone did not start: {self.ready[name].get('error')} "
                               f"(see {self.children[name].log})")
        self.setup = {"dir": str(self.dir), "exophone": platform["sip_uri"],
                      "workers": self.opts.workers,
                      "api_url": platform["api_url"],
                      "dial_whom_url": self.backend.dial_whom_url,
                      "phones": {n: self.ready[n].get("uri") for n in (CALLER, CALLEE)},
                      "pids": {n: c.proc.pid for n, c in self.children.items()}}

    def start_platform(self, config: dict[str, Any]) -> dict[str, Any]:
        """The platform: one process, or N workers behind the Kamailio front (told each
        other's API URLs, for the session take); the ready line the phones are set up from."""
        from exovoice.reference.platform.cluster import front_for, peers_of, worker_configs
        from exovoice.reference.platform.front import FrontError

        n = self.opts.workers
        if n == 1:
            self.platforms = ["platform"]
            self.children["platform"] = start_child(
                "platform", "exovoice.reference.platform.sipserver", ["--config", "-"],
                self.inbox, self.dir / "platform.log", self.t0, config)
            self.pump(lambda: "platform" in self.ready, START_TIMEOUT,
                      "ready line from the platform simulator", Unusable)
            return self.ready["platform"]
        self.platforms = [f"worker{i + 1}" for i in range(n)]
        for side, cfg in zip(self.platforms, worker_configs(config, n)):
            self.children[side] = start_child(
                side, "exovoice.reference.platform.sipserver", ["--config", "-"],
                self.inbox, self.dir / f"{side}.log", self.t0, cfg)
        self.pump(lambda: all(s in self.ready for s in self.platforms), START_TIMEOUT,
                  "ready line from every platform worker", Unusable)
        readies = [self.ready[s] for s in self.platforms]
        try:
            self.front = front_for(readies, EXOPHONE)
        except FrontError as exc:
            raise Unusable(f"the Kamailio front did not start: {exc}") from exc
        for side in self.platforms:
            self.request(side, "peers", fail=Unusable, api_urls=peers_of(readies))
        exophone = f"{EXOPHONE}@{self.front.host}:{self.front.port}"
        self.note("front", f"Kamailio up: exophone {exophone} spreads calls over "
                  f"{n} workers", event="front")
        return {**readies[0], "sip_uri": exophone, "sip_port": self.front.port}

    def call(self) -> None:
        self.request(CALLER, "dial", to=CALLEE, message=self.opts.message)

        def ended(when: str) -> Callable[[], str | None]:
            def check() -> str | None:
                for side in (CALLER, CALLEE):
                    for cb in ("onCallEnded", "onCallFailed"):
                        if cb in self.callbacks[side]:
                            return f"the call ended {when} ({side}: {cb})"
                return None
            return check

        ended_early = ended("before both sides were established")

        self.pump(lambda: all("onCallEstablished" in self.callbacks[s]
                              for s in (CALLER, CALLEE)),
                  ESTABLISH_TIMEOUT, "onCallEstablished on both phones", abort=ended_early)
        self.note("demo", f"both phones ESTABLISHED; talking for {self.opts.talk:g} s",
                  event="talk")
        self.idle(self.opts.talk, abort=ended("while they talked"))
        for side in (CALLER, CALLEE):
            self.stats[side] = self.request(side, "stats")["stats"]
        a, b = self.stats[CALLER], self.stats[CALLEE]
        self.note("media", f"{CALLER} sent {a['packetsSent']} / received "
                  f"{a['packetsReceived']} RTP packets; {CALLEE} sent {b['packetsSent']} / "
                  f"received {b['packetsReceived']} ({a['codec']}, MOS {a['mos']:.1f})",
                  event="stats", stats=dict(self.stats))
        self.request(CALLER, "hangup")
        self.pump(lambda: all("onCallEnded" in self.callbacks[s] for s in (CALLER, CALLEE))
                  and self.cdr is not None, END_TIMEOUT,
                  "onCallEnded on both phones and the platform's call-ended")

    def wind_down(self) -> None:
        """After a failure, end what is still up the way users would: the caller hangs up,
        the callee's call then ends by itself (the platform cancels it) or he hangs up too.
        The traces then show the SDK's own ending, not a process stopping mid-call."""
        for side, grace in ((CALLER, 0.0), (CALLEE, 2.0)):
            def live(s: str = side) -> bool:
                return self.states.get(s) not in (None, "NONE", "ENDED")
            if side in self.exited or side not in self.children or not live():
                continue
            try:
                self.pump(lambda: not live(), grace, "")
            except CallFailed:
                pass
            try:
                if live():
                    if self.states.get(side) != "ENDING":
                        self.request(side, "hangup")
                    self.pump(lambda: not live(), END_TIMEOUT, f"onCallEnded on {side}'s phone")
            except CallFailed as exc:
                self.note("demo", f"could not end {side}'s call: {exc}", event="warning")

    def finish(self) -> None:
        """Stop the phones (a trace is complete only once its phone exited), read the CDR.
        Best effort: runs after a failed call too."""
        phones = [s for s in (CALLER, CALLEE) if s in self.children and s not in self.exited]
        for side in phones:
            self.stopping.add(side)
            self.children[side].end_input()
        for side in phones:
            def gone(s: str = side) -> bool:
                return s in self.exited
            try:
                self.pump(gone, EXIT_TIMEOUT, f"exit of {side}'s phone", Unusable)
            except Unusable as exc:
                self.note("demo", str(exc), event="warning")
        for side in self.platforms:  # the worker that carried the call has its CDR
            if side not in self.ready or side in self.exited:
                continue
            try:
                cdrs = self.request(side, "cdrs", fail=Unusable).get("cdrs") or []
                if cdrs:
                    self.cdr = cdrs[-1]
            except Unusable as exc:
                self.note("demo", f"no CDR from {side}: {exc}", event="warning")

    def judge(self) -> None:
        from exovoice.spec.validate.run import Options, judge_file

        for side, path in self.traces.items():
            if not path.exists():
                continue
            v = judge_file(path, Options(complete=True))
            verdict = {k: x for k, x in v.as_json(False).items() if k != "coverage"}
            self.verdicts[side] = {**verdict, "lines": v.lines}

    def close(self) -> None:
        if self.front is not None:
            self.front.close()
            self.front = None
        for side, child in list(self.children.items()):
            self.stopping.add(side)
            child.close(EXIT_TIMEOUT)
        if self.backend is not None:
            self.backend.close()
            self.backend = None

    # --- the report ---------------------------------------------------------------------
    def report(self) -> None:
        self.say()
        self.say("verdicts (exovoice validate --complete):")
        for side in (CALLER, CALLEE):
            v = self.verdicts.get(side)
            if v is None:
                self.say(f"  {side:<6} no trace")
                continue
            word = {True: "conformant", False: "NOT conformant", None: "unusable"}[
                v["conformant"]]
            self.say(f"  {side:<6} {word:<15} {v['trace']} ({v['lines']} lines)")
            if v.get("unusable"):
                self.say(f"         {v['unusable']}")
            for x in v["violations"]:
                where = f"§{x['section']}" if x["section"][:1].isdigit() else x["section"]
                self.say(f"         line {x['line']}: {x['rule']} ({where}) {x['message']}")
        self.say()
        cdr = self.cdr
        if cdr is None:
            self.say("call detail record: none")
            return
        self.say("call detail record (platform):")
        delivered = cdr.get("push_delivered")
        rows: list[tuple[str, Any]] = [
            ("call_sid", cdr.get("call_sid")),
            ("from -> to", f"{cdr.get('call_from')} -> {cdr.get('call_to')}"),
            ("callee", cdr.get("callee")),
            ("custom_field", cdr.get("custom_field")),
            ("status", f"{cdr.get('status')}"
             + (f" ({cdr['end_reason']})" if cdr.get("end_reason") else "")
             + (f": {cdr['failure_reason']}" if cdr.get("failure_reason") else "")),
            ("push delivered", "-" if delivered is None else "yes" if delivered else "no"),
            ("duration", f"{float(cdr.get('duration') or 0):.2f} s"),
        ]
        for k, v in rows:
            self.say(f"  {k:<15} {v}")

    def result(self, code: int, error: str | None) -> dict[str, Any]:
        return {"exit": code, "ok": code == EXIT_OK, "error": error,
                "message": self.opts.message, "setup": self.setup,
                "timeline": [h.as_json() for h in self.timeline],
                "callbacks": self.callbacks, "stats": self.stats,
                "verdicts": self.verdicts, "cdr": self.cdr,
                "traces": {k: str(v) for k, v in self.traces.items()}}

    def run(self) -> int:
        code, error = EXIT_OK, None
        try:
            try:
                self.start()
                self.call()
            except CallFailed as exc:
                code, error = EXIT_FAILED, str(exc)
                self.note("demo", f"the call failed: {exc}", event="failed")
                self.wind_down()
            self.finish()
        except Unusable as exc:
            code, error = EXIT_UNUSABLE, str(exc)
        except KeyboardInterrupt:
            code, error = EXIT_UNUSABLE, "interrupted"
        finally:
            self.close()
        if code != EXIT_UNUSABLE:
            self.judge()
            if code == EXIT_OK and not all(self.verdicts.get(s, {}).get("conformant") is True
                                           for s in (CALLER, CALLEE)):
                code, error = EXIT_FAILED, "a trace does not conform to the spec"
        if self.live:
            if code != EXIT_UNUSABLE:
                self.report()
                self.say()
                self.say("result: " + ("the call went through and both traces conform to "
                                       "the spec" if code == EXIT_OK else str(error)))
                if self.opts.keep:
                    self.say(f"traces: {self.dir}  (exovoice validate --complete {self.dir})")
                else:
                    self.say("traces and logs were in a temporary directory, now removed; "
                             "--keep DIR keeps them")
        else:
            print(json.dumps(self.result(code, error)), file=self.out, flush=True)
        if error is not None and code != EXIT_OK:
            print(f"exovoice demo: {error}", file=sys.stderr, flush=True)
        if not self.opts.keep:  # a temporary directory is the demo's to clean
            shutil.rmtree(self.dir, ignore_errors=True)
        return code


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="exovoice demo", description=DESCRIPTION, epilog=EPILOG,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--message", default=DEFAULT_MESSAGE, metavar="TEXT",
                    help="the dial message, Dial Whom's CustomField (guide 4.3.1: letters, "
                    f"digits, comma, colon and brackets; default {DEFAULT_MESSAGE})")
    ap.add_argument("--talk", type=float, default=2.0, metavar="SECONDS",
                    help="how long the call stays established before alice hangs up (default 2)")
    ap.add_argument("--format", choices=("text", "json"), default="text",
                    help="text: live progress and a report; json: one object at the end "
                    "(timeline, stats, verdicts, cdr)")
    ap.add_argument("--workers", type=int, default=1, metavar="N",
                    help="the platform's bridge workers (default 1: one platform process). "
                    "N > 1: N workers behind the Kamailio front, which needs the kamailio "
                    "package; without it the demo refuses (exit 2)")
    ap.add_argument("--keep", metavar="DIR", default=None,
                    help="write the traces and process logs into DIR and keep them (default: "
                    "a temporary directory, removed at the end)")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    ap = build_parser()
    try:
        opts = ap.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # --help (0) or a usage error (2, argparse said why)
        return int(exc.code or 0)
    if opts.talk < 0 or opts.talk > 600:
        print("exovoice demo: --talk must be between 0 and 600 seconds", file=sys.stderr)
        return EXIT_UNUSABLE
    from exovoice.reference.platform.cluster import unavailable

    why = unavailable(opts.workers)
    if why is not None:
        print(f"exovoice demo: {why}", file=sys.stderr)
        return EXIT_UNUSABLE
    if opts.keep is not None:  # a --keep the demo cannot write into fails now, in one line
        from exovoice.spec.outputs import PathProblem, check_dir

        try:
            check_dir(Path(opts.keep), "--keep")
        except PathProblem as e:
            print(f"exovoice demo: {e}", file=sys.stderr)
            return EXIT_UNUSABLE
    from ..sip.pj import missing

    problem = missing("exovoice demo")
    if problem:
        print(f"exovoice demo: {problem}", file=sys.stderr)
        return EXIT_UNUSABLE
    return Demo(opts, sys.stdout).run()


if __name__ == "__main__":
    sys.exit(main())
