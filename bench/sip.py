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
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from exovoice.reference.procs.child import Child, ChildError  # noqa: E402
from exovoice.reference.sip.endpoint import HAVE_PJSUA2, IMPORT_ERROR  # noqa: E402

SCENARIOS = ROOT / "tests" / "sipp"
SID, KEY, TOKEN = "exotel1", "apikey", "apitoken"
EXOPHONE = "sip:08040408080"
SIPP = shutil.which("sipp")

Progress = Callable[[str], None]


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

    def __init__(self, module: str, *args: str, name: str) -> None:
        self.counts: Counter[str] = Counter()
        self.problems: list[dict[str, Any]] = []
        self.cond = threading.Condition()
        try:
            super().__init__(module, *args, name=name, ready_timeout=15, on_event=self._count)
        except ChildError as e:
            raise BenchError(str(e)) from e

    def _count(self, ev: dict[str, Any]) -> None:
        name = str(ev.get("event"))
        traced = ev.get("line") if name == "trace" else None
        with self.cond:
            self.counts[name] += 1
            if isinstance(traced, dict):  # a phone's SDK: its API calls and callbacks
                self.counts[f"trace:{traced.get('name')}"] += 1
            if name in ("error", "warning") and len(self.problems) < 20:
                self.problems.append(ev)
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
        server = JsonLinesProcess("exovoice.reference.platform.sipserver", "--config", json.dumps({
            "account": {"sid": SID, "api_key": KEY, "api_token": TOKEN,
                        "sip_exophone": EXOPHONE, "dial_whom_url": backend.dial_whom_url,
                        "push_url": backend.push_url},
            "secret_hex": secret.hex(), "subscribers": ["alice", "bob", PUSH_CALLEE],
            # no URI for carol: the platform waits for her SDK to take the pushed session
            "callee_uris": {"bob": peer.ready["uri"]},
            # the limiter is not what is measured: far above anything this bench sends
            "rate_limit": {"calls": 1_000_000, "window": 1},
            "max_lifetime": max_lifetime}), name="sipserver")
        api = SubscriberApi(server.ready["api_url"], KEY, TOKEN)
        w = World(secret, server, peer, api, backend)
        if phone:
            callee = JsonLinesProcess(
                "exovoice.reference.app.phone", "--exophone", server.ready["sip_uri"],
                "--sessions-url", server.ready["api_url"], "--secret-hex", secret.hex(),
                "--subscriber", PUSH_CALLEE, "--token", w.token(PUSH_CALLEE),
                "--trace", str(Path(tmp.name) / f"{PUSH_CALLEE}.trace.jsonl"),
                "--hostname", "127.0.0.1", "--account-sid", SID,
                "--answer-after", "0", "--max-lifetime", str(max_lifetime), name="phone")
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

    def reset(self) -> None:
        with self.cond:
            self.got.clear()

    def _note(self, name: str) -> None:
        t = time.perf_counter()
        with self.cond:
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
                    warmup: int = 1, progress: Progress = quiet,
                    timeout: float = 10.0) -> dict[str, Latency]:
    """`calls` sequential calls to each of `targets` ({label: SIP URI or Target}), after
    `warmup` unmeasured ones each (the first call pays one-off costs: media port and codec
    setup, the backend's first HTTP connection, the phone's first take...).

    One client dials them all, alternating target call by call (forwards, then backwards:
    ABBA with two, ABCCBA with three, so none is always first): whatever else loads the
    machine during the run then weighs on all alike, and the ratios compare the paths, not
    stretches of time or clients. A SipNet
    whose target is a function makes that possible with the one pjsua2 endpoint a process may
    have. A call to the platform also waits for its CDR to close, so no call overlaps the
    teardown of the one before; a call to the phone also waits for its onCallEnded."""
    from exovoice.reference.net.simplatform import Platform
    from exovoice.reference.net.sipnet import SipNet
    from exovoice.reference.sdk.sip_client import SipVoiceClient

    current = {"uri": ""}
    client = SipVoiceClient(SipNet(lambda _remote_id: current["uri"]),
                            platform=Platform(secret=w.secret))
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
        order = list(goals.items())
        for i in range(warmup + calls):
            for label, target in (order if i % 2 == 0 else order[::-1]):
                current["uri"] = target.uri
                ms = _one_call(w, client, times, target, timeout, f"{label} call {i + 1}")
                if i >= warmup:
                    samples[label].append(ms)
            done = i + 1 - warmup
            if done > 0 and (done % 10 == 0 or done == calls):
                progress(f"  {done}/{calls} calls each; median so far " + ", ".join(
                    f"{label} {statistics.median(xs):.1f} ms" for label, xs in samples.items()))
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
    t0 = time.perf_counter()
    call = client.getCallController().dial(target.remote_id, target.message)
    if phone is not None:
        _hand_push(w, phone, timeout, what)
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


def _hand_push(w: World, phone: JsonLinesProcess, timeout: float, what: str) -> None:
    """Play APNs: wait for the backend to queue the platform's push on carol's device, hand
    it to her phone, whose app relays it (relaySessionData; the SDK's take runs on its own
    thread, so the reply does not wait for it)."""
    try:
        push = w.device.receive(timeout)
    except queue.Empty:
        raise BenchError(f"{what}: no push reached {PUSH_CALLEE}'s device within "
                         f"{timeout}s") from None
    reply = phone.send("push", timeout, push=push)
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

    @property
    def ok(self) -> bool:
        return (self.failed == 0 and self.successful == self.calls and self.sipp_exit == 0
                and self.cdr_completed == self.calls and not self.errors)


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
    """sipp UAC -> exophone -> platform -> sipp UAS. Calls/s is sipp's successful calls over
    its own elapsed time, from the first INVITE to the last call's end."""
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
               str(SCENARIOS / "uac_bench.xml"), "-i", "127.0.0.1", "-p", str(free_udp_port()),
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
        if len(ours) != ok_calls + failed:
            errors.append(f"platform has {len(ours)} CDRs for sipp's {ok_calls + failed} calls"
                          " (pjsua's own 486, to an INVITE finding no call slot, leaves none)")
        return Throughput(calls, rate, concurrency, pause_ms, ok_calls, failed,
                          int(stats["TotalCallCreated"]), round(elapsed, 3),
                          round(ok_calls / elapsed, 2) if elapsed > 0 else 0.0,
                          round(_sipp_duration_s(rtt) * 1000, 2) if rtt else None,
                          returncode, statuses.get("completed", 0), dict(statuses), errors)
    finally:
        stop_process(uas)
        try:
            w.server.send("route", remote_id="bob", uri=w.peer.ready["uri"])
        except BenchError:
            pass


# --- the run -------------------------------------------------------------------------------
def run(calls: int = 50, sipp_calls: int = 200, rate: float = 15, concurrency: int = 2,
        pause_ms: int = 100, warmup: int = 1, progress: Progress = to_stderr) -> dict[str, Any]:
    """All measurements on one platform process; the dict is what --format json prints."""
    if not HAVE_PJSUA2:
        raise BenchError(f"pjsua2 not importable: {IMPORT_ERROR}")
    load_start = _loadavg()
    with tempfile.TemporaryDirectory(prefix="exovoice-bench-sip-") as tmp, world() as w:
        targets = w.targets()
        progress(f"latency: {calls} calls each, alternating, to the peer {targets['direct']}, "
                 f"the exophone {targets['platform']} (callee: the peer) and the exophone "
                 f"with a push to {PUSH_CALLEE}'s phone ...")
        lat = measure_latency(w, dict(targets), calls, warmup=warmup, progress=progress)
        progress("throughput: sipp through the exophone ...")
        tp = measure_throughput(w, sipp_calls, rate, concurrency, pause_ms, workdir=Path(tmp),
                                progress=progress)
    return report(w, lat, tp, warmup, load_start)


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
        f"alternating (+{lat['warmup_calls']} warm-up each), callee answers at once:",
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
        f"  {tp['calls_per_s']:.1f} calls/s sustained over {tp['elapsed_s']:.1f} s; "
        f"{tp['successful']} successful, {tp['failed']} failed"
        + (f"; INVITE -> 200 mean {tp['invite_to_200_ms']:.1f} ms"
           if tp["invite_to_200_ms"] is not None else ""),
        f"  platform CDRs: {tp['cdr_completed']} completed {tp['cdr_statuses']}",
    ]
    lines += [f"  ERROR: {e}" for e in tp["errors"]]
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
    p.add_argument("--format", choices=("text", "json"), default="text")
    a = p.parse_args(argv)
    from exovoice.reference.procs.process import private_stdout

    out = private_stdout()  # pjlib prints its start-up lines to fd 1: keep them out of JSON
    try:
        result = run(a.calls, a.sipp_calls, a.rate, a.concurrency, a.pause_ms, a.warmup)
    except BenchError as exc:
        print(f"bench/sip.py: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result) if a.format == "json" else render(result), file=out, flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
