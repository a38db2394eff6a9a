"""Overload and a dead worker: the platform behind its Kamailio front refuses what it cannot
hold with 503 CONGESTION_ERROR, never aborts, never answers 486, and routes around a worker
that died.

The pjsua2-python wheel is compiled with PJSUA_MAX_CALLS 4 (a bridged call takes two) and a
64-socket select ioqueue that keeps a closed socket's slot 500 ms (a process opening sockets
faster than that aborts). On its own a `exovoice.reference.platform.sipserver` worker cannot
refuse an INVITE that finds its 4 slots taken (pjsua answers 486 statelessly, which a caller
reads as BUSY) and every INVITE it accepts opens 2 RTP sockets, even one it then refuses. So
the platform admits calls at its front (exovoice.reference.platform.front, Kamailio): a worker
gets a call only below its capacity (1 here) and at most one per 50 ms, and a call none can
take is answered 503 with ``X-Exotel-Reason: CONGESTION_ERROR`` by the front.

test_overload: one worker (about 20 calls/s at most), sipp offering 200 calls/s, as many at once
as it likes, for 2 s: 10x what it can carry. Asserted: every INVITE got a final answer, each a
200 or a 503 carrying CONGESTION_ERROR (never 486, nothing left ringing); the worker is alive,
logged no error or warning, and every call it saw has one final, closed CDR; its open sockets
stayed bounded (sampled from /proc while the load ran); and afterwards the same worker completes
calls normally, back to back.

test_dead_worker: two workers; one is killed (SIGKILL) while sipp places calls; the front marks
it inactive (its INVITE got no answer within 1 s, OPTIONS probes go unanswered) and the calls
go to the other one: every call placed after the kill completes.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from exovoice.reference.sip.endpoint import HAVE_PJSUA2, IMPORT_ERROR

SIPP = shutil.which("sipp")
pytestmark = [
    pytest.mark.skipif(SIPP is None, reason="sipp not installed (apt-get install sip-tester)"),
    pytest.mark.skipif(not HAVE_PJSUA2, reason=f"pjsua2 not importable: {IMPORT_ERROR}"),
]


if HAVE_PJSUA2:
    from exovoice.reference.backend import CustomerBackend, PushChannel
    from exovoice.reference.backend.server import RoutingTable
    from exovoice.reference.platform.client import SubscriberApi
    from tests.test_platform_sip import ServerProcess

from exovoice.reference.platform.front import KamailioFront, available  # noqa: E402
from bench.sip import BenchError, free_udp_port, start_sipp_uas, stop_process  # noqa: E402

if available() is not None:
    pytestmark.append(pytest.mark.skip(reason=str(available())))

SCENARIOS = Path(__file__).resolve().parent / "sipp"
SID, KEY, TOKEN = "exotel1", "apikey", "apitoken"
EXOPHONE = "sip:08040408080"
NOT_FINAL = {"initiated", "ringing", "in-progress"}

# uac_bench.xml, except that a refusal is an outcome too (the file says how)
REFUSALS = (486, 503, 403, 404, 408, 480, 500, 603)
UAC_ANSWERED_OR_REFUSED = (SCENARIOS / "uac_answered_or_refused.xml").read_text()


@dataclass
class SipMessage:
    sent: bool
    start: str  # request line or status line
    headers: dict[str, str]  # lower-case names, first occurrence

    @property
    def code(self) -> int | None:
        return int(self.start.split()[1]) if self.start.startswith("SIP/2.0 ") else None


def read_message_log(path: Path) -> list[SipMessage]:
    """sipp's -trace_msg file: blocks after a "-----... timestamp" line, each "UDP message
    sent (...)" or "UDP message received [...]", a blank line, then the message."""
    out = []
    text = path.read_text(errors="replace") if path.exists() else ""
    for block in re.split(r"^-{20,} .*$", text, flags=re.M):
        lines = block.strip("\n").splitlines()
        if len(lines) < 3 or not lines[0].startswith("UDP message"):
            continue
        headers: dict[str, str] = {}
        for line in lines[3:]:
            if not line.strip():
                break
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), value.strip())
        out.append(SipMessage(lines[0].startswith("UDP message sent"), lines[2].strip(), headers))
    return out


def final_answers(messages: list[SipMessage]) -> tuple[set[str], dict[str, SipMessage]]:
    """The Call-IDs sipp INVITEd, and the first final response each INVITE got."""
    invited = {m.headers["call-id"] for m in messages if m.sent and m.start.startswith("INVITE ")}
    finals: dict[str, SipMessage] = {}
    for m in messages:
        if (not m.sent and m.code is not None and m.code >= 200
                and m.headers.get("cseq", "").endswith("INVITE")):
            finals.setdefault(m.headers["call-id"], m)
    return invited, finals


def socket_count(pid: int) -> int:
    """Open sockets of a process (its /proc fd links)."""
    n = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            n += os.readlink(fd).startswith("socket:")
        except OSError:
            pass
    return n


class SocketSampler(threading.Thread):
    """The highest socket count of `pid` seen while running (every 20 ms)."""

    def __init__(self, pid: int) -> None:
        super().__init__(name="socket-sampler", daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.02):
            try:
                self.peak = max(self.peak, socket_count(self.pid))
            except OSError:
                return

    def __enter__(self) -> "SocketSampler":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.join(5)


@dataclass
class World:
    workers: list[Any]  # tests.test_platform_sip.ServerProcess
    front: Any  # exovoice.reference.platform.front.KamailioFront
    api: Any
    tmp: Path

    def token(self) -> str:
        resp = self.api.token("alice", "alice-phone")
        assert resp.status == 200, resp.body
        return resp.json()["subscriber_token"]["access_token"]

    def sipp(self, scenario: Path, tag: str, *, calls: int, rate: float, limit: int,
             pause_ms: int, wait: bool = True) -> Any:
        """One sipp UAC run against the front (the exophone's address); with `wait` its
        result and messages as sipp logged them, else the running process."""
        log, errors = self.tmp / f"sipp_{tag}_messages.log", self.tmp / f"sipp_{tag}_errors.log"
        cmd = [SIPP, f"127.0.0.1:{self.front.port}", "-sf", str(scenario),
               "-i", "127.0.0.1", "-p", str(free_udp_port()), "-mp", str(free_udp_port()),
               "-s", EXOPHONE.removeprefix("sip:"), "-key", "token", self.token(),
               "-key", "tag", tag, "-m", str(calls), "-r", f"{rate:g}", "-l", str(limit),
               "-d", str(pause_ms), "-timeout", "30s", "-timeout_error",
               "-recv_timeout", "8000", "-nostdin", "-trace_err", "-error_file", str(errors),
               "-trace_msg", "-message_file", str(log)]
        proc = subprocess.Popen(cmd, cwd=self.tmp, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if not wait:
            return proc
        return self.finish(proc, tag)

    def finish(self, proc: subprocess.Popen, tag: str
               ) -> tuple[subprocess.CompletedProcess, list[SipMessage]]:
        try:
            out, err = proc.communicate(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise AssertionError(f"sipp ({tag}) did not finish within 40 s") from None
        result = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        return result, read_message_log(self.tmp / f"sipp_{tag}_messages.log")

    def failure(self, tag: str, result: subprocess.CompletedProcess) -> str:
        errors = self.tmp / f"sipp_{tag}_errors.log"
        tail = errors.read_text(errors="replace")[-3000:] if errors.exists() else ""
        return (f"sipp ({tag}) exit {result.returncode}\n{result.stdout[-1500:]}"
                f"{result.stderr[-1500:]}\n--- errors\n{tail}\n--- front\n"
                f"{self.front.log_tail()}")

    def cdrs(self, tag: str) -> list[dict[str, Any]]:
        return [c for w in self.workers if w.proc.poll() is None
                for c in w.send("cdrs")["cdrs"] if c.get("custom_field") == tag]

    def settled_cdrs(self, tag: str, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The run's CDRs once `count` of them are closed (the platform ended both legs)."""
        deadline = time.monotonic() + timeout
        while True:
            cdrs = self.cdrs(tag)
            if (len(cdrs) >= count and all(c["ended_time"] is not None for c in cdrs)) \
                    or time.monotonic() > deadline:
                return cdrs
            time.sleep(0.1)

    def events(self, worker: int = 0) -> list[dict[str, Any]]:
        """Every line of a worker read so far (and not consumed by an expect())."""
        w = self.workers[worker]
        while not w.lines.empty():
            w.seen.append(w.lines.get_nowait())
        return w.seen


def make_world(tmp_path: Path, workers: int) -> Iterator[World]:
    before = set(threading.enumerate())
    channel = PushChannel()
    channel.register("bob", "bob-phone")  # the push must be deliverable; nobody reads it
    backend = CustomerBackend(RoutingTable(by_caller={"alice": "bob"}), channel).start()
    try:
        uas, uas_port = start_sipp_uas(tmp_path)
    except BenchError as e:
        backend.close()
        raise AssertionError(f"sipp UAS did not start: {e}") from e
    procs: list[Any] = []
    front = None
    secret = secrets.token_bytes(32).hex()
    sids = {n: secrets.token_hex(16) for n in ("alice", "bob")}  # shared by the workers
    try:
        for _ in range(workers):
            procs.append(ServerProcess({
                "account": {"sid": SID, "api_key": KEY, "api_token": TOKEN,
                            "sip_exophone": EXOPHONE, "dial_whom_url": backend.dial_whom_url,
                            "push_url": backend.push_url},
                "secret_hex": secret, "subscribers": ["alice", "bob"], "capacity": 1,
                "subscriber_sids": sids,
                "callee_uris": {"bob": f"sip:bob@127.0.0.1:{uas_port}"},
                "rate_limit": {"calls": 100_000, "window": 60}, "max_lifetime": 90}))
        front = KamailioFront([f"sip:127.0.0.1:{p.ready['sip_port']}" for p in procs]).start()
        yield World(procs, front, SubscriberApi(procs[0].ready["api_url"], KEY, TOKEN),
                    tmp_path)
    finally:
        try:
            if front is not None:
                front.close()
            for p in procs:
                if p.proc.poll() is None:
                    assert p.close() == 0
        finally:
            stop_process(uas)
            backend.close()
            for t in set(threading.enumerate()) - before:  # e.g. the servers' stdout readers
                t.join(5)


@pytest.fixture
def one_worker(tmp_path: Path) -> Iterator[World]:
    yield from make_world(tmp_path, 1)


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[World]:
    yield from make_world(tmp_path, 2)


# the worker's sockets at rest (SIP transport, HTTP server, ...) plus 4 per bridged call and 4
# per call in the ioqueue's 500 ms limbo at one call per 50 ms: well under pjlib's 64
SOCKET_BOUND = 48


def test_overload_is_refused_with_503_and_the_same_worker_recovers(no_leaks, one_worker):
    world = one_worker
    scenario = world.tmp / "uac_answered_or_refused.xml"
    scenario.write_text(UAC_ANSWERED_OR_REFUSED)
    worker = world.workers[0]
    at_rest = socket_count(worker.ready["pid"])

    # --- 1. 200 calls/s for 2 s, as many at once as sipp likes: 10x the worker's ~20/s
    calls = 400
    with SocketSampler(worker.ready["pid"]) as sockets:
        result, messages = world.sipp(scenario, "overload", calls=calls, rate=200, limit=200,
                                      pause_ms=50)
    assert result.returncode == 0, world.failure("overload", result)
    assert worker.proc.poll() is None, "the worker died under overload"
    assert world.front.alive, world.front.log_tail()
    invited, finals = final_answers(messages)
    assert len(invited) == calls and set(finals) == invited, (
        f"{len(invited)} INVITEs, final answers for {len(finals)}: "
        f"{sorted(invited - set(finals))[:5]} got none")
    codes = Counter(m.code for m in finals.values())
    assert set(codes) <= {200, 503}, f"final answers {dict(codes)}: only 200 or 503 allowed"
    assert codes[200] >= 1 and codes[503] >= calls // 2, (
        f"{dict(codes)}: at 10x capacity most calls are refused and some complete")
    refusals = [m for m in finals.values() if m.code == 503]
    assert all(m.headers.get("x-exotel-reason") == "CONGESTION_ERROR" for m in refusals), (
        [m for m in refusals if m.headers.get("x-exotel-reason") != "CONGESTION_ERROR"][:2])
    assert sockets.peak <= max(SOCKET_BOUND, at_rest + 40), (
        f"the worker held {sockets.peak} sockets at once ({at_rest} at rest)")

    # every call the worker saw has one final, closed CDR; the front's 503s never reached it
    cdrs = world.settled_cdrs("overload", codes[200])
    statuses = Counter(c["status"] for c in cdrs)
    assert not NOT_FINAL & set(statuses), f"CDRs left unfinished: {dict(statuses)}"
    assert statuses["completed"] == codes[200], (
        f"CDRs {dict(statuses)} for final answers {dict(codes)}")
    assert set(statuses) <= {"completed", "failed"}, statuses
    assert all(c["ended_time"] is not None for c in cdrs)
    events = world.events()
    assert sum(e["event"] == "call-ended" for e in events) == len(cdrs)
    problems = [e for e in events if e["event"] in ("error", "warning")]
    assert not problems, problems

    # --- 2. the same worker, a fresh batch back to back: every call completes
    bench = SCENARIOS / "uac_bench.xml"  # expects 200: any refusal fails the run
    result, _ = world.sipp(bench, "recover", calls=8, rate=5, limit=1, pause_ms=0)
    assert result.returncode == 0, world.failure("recover", result)
    cdrs = world.settled_cdrs("recover", 8)
    assert [c["status"] for c in cdrs] == ["completed"] * 8, cdrs
    assert not [e for e in world.events() if e["event"] in ("error", "warning")]


def test_a_killed_worker_is_routed_around(no_leaks, two_workers):
    world = two_workers
    scenario = world.tmp / "uac_answered_or_refused.xml"
    scenario.write_text(UAC_ANSWERED_OR_REFUSED)
    # 5 calls/s of 100 ms for 6 s; one worker is killed after 2 s
    sipp = world.sipp(scenario, "kill", calls=30, rate=5, limit=4, pause_ms=100, wait=False)
    time.sleep(2.0)
    victim = world.workers[1]
    victim.proc.kill()
    victim.proc.wait(5)
    killed_at = time.time()
    result, messages = world.finish(sipp, "kill")
    assert world.front.alive, world.front.log_tail()
    invited, finals = final_answers(messages)
    codes = Counter(m.code for m in finals.values())
    # at most the call that was up on the victim is lost (its BYE finds nobody); every
    # other call completes: those sent to the victim after the kill went to the survivor
    survivor = world.settled_cdrs("kill", 1)
    after = [c for c in survivor if c["created"] is not None and c["created"] > killed_at + 1.5]
    assert len(after) >= 10, f"the surviving worker took {len(after)} calls after the kill"
    assert all(c["status"] == "completed" for c in after), after
    assert codes[200] >= len(invited) - 2, f"final answers {dict(codes)}"
    assert 486 not in codes
