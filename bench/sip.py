"""Benchmark the platform simulator's SIP side, with its named baselines, in one run.

    python bench/sip.py [--calls 50] [--warmup 1] [--sipp-calls 200] [--rate 15]
                        [--concurrency 2] [--pause-ms 100] [--format text|json]

1. Dial-to-onCallEstablished latency: a reference client (exovoice.reference.sdk.sip_client.SipVoiceClient,
   this process) signed in with a token the platform issued, dials `--calls` sequential calls
   through the exophone of a `python -m exovoice.reference.platform.sipserver` process; the platform
   asks the customer backend (this process, real HTTP) whom to ring, pushes, and calls a
   `python -m exovoice.reference.sip.peer --mode answer --answer-delay 0` process. The same number of
   calls dialed straight at that peer, by the same client and alternating with the others, is
   the baseline: the ratio platform/direct is what the platform's hop (token check, dial-whom
   and push over HTTP, a second SIP leg, the bridge) costs on top of a bare SIP call between
   the same two stacks.
   A third series, "push", is the call the guide describes: the callee is a reference client
   too (`python -m exovoice.reference.app.phone --answer-after 0`, subscriber carol, its own process), and
   the platform has no URI for it. The caller dials the same exophone with the message "push",
   the backend's Dial Whom routes that CustomField to carol, the platform pushes to her device
   (the backend's push channel; this process plays APNs and hands the data message to her
   phone), her app relays it (relaySessionData), her SDK takes the session over HTTP, the
   platform INVITEs her and the app answers on onIncomingCall. It adds a push hop through the
   backend, an HTTP take and the app's answer to the platform series; push/direct and
   push/platform say what those cost. The three series alternate call by call (forwards, then
   backwards), all dialed by the same in-process client.
2. Throughput with a caller nobody here wrote: sipp places `--sipp-calls` short calls at
   `--rate` calls/s (at most `--concurrency` at once) through the exophone, the callee leg goes
   to a sipp UAS (`-sn uas`, which answers at once and costs next to nothing). Any failed call
   makes the run fail (exit 1); the platform's CDRs are read back to cross-check the count.

Why 2 calls in flight by default: the platform's pjsua2 endpoint holds 4 calls (the wheel is
built with PJSUA_MAX_CALLS 4) and a bridged call holds two (caller and callee legs), so 2 calls
at once is its whole capacity. A 3rd is refused, cleanly: pjsua itself answers 486 (stateless,
no CDR) when no call slot is free, the platform 503 with X-Exotel-Reason CONGESTION_ERROR when
the callee's leg finds none (tests/test_platform_overload.py); to sipp's bench scenario either
is a failed call. Within 2 in flight the offered rate no longer matters: 15/s is above what
two ~250 ms calls can carry, so sipp runs at the platform's capacity. Measured on 2 cores, 200
calls of 100 ms a run, a fresh platform each: 10/s passed 3 runs of 3, 15/s 7 of 7, back to
back (-r 100) 6 of 6 (7.4-8.3 calls/s sustained), and with 0 ms calls back to back 3 of 3
(11.4-14.2 calls/s); 3 in flight fail at once, as they should. Until the platform stopped
losing call slots (exovoice.reference.platform.sip._Endpoint: a freed pjsua2 Call hung up a new call
that had reused its call id) 10/s failed 1 run of 3, back to back 1 of 3 (0 ms calls) and 2 of
2 (100 ms), 3 in flight left calls ringing and the process never recovered; 8/s was the
default then. One call in flight: about 4.9 calls/s with 100 ms calls, 8.6 with 0 ms.
"""

from __future__ import annotations

import argparse
import gc
import csv
import json
import os
import platform as pyplatform
import queue
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from exovoice.reference.procs.child import Child, ChildError  # noqa: E402
from exovoice.reference.sip.endpoint import HAVE_PJSUA2, IMPORT_ERROR  # noqa: E402
from exovoice.reference.sip.sockets import (  # noqa: E402
    FREE_DELAY_S, IOQUEUE_SLOTS, MARGIN_S, SPARE_SOCKETS)

SCENARIOS = ROOT / "tests" / "sipp"
SID, KEY, TOKEN = "exotel1", "apikey", "apitoken"
EXOPHONE = "sip:08040408080"
SIPP = shutil.which("sipp")

Progress = Callable[[str], None]
# a latency call's start follows the last one's by at least this much: the platform's process
# opens 4 sockets a bridged call and gets each slot back 0.6 s after the call (see
# measure_latency), so one call start every PACE_S never makes any process wait for slots
PACE_S = 4 * (FREE_DELAY_S + MARGIN_S) / (IOQUEUE_SLOTS - SPARE_SOCKETS)


def quiet(_: str) -> None:
    """The smoke test's progress sink: the figures matter there, not the narration."""


def to_stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class BenchError(RuntimeError):
    """The setup or a measured call broke: the figures would be meaningless."""


# --- helper processes --------------------------------------------------------------------
class JsonLinesProcess(Child):
    """A reference.* process speaking JSON lines (peer, sipserver, phone) whose events are
    also counted by name: the platform writes ~10 event lines per call, so the bench waits
    on counts (errors and warnings are worth reporting) rather than reading every line."""

    def __init__(self, module: str, *args: str, name: str,
                 stdin_first: dict[str, Any] | None = None) -> None:
        self.counts: Counter[str] = Counter()
        self.problems: list[dict[str, Any]] = []
        self.timed: list[dict[str, Any]] = []  # events carrying "t", for --timeline
        # a phone's calls its SDK said were over (onCallFailed, or onCallEnded, or both: the
        # guide allows onCallEnded after onCallFailed), each call once
        self.calls_over: set[str] = set()
        self.cond = threading.Condition()
        try:
            super().__init__(module, *args, name=name, ready_timeout=15, on_event=self._count,
                             stdin_first=stdin_first)
        except ChildError as e:
            raise BenchError(str(e)) from e

    def _count(self, ev: dict[str, Any]) -> None:
        name = str(ev.get("event"))
        traced = ev.get("line") if name == "trace" else None
        with self.cond:
            self.counts[name] += 1
            if isinstance(traced, dict):  # a phone's SDK: its API calls and callbacks
                self.counts[f"trace:{traced.get('name')}"] += 1
                if traced.get("name") in ("onCallEnded", "onCallFailed") and traced.get("call"):
                    self.calls_over.add(str(traced["call"]))
            if name in ("error", "warning") and len(self.problems) < 20:
                self.problems.append(ev)
            if "t" in ev and len(self.timed) < 100_000:
                self.timed.append(ev)
            self.cond.notify_all()

    def wait_count(self, event: str, count: int, timeout: float) -> bool:
        """Until `count` `event` lines were seen in all (the platform's call-ended ones)."""
        with self.cond:
            return self.cond.wait_for(lambda: self.counts[event] >= count, timeout)

    def send(self, cmd: str, timeout: float = 10.0, **kw: Any) -> dict[str, Any]:
        try:
            return super().send(cmd, timeout, **kw)
        except ChildError as e:
            raise BenchError(str(e)) from e


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def udp_port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def start_sipp_uas(workdir: Path, timeout: float = 5.0) -> tuple[subprocess.Popen[Any], int]:
    """sipp's built-in UAS (answers every call) on a free 127.0.0.1 port, once it is bound:
    (process, port). Raises BenchError when it does not bind within `timeout`."""
    assert SIPP is not None
    port = free_udp_port()
    uas = subprocess.Popen(
        [SIPP, "-sn", "uas", "-i", "127.0.0.1", "-p", str(port), "-mp",
         str(free_udp_port()), "-nostdin", "-bind_local"],
        cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while not udp_port_taken(port):
        if uas.poll() is not None or time.monotonic() > deadline:
            stop_process(uas)
            raise BenchError(f"sipp UAS did not bind 127.0.0.1:{port}")
        time.sleep(0.02)
    return uas, port


def stop_process(proc: subprocess.Popen[Any], timeout: float = 5.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


# --- the world ---------------------------------------------------------------------------
PUSH_CALLEE = "carol"  # the phone process's subscriber: no callee_uris entry, reached by push
PUSH_MESSAGE = "push"  # the dial message (Dial Whom's CustomField) the backend routes to her


@dataclass(frozen=True)
class Target:
    """Where one series' calls go: the URI the caller's INVITE is sent to, the remote id and
    message dial() is given, and whether the callee is the phone, reached by push."""

    uri: str
    remote_id: str = "bob"
    message: str = "bench"
    push: bool = False
    describe: str = ""

    def __str__(self) -> str:
        return self.describe or self.uri


@dataclass
class World:
    """Everything the measurements share: one platform, one callee peer, one callee phone,
    one backend."""

    secret: bytes
    server: JsonLinesProcess
    peer: JsonLinesProcess
    api: Any  # exovoice.reference.platform.client.SubscriberApi
    backend: Any  # exovoice.reference.backend.CustomerBackend
    phone: JsonLinesProcess | None = None  # exovoice.reference.app.phone, carol, answering at once
    device: Any = None  # carol's device on the backend's push channel (this process is APNs)

    def token(self, subscriber: str = "alice") -> str:
        resp = self.api.token(subscriber, f"{subscriber}-phone")
        if resp.status != 200:
            raise BenchError(f"platform refused to issue a token: {resp.status} {resp.body}")
        return str(resp.json()["subscriber_token"]["access_token"])

    def targets(self) -> dict[str, Target]:
        """The three latency series."""
        exophone = self.server.ready["sip_uri"]
        out = {"direct": Target(self.peer.ready["uri"]), "platform": Target(exophone)}
        if self.phone is not None:
            out["push"] = Target(exophone, PUSH_CALLEE, PUSH_MESSAGE, push=True,
                                 describe=f"{exophone} -> push -> {PUSH_CALLEE}'s phone "
                                 f"{self.phone.ready['uri']}")
        return out

    def cdrs(self) -> list[dict[str, Any]]:
        return list(self.server.send("cdrs")["cdrs"])


@contextmanager
def world(max_lifetime: float = 1800, *, phone: bool = True) -> Iterator[World]:
    """Backend in this process, peer, sipserver and (with `phone`) carol's phone as
    processes; all stopped on the way out, whatever happened."""
    from exovoice.reference.backend import CustomerBackend, PushChannel
    from exovoice.reference.backend.server import RoutingTable
    from exovoice.reference.platform.client import SubscriberApi
    from exovoice.reference.platform.server import account_key

    channel = PushChannel()
    # bob's device only has to exist for the push to be delivered; nobody reads its inbox
    channel.register("bob", "bob-phone")
    device = channel.register(PUSH_CALLEE, f"{PUSH_CALLEE}-phone")  # this process reads it
    # alice's calls go to bob, but those with the message "push" go to carol
    routing = RoutingTable(by_caller={"alice": "bob"},
                           by_custom_field={PUSH_MESSAGE: PUSH_CALLEE})
    backend = CustomerBackend(routing, channel).start()
    tmp = tempfile.TemporaryDirectory(prefix="exovoice-bench-phone-")
    peer = server = callee = None
    try:
        peer = JsonLinesProcess("exovoice.reference.sip.peer", "--mode", "answer", "--answer-delay", "0",
                                "--user", "bob", "--max-lifetime", str(max_lifetime),
                                name="peer")
        secret = secrets.token_bytes(32)
        server = JsonLinesProcess("exovoice.reference.platform.sipserver", "--config", "-",
                                  name="sipserver", stdin_first={
            "account": {"sid": SID, "api_key": KEY, "api_token": TOKEN,
                        "sip_exophone": EXOPHONE, "dial_whom_url": backend.dial_whom_url,
                        "push_url": backend.push_url},
            "secret_hex": secret.hex(), "subscribers": ["alice", "bob", PUSH_CALLEE],
            # no URI for carol: the platform waits for her SDK to take the pushed session
            "callee_uris": {"bob": peer.ready["uri"]},
            # the limiter is not what is measured: far above anything this bench sends
            "rate_limit": {"calls": 1_000_000, "window": 1},
            "max_lifetime": max_lifetime})
        api = SubscriberApi(server.ready["api_url"], KEY, TOKEN)
        w = World(account_key(secret, SID), server, peer, api, backend)
        if phone:
            got = api.token(PUSH_CALLEE, f"{PUSH_CALLEE}-phone")
            if got.status != 200:
                raise BenchError(f"platform refused to issue a token: {got.status} {got.body}")
            callee = JsonLinesProcess(
                "exovoice.reference.app.phone", "--exophone", server.ready["sip_uri"],
                "--sessions-url", server.ready["api_url"], "--device-id", f"{PUSH_CALLEE}-phone",
                "--subscriber", PUSH_CALLEE,
                "--trace", str(Path(tmp.name) / f"{PUSH_CALLEE}.trace.jsonl"),
                "--hostname", "127.0.0.1", "--account-sid", SID,
                "--answer-after", "0", "--max-lifetime", str(max_lifetime), name="phone",
                stdin_first={"refresh_token":
                             got.json()["subscriber_token"]["refresh_token"]})
            w.phone, w.device = callee, device
        yield w
    finally:
        try:
            if callee is not None:
                callee.close()
            if server is not None:
                server.close()
            if peer is not None:
                peer.close()
            backend.close()
        finally:
            tmp.cleanup()


# --- 1. dial -> onCallEstablished ----------------------------------------------------------
@dataclass
class Latency:
    label: str
    samples_ms: list[float]
    target: str

    @property
    def calls(self) -> int:
        return len(self.samples_ms)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95_ms(self) -> float:
        return percentile(self.samples_ms, 95)

    def summary(self) -> dict[str, Any]:
        s = self.samples_ms
        return {"target": self.target, "calls": self.calls, "median_ms": round(self.median_ms, 2),
                "p95_ms": round(self.p95_ms, 2), "min_ms": round(min(s), 2),
                "max_ms": round(max(s), 2), "mean_ms": round(statistics.fmean(s), 2)}


def percentile(xs: list[float], p: float) -> float:
    """Nearest-rank percentile: with 50 samples p95 is the 48th value, an observed latency,
    not an interpolation between two."""
    s = sorted(xs)
    rank = max(1, -(-len(s) * p // 100))  # ceil(n * p / 100)
    return s[int(rank) - 1]


class _CallTimes:
    """The app's CallListener: the moment each callback arrived, for the call in flight."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.got: dict[str, float] = {}
        self.initialized: bool | None = None
        self.sip: list[Any] = []  # the client's SIP events of the call (--timeline)
        self.dialed = 0.0  # time.monotonic() of dial(), for the timeline
        self.marks: dict[str, float] = {}

    def reset(self) -> None:
        with self.cond:
            self.got.clear()
            self.sip.clear()
            self.marks.clear()

    def _note(self, name: str) -> None:
        t = time.perf_counter()
        with self.cond:
            self.marks.setdefault(name, time.monotonic())
            self.got.setdefault(name, t)
            self.cond.notify_all()

    def onInitializationSuccess(self) -> None:  # noqa: N802
        with self.cond:
            self.initialized = True
            self.cond.notify_all()

    def onInitializationFailure(self, error: Any) -> None:  # noqa: N802
        with self.cond:
            self.initialized = False
            self.cond.notify_all()

    onAuthenticationFailure = onInitializationFailure  # noqa: N815

    def onCallEstablished(self, call: Any) -> None:  # noqa: N802
        self._note("onCallEstablished")

    def onCallEnded(self, call: Any) -> None:  # noqa: N802
        self._note("onCallEnded")

    def onCallFailed(self, call: Any, error: Any) -> None:  # noqa: N802
        self._note("onCallFailed")

    def wait(self, names: set[str], timeout: float) -> str | None:
        with self.cond:
            self.cond.wait_for(lambda: names & self.got.keys(), timeout)
            hit = names & self.got.keys()
            return min(hit, key=self.got.__getitem__) if hit else None


def measure_latency(w: World, targets: dict[str, str | Target], calls: int, *,
                    warmup: int = 1, progress: Progress = quiet, timeout: float = 10.0,
                    timelines: dict[str, list[list[tuple[str, float]]]] | None = None,
                    sockets_seen: dict[str, Any] | None = None) -> dict[str, Latency]:
    """`calls` sequential calls to each of `targets` ({label: SIP URI or Target}), after
    `warmup` unmeasured ones each (the first call pays one-off costs: media port and codec
    setup, the backend's first HTTP connection, the phone's first take...).

    One client dials them all, alternating target call by call (forwards, then backwards:
    ABBA with two, ABCCBA with three, so none is always first): whatever else loads the
    machine during the run then weighs on all alike, and the ratios compare the paths, not
    stretches of time or clients. A SipNet
    whose target is a function makes that possible with the one pjsua2 endpoint a process may
    have. A call to the platform also waits for its CDR to close, so no call overlaps the
    teardown of the one before; a call to the phone also waits for its onCallEnded.
    With `timelines`, each measured call's hops go there by label (see _hops).

    Calls start at least PACE_S apart: a pjsua2 process has 64 socket slots and a closed
    socket's slot comes back 500 ms later (reference.sip.sockets), so back to back calls
    faster than that make a dial wait for slots (the platform, 4 sockets a bridged call, the
    soonest). That is the rate one process carries, measured by the sipp series and
    bench/soak.py; a latency series measures a call that does not queue. With
    `sockets_seen`, the dialing client's socket budget goes there (its waits must be 0)."""
    from exovoice.reference.net.simplatform import Platform
    from exovoice.reference.net.sipnet import SipNet
    from exovoice.reference.sdk.sip_client import SipVoiceClient

    current = {"uri": ""}
    net = SipNet(lambda _remote_id: current["uri"])
    client = SipVoiceClient(net, platform=Platform(secret=w.secret))
    goals = {label: t if isinstance(t, Target) else Target(t) for label, t in targets.items()}
    samples: dict[str, list[float]] = {label: [] for label in goals}
    try:
        times = _CallTimes()
        client.setEventListener(times)
        client.getCallController().setCallListener(times)
        client.initialize(hostname="127.0.0.1", subscriberName="alice",
                          subscriberToken=w.token())
        with times.cond:
            times.cond.wait_for(lambda: times.initialized is not None, timeout)
        if not times.initialized:
            raise BenchError("the client did not initialize")
        if timelines is not None:  # the client's SIP events, as its pump saw them
            heard = net.endpoint.listener

            def listen(ev: Any) -> None:
                times.sip.append(ev)
                if heard is not None:
                    heard(ev)

            net.endpoint.listener = listen
        order = list(goals.items())
        next_start = time.monotonic()
        for i in range(warmup + calls):
            for label, target in (order if i % 2 == 0 else order[::-1]):
                time.sleep(max(0.0, next_start - time.monotonic()))
                next_start = time.monotonic() + PACE_S
                current["uri"] = target.uri
                mark = (len(w.server.timed), len(net.endpoint.timeline))
                ms = _one_call(w, client, times, target, timeout, f"{label} call {i + 1}")
                if i >= warmup:
                    samples[label].append(ms)
                    if timelines is not None:
                        timelines.setdefault(label, []).append(
                            _hops(times, w.server.timed[mark[0]:],
                                  list(net.endpoint.timeline)[mark[1]:]))
            done = i + 1 - warmup
            if done > 0 and (done % 10 == 0 or done == calls):
                progress(f"  {done}/{calls} calls each; median so far " + ", ".join(
                    f"{label} {statistics.median(xs):.1f} ms" for label, xs in samples.items()))
        if sockets_seen is not None:
            budget = net.endpoint.sockets
            sockets_seen.update(waits=budget.waits, waited_ms=round(budget.waited_s * 1000, 1),
                                holds=budget.holds, peak=budget.peak, limit=budget.limit)
    finally:
        client.close()
    return {label: Latency(label, samples[label], str(t)) for label, t in goals.items()}


def _one_call(w: World, client: Any, times: _CallTimes, target: Target, timeout: float,
              what: str) -> float:
    """Dial, time onCallEstablished, hang up, wait until the call is over everywhere. For the
    push series this process is the push service in between: the data message the backend
    queued on carol's device goes to her phone as it arrives."""
    phone = w.phone if target.push else None
    if target.push and (phone is None or w.device is None):
        raise BenchError(f"{what}: no callee phone in this world (world(phone=True))")
    times.reset()
    ended_before = w.server.counts["call-ended"]
    phone_ended_before = phone.counts["trace:onCallEnded"] if phone is not None else 0
    if phone is not None:
        w.device.pending()  # nothing stale may reach her app
    times.dialed = time.monotonic()
    t0 = time.perf_counter()
    call = client.getCallController().dial(target.remote_id, target.message)
    if phone is not None:
        _hand_push(w, phone, timeout, what, times.marks)
    hit = times.wait({"onCallEstablished", "onCallEnded", "onCallFailed"}, timeout)
    if hit != "onCallEstablished":
        raise BenchError(f"{what}: {hit or 'nothing'} instead of onCallEstablished "
                         f"within {timeout}s")
    ms = (times.got["onCallEstablished"] - t0) * 1000
    call.hangup()
    if times.wait({"onCallEnded", "onCallFailed"}, timeout) is None:
        raise BenchError(f"{what}: no onCallEnded within {timeout}s of hangup()")
    if target.uri == w.server.ready["sip_uri"] and not w.server.wait_count(
            "call-ended", ended_before + 1, timeout):
        raise BenchError(f"{what}: the platform did not close the call")
    if phone is not None and not phone.wait_count("trace:onCallEnded",
                                                  phone_ended_before + 1, timeout):
        raise BenchError(f"{what}: the callee's phone had no onCallEnded within {timeout}s")
    return ms


def _hand_push(w: World, phone: JsonLinesProcess, timeout: float, what: str,
               marks: dict[str, float] | None = None) -> None:
    """Play APNs: wait for the backend to queue the platform's push on carol's device, hand
    it to her phone, whose app relays it (relaySessionData; the SDK's take runs on its own
    thread, so the reply does not wait for it)."""
    try:
        push = w.device.receive(timeout)
    except queue.Empty:
        raise BenchError(f"{what}: no push reached {PUSH_CALLEE}'s device within "
                         f"{timeout}s") from None
    if marks is not None:
        marks["push reached the device"] = time.monotonic()
    reply = phone.send("push", timeout, push=push)
    if marks is not None:
        marks["app relayed it"] = time.monotonic()
    if not (reply.get("relayed") and reply.get("accepted")):
        raise BenchError(f"{what}: {PUSH_CALLEE}'s app did not relay the push, or the SDK "
                         f"refused it: {reply}")


# --- 2. sipp through the exophone -----------------------------------------------------------
@dataclass
class Throughput:
    calls: int
    rate: float
    concurrency: int
    pause_ms: int
    successful: int
    failed: int
    created: int
    elapsed_s: float
    calls_per_s: float
    invite_to_200_ms: float | None
    sipp_exit: int
    cdr_completed: int
    cdr_statuses: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    refused: int = 0  # answered 503 CONGESTION_ERROR by the platform's own admission

    @property
    def ok(self) -> bool:
        """Every call completed or refused 503 CONGESTION_ERROR, each with its CDR (pjsua's
        own 486 leaves none), none failed."""
        return (self.failed == 0 and self.successful == self.calls and self.sipp_exit == 0
                and self.cdr_completed + self.refused == self.calls and not self.errors)


def _sipp_duration_s(text: str) -> float:
    """sipp's stat CSV writes durations as HH:MM:SS:micro (its resolution is 1 ms)."""
    h, m, s, us = (int(x) for x in text.strip().split(":"))
    return h * 3600 + m * 60 + s + us / 1e6


def _sipp_epoch(text: str) -> float:
    """sipp's timestamps are "date<TAB>time<TAB>epoch"; only the epoch has sub-second
    resolution (ElapsedTime(C) is whole seconds)."""
    return float(text.split("\t")[-1])


def read_sipp_stats(path: Path) -> dict[str, str]:
    """The last row of sipp's -trace_stat CSV: it is written once more when sipp exits, with
    the cumulative (C) counters of the whole run."""
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        rows = list(csv.reader(f, delimiter=";"))
    if len(rows) < 2:
        raise BenchError(f"sipp wrote no statistics to {path}")
    return dict(zip(rows[0], rows[-1]))


def run_sipp_watched(cmd: list[str], workdir: Path, stat_file: Path, limit: float,
                     progress: Progress) -> tuple[int, bool]:
    """Run sipp, following its statistics file (rewritten every second, -fd 1). Once a call
    failed the run has failed, so sipp is asked to stop (SIGUSR1: no new calls, let the
    current ones end) instead of going through every remaining call (past the platform's
    capacity most would be refused too)."""
    with open(workdir / "sipp_uac_stdout.log", "w") as out:
        proc = subprocess.Popen(cmd, cwd=workdir, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT)
        stopped = False
        deadline = time.monotonic() + limit
        last_note = time.monotonic()
        try:
            while True:
                try:
                    return proc.wait(0.5), stopped
                except subprocess.TimeoutExpired:
                    pass
                if time.monotonic() > deadline:
                    raise BenchError(f"sipp did not finish within {limit:.0f} s")
                try:
                    row = read_sipp_stats(stat_file)
                    ok, failed = int(row["SuccessfulCall(C)"]), int(row["FailedCall(C)"])
                except (OSError, BenchError, KeyError, ValueError):
                    continue  # not written yet, or caught mid-write
                if failed and not stopped:
                    stopped = True
                    progress(f"  sipp: call failed ({ok} ok, {failed} failed): stopping it")
                    proc.send_signal(signal.SIGUSR1)
                if time.monotonic() - last_note >= 5:
                    last_note = time.monotonic()
                    progress(f"  sipp: {ok} ok, {failed} failed so far")
        finally:
            stop_process(proc)


def measure_throughput(w: World, calls: int, rate: float, concurrency: int = 1,
                       pause_ms: int = 100, *, workdir: Path,
                       progress: Progress = quiet) -> Throughput:
    """sipp UAC -> exophone -> platform -> sipp UAS. A call is answered, or refused 503
    CONGESTION_ERROR by the platform's admission (it keeps a pjsua call slot free, so it is
    never pjsua's 486); calls/s is the completed calls over sipp's own elapsed time, from
    the first INVITE to the last call's end."""
    if SIPP is None:
        raise BenchError("sipp not installed (apt-get install sip-tester)")
    tag = f"sipp-bench-{secrets.token_hex(4)}"  # this run's CDRs carry it as custom_field
    uas, uas_port = start_sipp_uas(workdir)
    try:
        w.server.send("route", remote_id="bob", uri=f"sip:bob@127.0.0.1:{uas_port}")
        ended_before = w.server.counts["call-ended"]
        stat_file = workdir / "sipp_uac_stats.csv"
        # a bound, not an estimate: the offered load's duration or one second per call in
        # flight, whichever is longer, three times over
        limit = 15 + 3 * max(calls / max(rate, 0.1),
                             calls * (1 + pause_ms / 1000) / max(concurrency, 1))
        cmd = [SIPP, f"127.0.0.1:{w.server.ready['sip_port']}", "-sf",
               str(SCENARIOS / "uac_answered_or_refused.xml"), "-i", "127.0.0.1", "-p", str(free_udp_port()),
               "-mp", str(free_udp_port()), "-s", EXOPHONE.removeprefix("sip:"),
               "-key", "token", w.token(), "-key", "tag", tag,
               "-m", str(calls), "-r", f"{rate:g}", "-rp", "1000", "-l", str(concurrency),
               "-d", str(pause_ms), "-timeout", f"{limit:.0f}s", "-timeout_error",
               "-recv_timeout", "10000", "-nostdin", "-trace_err",
               "-error_file", str(workdir / "sipp_uac_errors.log"),
               "-trace_stat", "-stf", str(stat_file), "-fd", "1"]
        progress(f"  sipp: {calls} calls at <= {rate:g}/s, <= {concurrency} at once, "
                 f"{pause_ms} ms each ...")
        returncode, stopped = run_sipp_watched(cmd, workdir, stat_file, limit + 15, progress)
        stats = read_sipp_stats(stat_file)
        ok_calls = int(stats["SuccessfulCall(C)"])
        failed = int(stats["FailedCall(C)"])
        elapsed = _sipp_epoch(stats["CurrentTime"]) - _sipp_epoch(stats["StartTime"])
        rtt = stats.get("ResponseTime1(C)")
        errors: list[str] = []
        if stopped:
            errors.append(f"stopped sipp after its first failed call ({ok_calls + failed} of "
                          f"{calls} calls placed)")
        if returncode != 0:
            log = workdir / "sipp_uac_errors.log"
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
            errors.append(f"sipp exit {returncode}; the end of its error log:\n{tail}")
        # the platform closes a CDR once both legs are down, a moment after sipp's last 200
        w.server.wait_count("call-ended", ended_before + ok_calls + failed, 10)
        ours = [c for c in w.cdrs() if c.get("custom_field") == tag]
        statuses = Counter(str(c.get("status")) for c in ours)
        refused = sum(1 for c in ours if c.get("status") == "failed"
                      and c.get("failure_reason") == "over capacity")
        if len(ours) != ok_calls + failed:
            errors.append(f"platform has {len(ours)} CDRs for sipp's {ok_calls + failed} calls"
                          " (pjsua's own 486, to an INVITE finding no call slot, leaves none)")
        return Throughput(calls, rate, concurrency, pause_ms, ok_calls, failed,
                          int(stats["TotalCallCreated"]), round(elapsed, 3),
                          round(statuses.get("completed", 0) / elapsed, 2) if elapsed > 0
                          else 0.0,
                          round(_sipp_duration_s(rtt) * 1000, 2) if rtt else None,
                          returncode, statuses.get("completed", 0), dict(statuses), errors,
                          refused)
    finally:
        stop_process(uas)
        try:
            w.server.send("route", remote_id="bob", uri=w.peer.ready["uri"])
        except BenchError:
            pass



# --- per-hop timeline (--timeline) ----------------------------------------------------------
# the platform's events named as hops of a call (exovoice.reference.platform.sip emits them)
PLATFORM_HOPS = {"invite": "platform: controller took the INVITE",
                 "routed": "platform: Dial Whom + push done",
                 "taken": "platform: callee's SDK took the session",
                 "callee-invite": "platform: callee INVITE sent",
                 "answered": "platform: 200 to the caller sent",
                 "bridged": "platform: legs bridged"}


def _hops(times: _CallTimes, platform: list[dict[str, Any]],
          commands: list[Any]) -> list[tuple[str, float]]:
    """One call's happenings in time order (time.monotonic(), one clock for every process on
    the machine): the app's dial, the client's pump running makeCall, the platform's receive
    of the INVITE and its steps, the callee's answer as the platform saw it, the client's
    CONFIRMED and the app's onCallEstablished."""
    out: list[tuple[str, float]] = [("app: dial()", times.dialed)]
    for hop in commands:
        if "make_call" in hop.name:
            out += [("client pump: makeCall posted", hop.posted),
                    ("client pump: INVITE sent", hop.done)]
            break
    for ev in platform:
        name = ev.get("event")
        if name == "invite" and ev.get("rx"):
            out.append(("platform: INVITE received", float(ev["rx"])))
        if name == "callee-state" and ev.get("state") == "CONFIRMED" and ev.get("rx"):
            out.append(("platform: callee's 200 received", float(ev["rx"])))
        if name in PLATFORM_HOPS:
            out.append((PLATFORM_HOPS[name], float(ev["t"])))
    out += [(f"bench: {k}", t) for k, t in times.marks.items() if k != "onCallEstablished"]
    confirmed = next((ev.t for ev in times.sip
                      if ev.kind == "state" and ev.get("state") == "CONFIRMED"), None)
    if confirmed is not None:
        out.append(("client pump: CONFIRMED", confirmed))
    if "onCallEstablished" in times.marks:
        out.append(("app: onCallEstablished", times.marks["onCallEstablished"]))
    ended = times.marks.get("onCallEstablished", float("inf"))
    return sorted((h for h in out if h[1] <= ended), key=lambda h: h[1])


def hop_table(calls: list[list[tuple[str, float]]]) -> list[dict[str, Any]]:
    """Median and p95 of each hop (the time from one happening to the next) over the calls,
    in the order they happened."""
    deltas: dict[str, list[float]] = {}
    for hops in calls:
        for (a, ta), (b, tb) in zip(hops, hops[1:]):
            deltas.setdefault(f"{a} -> {b}", []).append((tb - ta) * 1000)
    return [{"hop": k, "calls": len(v), "median_ms": round(statistics.median(v), 2),
             "p95_ms": round(percentile(v, 95), 2)} for k, v in deltas.items()]


# --- the floor: bare pjsua2, bare sipp --------------------------------------------------------
def measure_pjsua_floor(calls: int, warmup: int) -> Latency:
    """Two bare pjsua2 endpoints in two processes (bench/pjfloor.py): makeCall -> CONFIRMED."""
    here = Path(__file__).resolve().parent / "pjfloor.py"
    uas = subprocess.Popen([sys.executable, str(here), "uas"], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = uas.stdout.readline() if uas.stdout else ""
        try:
            port = int(json.loads(line)["port"])
        except (ValueError, KeyError) as e:
            raise BenchError(f"bare pjsua2 UAS did not start: {line!r}") from e
        target = f"sip:floor@127.0.0.1:{port}"
        got = subprocess.run([sys.executable, str(here), "uac", "--target", target,
                              "--calls", str(calls), "--warmup", str(warmup)],
                             capture_output=True, text=True, timeout=60 + calls)
        try:
            samples = json.loads(got.stdout.strip().splitlines()[-1])["samples_ms"]
        except (ValueError, KeyError, IndexError) as e:
            raise BenchError(f"bare pjsua2 UAC failed: {got.stdout[-300:]}") from e
        return Latency("floor", samples, f"bare pjsua2 -> bare pjsua2 {target}")
    finally:
        if uas.stdin:
            uas.stdin.close()
        try:
            uas.wait(10)
        except subprocess.TimeoutExpired:
            uas.kill()
            uas.wait(5)


def measure_sipp_floor(workdir: Path, calls: int = 2000, rate: float = 4000) -> dict[str, Any]:
    """sipp UAC -> sipp UAS (the bench's own UAC scenario, which times INVITE -> 200, against
    sipp's built-in UAS): INVITE -> 200 and calls/s."""
    if SIPP is None:
        raise BenchError("sipp not installed (apt-get install sip-tester)")
    uas, port = start_sipp_uas(workdir)
    stat = workdir / "sipp_floor_stats.csv"
    try:
        got = subprocess.run(
            [SIPP, f"127.0.0.1:{port}", "-sf", str(SCENARIOS / "uac_bench.xml"),
             "-key", "token", "none", "-key", "tag", "floor", "-s", "floor", "-i", "127.0.0.1",
             "-p", str(free_udp_port()), "-mp", str(free_udp_port()), "-m", str(calls),
             "-r", f"{rate:g}", "-l", "200", "-d", "0", "-nostdin", "-timeout", "60s",
             "-trace_stat", "-stf", str(stat), "-fd", "1"],
            cwd=workdir, stdin=subprocess.DEVNULL, capture_output=True, timeout=90)
        row = read_sipp_stats(stat)
    finally:
        stop_process(uas)
    ok, failed = int(row["SuccessfulCall(C)"]), int(row["FailedCall(C)"])
    elapsed = _sipp_epoch(row["CurrentTime"]) - _sipp_epoch(row["StartTime"])
    rtt = row.get("ResponseTime1(C)")
    return {"calls": calls, "rate": rate, "successful": ok, "failed": failed,
            "sipp_exit": got.returncode, "elapsed_s": round(elapsed, 3),
            "calls_per_s": round(ok / elapsed, 1) if elapsed > 0 else 0.0,
            "invite_to_200_ms": round(_sipp_duration_s(rtt) * 1000, 2) if rtt else None}


# --- N workers behind the Kamailio front --------------------------------------------------------
@contextmanager
def front_world(workers: int, uas_port: int, max_lifetime: float = 600, *,
                by_message: dict[str, tuple[str, str | None]] | None = None,
                callers: Sequence[str] = (), max_ringing: int | None = None
                ) -> Iterator[tuple[Any, list[JsonLinesProcess], Any, Any]]:
    """(front, workers, api, backend): `workers` sipserver processes (capacity 1 each) sharing
    one secret, their callee bob at a sipp UAS on `uas_port`, behind a KamailioFront; the
    first worker knows the others' API URLs (a take for their sessions is forwarded).
    `by_message`: {dial message: (callee, its SIP URI or None: reached by push, its device
    `backend.push_channel`'s "<callee>-phone")}, more callees Dial Whom routes to; `callers`:
    more subscribers; `max_ringing`: Dial Whom's max_ringing_duration (s)."""
    from exovoice.reference.backend import CustomerBackend, PushChannel
    from exovoice.reference.backend.server import DialWhomReply, RoutingTable
    from exovoice.reference.platform.client import SubscriberApi
    from exovoice.reference.platform.cluster import peers_of
    from exovoice.reference.platform.front import FrontError, KamailioFront

    extra = by_message or {}
    channel = PushChannel()
    for name in ["bob", *(c for c, _ in extra.values())]:
        channel.register(name, f"{name}-phone")
    reply = DialWhomReply() if max_ringing is None else DialWhomReply(
        max_ringing_duration=max_ringing)
    backend = CustomerBackend(RoutingTable(
        by_caller={"alice": "bob"},
        by_custom_field={m: c for m, (c, _) in extra.items()}), channel, reply=reply).start()
    names = list(dict.fromkeys(["alice", "bob", *(c for c, _ in extra.values()), *callers]))
    procs: list[JsonLinesProcess] = []
    front = None
    secret = secrets.token_bytes(32).hex()
    sids = {n: secrets.token_hex(16) for n in names}  # shared by the workers
    try:
        for i in range(workers):
            procs.append(JsonLinesProcess(
                "exovoice.reference.platform.sipserver", "--config", "-", name=f"worker{i + 1}",
                stdin_first={
                    "account": {"sid": SID, "api_key": KEY, "api_token": TOKEN,
                                "sip_exophone": EXOPHONE, "dial_whom_url": backend.dial_whom_url,
                                "push_url": backend.push_url},
                    "secret_hex": secret, "subscribers": names, "capacity": 1,
                    "subscriber_sids": sids, "worker_id": f"w{i + 1}",
                    "callee_uris": {"bob": f"sip:bob@127.0.0.1:{uas_port}",
                                    **{c: uri for c, uri in extra.values() if uri}},
                    "rate_limit": {"calls": 1_000_000, "window": 1},
                    "max_lifetime": max_lifetime}))
        try:
            front = KamailioFront([f"sip:127.0.0.1:{p.ready['sip_port']}" for p in procs]).start()
        except FrontError as e:
            raise BenchError(str(e)) from e
        for p in procs:
            p.send("peers", api_urls=peers_of([q.ready for q in procs]))
        yield front, procs, SubscriberApi(procs[0].ready["api_url"], KEY, TOKEN), backend
    finally:
        if front is not None:
            front.close()
        for p in procs:
            p.close()
        backend.close()


def process_usage(pid: int) -> dict[str, int] | None:
    """Open fds (and of them sockets), threads and resident memory (kB) of a process."""
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
        sockets = 0
        for fd in fds:
            try:
                sockets += os.readlink(fd).startswith("socket:")
            except OSError:
                pass
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {"fds": len(fds), "sockets": sockets, "threads": int(fields["Threads"]),
            "rss_kb": int(fields["VmRSS"].split()[0])}


class UsageSampler(threading.Thread):
    """The peak of each worker's sockets (and fds) while running, every 50 ms."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(name="usage-sampler", daemon=True)
        self.pids, self.stop = pids, threading.Event()
        self.peak: dict[int, dict[str, int]] = {}

    def run(self) -> None:
        while not self.stop.wait(0.05):
            for pid in self.pids:
                u = process_usage(pid)
                if u is not None:
                    p = self.peak.setdefault(pid, dict(u))
                    for k, v in u.items():
                        p[k] = max(p[k], v)

    def __enter__(self) -> "UsageSampler":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.join(5)


def sipp_through_front(front: Any, token: str, tag: str, workdir: Path, *, calls: int,
                       rate: float, limit: int, pause_ms: int, scenario: Path,
                       timeout_s: float) -> dict[str, Any]:
    """One sipp UAC run against the front; its counts and the final answers it got."""
    stat = workdir / f"sipp_{tag}_stats.csv"
    msgs = workdir / f"sipp_{tag}_messages.log"
    cmd = [SIPP, f"127.0.0.1:{front.port}", "-sf", str(scenario), "-i", "127.0.0.1",
           "-p", str(free_udp_port()), "-mp", str(free_udp_port()),
           "-s", EXOPHONE.removeprefix("sip:"), "-key", "token", token, "-key", "tag", tag,
           "-m", str(calls), "-r", f"{rate:g}", "-l", str(limit), "-d", str(pause_ms),
           "-timeout", f"{timeout_s:.0f}s", "-recv_timeout", "10000", "-nostdin",
           "-trace_stat", "-stf", str(stat), "-fd", "1", "-trace_msg", "-message_file",
           str(msgs), "-trace_err", "-error_file", str(workdir / f"sipp_{tag}_errors.log")]
    got = subprocess.run(cmd, cwd=workdir, stdin=subprocess.DEVNULL, capture_output=True,
                         timeout=timeout_s + 30)
    row = read_sipp_stats(stat)
    ok, failed = int(row["SuccessfulCall(C)"]), int(row["FailedCall(C)"])
    elapsed = _sipp_epoch(row["CurrentTime"]) - _sipp_epoch(row["StartTime"])
    finals: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    text = msgs.read_text(errors="replace") if msgs.exists() else ""
    for block in text.split("UDP message received")[1:]:
        lines = block.split("\n")
        status = next((ln for ln in lines[:4] if ln.startswith("SIP/2.0 ")), "")
        cseq = next((ln for ln in lines if ln.lower().startswith("cseq:")), "")
        if status and int(status.split()[1]) >= 200 and "INVITE" in cseq:
            finals[status.split()[1]] += 1
            reason = next((ln.split(":", 1)[1].strip() for ln in lines
                           if ln.lower().startswith("x-exotel-reason:")), "")
            if status.split()[1] != "200":
                reasons[f"{status.split()[1]} {reason or '(no X-Exotel-Reason)'}"] += 1
    msgs.unlink(missing_ok=True)  # large under overload; the counts are kept
    # answered calls a second (a refusal the scenario accepts ends a call successfully too)
    return {"calls": calls, "rate": rate, "limit": limit, "pause_ms": pause_ms,
            "successful": ok, "failed": failed, "sipp_exit": got.returncode,
            "elapsed_s": round(elapsed, 2), "answered": finals["200"],
            "calls_per_s": round(finals["200"] / elapsed, 1) if elapsed > 0 else 0.0,
            "final_answers": dict(finals), "refusals": dict(reasons)}


def measure_front(workers: int, workdir: Path, *, calls: int, overload_s: float,
                  progress: Progress) -> dict[str, Any]:
    """Throughput through N workers behind Kamailio (sipp, 0 ms calls, at most 2 per worker
    in flight), then (overload_s > 0) 10x that rate for overload_s seconds, then a batch of
    normal calls: every call must end 200 or 503 CONGESTION_ERROR, no worker may die, every
    CDR must be final, and the calls after it must all complete."""
    uas, uas_port = start_sipp_uas(workdir)
    try:
        with front_world(workers, uas_port) as (front, procs, api, _backend):
            token = str(api.token("alice", "alice-phone").json()["subscriber_token"]
                        ["access_token"])
            pids = [int(p.ready["pid"]) for p in procs]
            before = {p.name: process_usage(pid) for p, pid in zip(procs, pids)}
            scenario = ROOT / "tests" / "sipp" / "uac_bench.xml"
            refusable = ROOT / "tests" / "sipp" / "uac_answered_or_refused.xml"
            progress(f"  front: {workers} worker(s) behind Kamailio, {calls} calls offered "
                     f"at {20 * workers}/s ...")
            with UsageSampler(pids) as usage:
                tp = sipp_through_front(front, token, "front", workdir, calls=calls,
                                        rate=20 * workers, limit=2 * workers, pause_ms=0,
                                        scenario=refusable, timeout_s=120)
            out: dict[str, Any] = {"workers": workers, "throughput": tp}
            capacity = max(tp["calls_per_s"], 1.0)
            if overload_s > 0:
                rate = round(10 * capacity)
                progress(f"  overload: {rate} calls/s (10x {capacity:.1f}) for "
                         f"{overload_s:.0f} s ...")
                with UsageSampler(pids) as peak:
                    ov = sipp_through_front(front, token, "overload", workdir,
                                            calls=int(rate * overload_s), rate=rate,
                                            limit=max(50, rate), pause_ms=0,
                                            scenario=refusable, timeout_s=overload_s + 60)
                alive = [p.proc.poll() is None for p in procs]
                progress("  after the overload: 20 normal calls ...")
                after = sipp_through_front(front, token, "after", workdir, calls=20, rate=5,
                                           limit=1, pause_ms=0, scenario=scenario,
                                           timeout_s=60)
                time.sleep(1)
                cdrs = [c for p in procs if p.proc.poll() is None for c in p.send("cdrs")["cdrs"]]
                statuses = Counter(str(c.get("status")) for c in cdrs
                                   if c.get("custom_field") == "overload")
                out["overload"] = ov | {
                    "offered_rate": rate, "workers_alive": alive,
                    "peak_usage": {p.name: peak.peak.get(pid) for p, pid in zip(procs, pids)},
                    "cdr_statuses": dict(statuses),
                    "after": after}
            out["peak_usage"] = {p.name: usage.peak.get(pid) for p, pid in zip(procs, pids)}
            out["usage_before"] = before
            out["usage_after"] = {p.name: process_usage(pid) for p, pid in zip(procs, pids)}
            out["front_alive"] = front.alive
            return out
    finally:
        stop_process(uas)


def front_ok(f: dict[str, Any]) -> bool:
    tp = f["throughput"]
    ok = tp["failed"] == 0 or set(tp["final_answers"]) <= {"200", "503"}
    ov = f.get("overload")
    if ov is not None:
        ok = ok and set(ov["final_answers"]) <= {"200", "503"} and all(ov["workers_alive"]) \
            and not (set(ov["cdr_statuses"]) & {"initiated", "ringing", "in-progress"}) \
            and all(r.endswith("CONGESTION_ERROR") for r in ov["refusals"]) \
            and ov["after"]["failed"] == 0 and ov["after"]["successful"] == 20
    return ok and f["front_alive"]

# --- the run -------------------------------------------------------------------------------
def run(calls: int = 50, sipp_calls: int = 200, rate: float = 15, concurrency: int = 2,
        pause_ms: int = 100, warmup: int = 1, progress: Progress = to_stderr, *,
        timeline: bool = False, workers: int = 2, front_calls: int = 400,
        overload_s: float = 60) -> dict[str, Any]:
    """All measurements in one run; the dict is what --format json prints."""
    if not HAVE_PJSUA2:
        raise BenchError(f"pjsua2 not importable: {IMPORT_ERROR}")
    from exovoice.reference.platform.front import available

    load_start = _loadavg()
    timelines: dict[str, list[list[tuple[str, float]]]] | None = {} if timeline else None
    with tempfile.TemporaryDirectory(prefix="exovoice-bench-sip-") as tmp:
        progress(f"floor: two bare pjsua2 endpoints, {calls} calls ...")
        floor = measure_pjsua_floor(calls, warmup)
        progress("floor: sipp UAC -> sipp UAS ...")
        sipp_floor = measure_sipp_floor(Path(tmp))
        with world() as w:
            targets = w.targets()
            progress(f"latency: {calls} calls each, alternating, to the peer "
                     f"{targets['direct']}, the exophone {targets['platform']} (callee: the "
                     f"peer) and the exophone with a push to {PUSH_CALLEE}'s phone ...")
            sockets: dict[str, Any] = {}
            lat = measure_latency(w, dict(targets), calls, warmup=warmup, progress=progress,
                                  timelines=timelines, sockets_seen=sockets)
            progress("throughput: sipp through one platform process, no front ...")
            tp = measure_throughput(w, sipp_calls, rate, concurrency, pause_ms,
                                    workdir=Path(tmp), progress=progress)
        front: dict[str, Any] | None = None
        why = available()
        if workers > 0 and why is None:
            progress(f"front: Kamailio and {workers} workers ...")
            front = measure_front(workers, Path(tmp), calls=front_calls,
                                  overload_s=overload_s, progress=progress)
        elif workers > 0:
            progress(f"front: skipped, {why}")
    r = report(w, lat, tp, warmup, load_start)
    r["latency"]["pace_ms"] = round(PACE_S * 1000, 1)
    r["latency"]["client_sockets"] = sockets
    r["floor"] = {"pjsua2": floor.summary(), "sipp": sipp_floor}
    r["front"] = front
    if timelines is not None:
        r["timeline"] = {label: hop_table(calls) for label, calls in timelines.items()}
    targets_met = judge(r)
    r["targets"] = targets_met
    r["ok"] = r["ok"] and (front is None or front_ok(front))
    return r


# (series, its p50 at most this many times the bare pjsua2 floor's p50)
TARGETS = (("direct", 3.0), ("platform", 6.0), ("push", 10.0))


def judge(r: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, same run: each series' p50 against the floor's, and p95 <= 2x p50."""
    floor = r["floor"]["pjsua2"]["median_ms"]
    out = []
    for label, limit in TARGETS:
        s = r["latency"].get(label)
        if s is None:
            continue
        ratio = s["median_ms"] / floor
        tail = s["p95_ms"] / s["median_ms"]
        out.append({"series": label, "p50_over_floor": round(ratio, 2), "limit": limit,
                    "met": ratio <= limit, "p95_over_p50": round(tail, 2),
                    "tail_met": tail <= 2.0})
    return out


def _ratio(a: Latency, b: Latency) -> dict[str, float]:
    return {"median": round(a.median_ms / b.median_ms, 2), "p95": round(a.p95_ms / b.p95_ms, 2)}


def report(w: World, lat: dict[str, Latency], tp: Throughput, warmup: int,
           load_start: list[float] | None = None) -> dict[str, Any]:
    """The figures as one dict (what --format json prints). `lat` has "direct", "platform"
    and (when there was a phone) "push". Errors and warnings the helper processes logged are
    reported, not judged: only the calls' outcomes decide `ok`."""
    direct, via, push = lat["direct"], lat["platform"], lat.get("push")
    procs = [("sipserver", w.server), ("peer", w.peer)]
    if w.phone is not None:
        procs.append(("phone", w.phone))
    problems = {who: {k: p.counts[k] for k in ("error", "warning", "dropped") if p.counts[k]}
                for who, p in procs}
    latency: dict[str, Any] = {
        "warmup_calls": warmup, "direct": direct.summary(), "platform": via.summary(),
        "ratio_median": round(via.median_ms / direct.median_ms, 2),
        "ratio_p95": round(via.p95_ms / direct.p95_ms, 2)}
    if push is not None:
        latency |= {"push": push.summary(), "push_over_direct": _ratio(push, direct),
                    "push_over_platform": _ratio(push, via)}
    return {
        "machine": {"cpus": os.cpu_count(), "python": pyplatform.python_version(),
                    "system": f"{pyplatform.system()} {pyplatform.machine()}",
                    "loadavg_start": load_start, "loadavg_end": _loadavg()},
        "latency": latency,
        "throughput": asdict(tp) | {"ok": tp.ok},
        "process_problems": problems,
        "ok": tp.ok,
    }


def _loadavg() -> list[float] | None:
    """1, 5 and 15 min load averages (the machine may be shared with other jobs)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def render_floor_and_front(r: dict[str, Any]) -> list[str]:
    """The floor series, each series as a ratio to it with the targets, the front, the
    overload and (with --timeline) the per-hop tables."""
    lines: list[str] = []
    fl, sf = r.get("floor"), None
    if fl:
        f, sf = fl["pjsua2"], fl["sipp"]
        lines += [
            "floor, same run:",
            f"  bare pjsua2 -> bare pjsua2 (2 processes)  p50 {f['median_ms']:6.2f} ms   "
            f"p95 {f['p95_ms']:6.2f} ms   ({f['calls']} calls, makeCall -> CONFIRMED)",
            f"  sipp UAC -> sipp UAS                      INVITE -> 200 "
            f"{sf['invite_to_200_ms']} ms (mean), {sf['calls_per_s']:.0f} calls/s, "
            f"{sf['failed']} failed of {sf['calls']}",
            "every series against the bare pjsua2 floor (p50), targets from the same run:"]
        for t in r.get("targets", []):
            s = r["latency"][t["series"]]
            lines.append(
                f"  {t['series']:9s} p50 {s['median_ms']:6.1f} ms  p95 {s['p95_ms']:6.1f} ms  "
                f"= {t['p50_over_floor']:5.2f}x floor (target <= {t['limit']:g}x: "
                f"{'met' if t['met'] else 'MISSED'}); p95/p50 {t['p95_over_p50']:.2f} "
                f"(target <= 2: {'met' if t['tail_met'] else 'MISSED'})")
    fr = r.get("front")
    if fr:
        tp = fr["throughput"]
        lines += [
            f"through the Kamailio front, {fr['workers']} worker(s) (capacity 1 each, <= 20 new "
            f"calls/s each), sipp {tp['calls']} calls offered at {tp['rate']:g}/s, 0 ms each:",
            f"  {tp['calls_per_s']:.1f} answered calls/s over {tp['elapsed_s']:.1f} s"
            + (f" = {tp['calls_per_s'] / sf['calls_per_s']:.4f}x the sipp floor" if sf else "")
            + f"; final answers {tp['final_answers']}" + (f", refusals {tp['refusals']}"
                                                         if tp["refusals"] else "")]
        ov = fr.get("overload")
        if ov:
            lines += [
                f"  overload: {ov['offered_rate']} calls/s offered (10x) for "
                f"{ov['calls'] / max(ov['offered_rate'], 1):.0f} s: final answers "
                f"{ov['final_answers']}, refusals {ov['refusals']}",
                f"    workers alive {ov['workers_alive']}, their CDRs {ov['cdr_statuses']}, "
                f"peak use {ov['peak_usage']}",
                f"    after it: {ov['after']['answered']} of {ov['after']['calls']} normal "
                f"calls answered, {ov['after']['failed']} failed"]
        lines.append(f"  workers before {fr['usage_before']}")
        lines.append(f"  workers after  {fr['usage_after']}")
    cs = r["latency"].get("client_sockets")
    if cs:
        lines.append(f"dialing client's pjlib socket slots: peak {cs['peak']} of {cs['limit']}, "
                     f"{cs['waits']} dials waited for slots ({cs['waited_ms']} ms), "
                     f"{cs.get('holds', 0)} polls held for them")
    for label, table in (r.get("timeline") or {}).items():
        lines.append(f"timeline, {label}: per hop, median / p95 over the calls (ms)")
        for h in table:
            lines.append(f"  {h['median_ms']:7.2f} {h['p95_ms']:7.2f}  {h['hop']}")
    return lines


def render(r: dict[str, Any]) -> str:
    lat, tp = r["latency"], r["throughput"]
    d, p, q = lat["direct"], lat["platform"], lat.get("push")
    m = r["machine"]
    load = " -> ".join(" ".join(f"{x:.2f}" for x in la)
                       for la in (m.get("loadavg_start"), m.get("loadavg_end")) if la)
    lines = [
        f"machine: {r['machine']['cpus']} CPUs, Python {r['machine']['python']}, "
        f"{r['machine']['system']}"
        + (f", load average (1/5/15 min) {load} (start -> end)" if load else ""),
        f"dial -> onCallEstablished, {p['calls']} calls to each target, one at a time, "
        f"alternating (+{lat['warmup_calls']} warm-up each), callee answers at once"
        + (f", starts >= {lat['pace_ms']} ms apart" if "pace_ms" in lat else "") + ":",
        f"  direct to the peer (baseline)  median {d['median_ms']:7.1f} ms   "
        f"p95 {d['p95_ms']:7.1f} ms   (min {d['min_ms']:.1f}, max {d['max_ms']:.1f})",
        f"  through the platform           median {p['median_ms']:7.1f} ms   "
        f"p95 {p['p95_ms']:7.1f} ms   (min {p['min_ms']:.1f}, max {p['max_ms']:.1f})",
        f"  platform / direct = {lat['ratio_median']:.2f}x (median), "
        f"{lat['ratio_p95']:.2f}x (p95)",
    ]
    if q is not None:
        pd, pp = lat["push_over_direct"], lat["push_over_platform"]
        lines += [
            f"  through the platform, by push  median {q['median_ms']:7.1f} ms   "
            f"p95 {q['p95_ms']:7.1f} ms   (min {q['min_ms']:.1f}, max {q['max_ms']:.1f})",
            f"  push / direct = {pd['median']:.2f}x (median), {pd['p95']:.2f}x (p95); "
            f"push / platform = {pp['median']:.2f}x (median), {pp['p95']:.2f}x (p95)",
            "  (by push: the callee is a reference client, exovoice.reference.app.phone, the platform has "
            "no URI for;",
            "  on top of the platform series it adds a push hop through the backend (push "
            "POST, this",
            "  process as APNs, the app's relaySessionData), the SDK's HTTP take of the session"
            " and the",
            "  app's answer on onIncomingCall)",
        ]
    lines += [
        f"sipp through the exophone: {tp['calls']} calls offered at {tp['rate']:g}/s, "
        f"<= {tp['concurrency']} at once, {tp['pause_ms']} ms each:",
        f"  {tp['calls_per_s']:.1f} completed calls/s over {tp['elapsed_s']:.1f} s; "
        f"{tp['cdr_completed']} completed, {tp['refused']} refused 503 CONGESTION_ERROR "
        f"(the worker keeps a call slot free), {tp['failed']} failed"
        + (f"; INVITE -> 200 mean {tp['invite_to_200_ms']:.1f} ms"
           if tp["invite_to_200_ms"] is not None else ""),
        f"  platform CDRs: {tp['cdr_completed']} completed {tp['cdr_statuses']}",
    ]
    lines += [f"  ERROR: {e}" for e in tp["errors"]]
    lines += render_floor_and_front(r)
    for who, counts in r["process_problems"].items():
        if counts:
            lines.append(f"  note: {who} reported {counts}")
    lines.append("OK: zero failed calls" if r["ok"] else "FAILED: see above")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="SIP benchmark (see module docstring)")
    p.add_argument("--calls", type=int, default=50, help="latency calls per target")
    p.add_argument("--warmup", type=int, default=1, help="unmeasured calls per target first")
    p.add_argument("--sipp-calls", type=int, default=200)
    p.add_argument("--rate", type=float, default=15, help="sipp's offered call rate (calls/s)")
    p.add_argument("--concurrency", type=int, default=2,
                   help="sipp's -l, calls in flight at most (the platform holds 2)")
    p.add_argument("--pause-ms", type=int, default=100, help="how long each sipp call lasts")
    p.add_argument("--timeline", action="store_true",
                   help="print the per-hop table: where each series' time goes")
    p.add_argument("--workers", type=int, default=2,
                   help="bridge workers behind the Kamailio front (0: no front series)")
    p.add_argument("--front-calls", type=int, default=400,
                   help="calls offered through the front at 20/s per worker")
    p.add_argument("--overload-seconds", type=float, default=60,
                   help="10x the front's measured rate for this long (0: skip)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    a = p.parse_args(argv)
    from exovoice.reference.procs.process import private_stdout

    out = private_stdout()  # pjlib prints its start-up lines to fd 1: keep them out of JSON
    # as the project's child processes do once ready (procs.process): the objects of start-up
    # leave the collector, so any collection (automatic, or the pump's when a released Call
    # is still alive) scans only what calls allocated
    gc.collect()
    gc.freeze()
    try:
        result = run(a.calls, a.sipp_calls, a.rate, a.concurrency, a.pause_ms, a.warmup,
                     timeline=a.timeline, workers=a.workers, front_calls=a.front_calls,
                     overload_s=a.overload_seconds)
    except BenchError as exc:
        print(f"bench/sip.py: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result) if a.format == "json" else render(result), file=out, flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
