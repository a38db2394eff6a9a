"""Load and fault soak through the platform's Kamailio front, nothing lost.

    python bench/soak.py [--seconds 60] [--rate 46] [--workers 14] [--format text|json]

For a bounded time, through the front to N bridge workers (exovoice.reference.platform.sipserver,
capacity 1 each; Dial Whom's max_ringing_duration 1 s), at once:

sipp callers (one sipp per stream, `--rate` calls/s shared out), whose callees are a sipp UAS
(answers at once) and exovoice.reference.sip.peer processes:

* answered: calls of random length (uniform 0-300 ms), the rest of the rate;
* busy: the dial message "busy" routes to a peer that answers 486, a tenth;
* no answer: "noanswer" routes to a peer that rings forever; the platform gives up after
  max_ringing_duration (408 to the caller, CDR no-answer), 4 %;
* cancel: "ringing" routes to another such peer; the caller CANCELs 0-300 ms after the 180
  (tests/sipp/uac_cancel.xml: 487, CDR canceled), 4 %;
* tampered: a token whose signature was altered (403 from the worker), a twentieth.

Reference clients (exovoice.reference.app.phone: the reference SDK over SIP, the same phones as
bench/sip.py's push series), one call after another for the whole time: dave calls paul (who
answers 0.2 s after his push arrives; this process plays APNs) or nora (who never answers), in
turn: an answered call of random length (0.2-1 s); an answered call with an RTP outage
mid-call (the worker carrying it pauses RTP toward dave for 1.2 s: onMediaDisrupted, then
onCallEstablished again); dave cancelling while nora's phone rings; nobody answering nora
(max_ringing_duration); a busy callee. Their calls are placed through the front too, so some
are refused 503 CONGESTION_ERROR like any caller's. When the time is up each phone exits and
its trace is judged by `exovoice validate --complete`.

Reported: offered and completed calls, final answers by cause, the workers' CDRs (every call
a worker saw has exactly one final CDR, and its status matches what the caller saw: sipp's
answer per stream, each client call's expected status by its call sid), every client trace's
verdict, and fds, sockets, threads and memory of every worker, phone and peer before and
after. Target: TARGET_PER_S (40) calls a second handled, i.e. given a final answer other than
503 (answered, busy, no answer, cancelled, refused token), with 0 failed calls that should have
succeeded (a 503 CONGESTION_ERROR is a refusal, counted apart), 0 lost CDRs, every trace
conformant; printed with the load average (the machine may be shared). A worker carries one
call at a time (pjsua's 4 call slots: two legs, and room for teardowns), so the rate comes
from workers: 14 by default.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

TARGET_PER_S = 40.0  # calls handled a second through the platform (issue: SIP path at the floor)
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.sip import (  # noqa: E402
    EXOPHONE, SID, SIPP, BenchError, JsonLinesProcess, Progress, _loadavg, front_world,
    process_usage, quiet, sipp_through_front, start_sipp_uas, stop_process, to_stderr)

NOT_FINAL = {"initiated", "ringing", "in-progress"}
MAX_RINGING = 1  # s: Dial Whom's max_ringing_duration (a whole number, at least 1)
CALLER, ANSWERS, SILENT = "dave", "paul", "nora"  # the reference clients
# client rounds, in turn: (kind, callee, dial message, the CDR status it ends with)
ROUNDS = (("answered", ANSWERS, "client", "completed"),
          ("outage", ANSWERS, "client", "completed"),
          ("cancel", SILENT, "clientsilent", "canceled"),
          ("noanswer", SILENT, "clientsilent", "no-answer"),
          ("busy", "bea", "clientbusy", "busy"))
OUTAGE_S = 1.2  # longer than the SDK's 0.5 s before onMediaDisrupted, far below its timeout
WAIT = 10.0  # bound on any one happening of a client call


def scenario(workdir: Path, name: str, pause: str, base: str = "uac_answered_or_refused") -> Path:
    """tests/sipp/<base>.xml with its own pause."""
    text = (ROOT / "tests" / "sipp" / f"{base}.xml").read_text()
    path = workdir / f"{name}.xml"
    path.write_text(text.replace("<pause/>", pause))
    return path


def tampered(token: str) -> str:
    """The token with one character of its signature changed."""
    head, _, sig = token.rpartition(".")
    return f"{head}.{('A' if sig[0] != 'A' else 'B')}{sig[1:]}"


class Clients:
    """dave, paul and nora's phones; this process is their APNs. `run_until` places dave's
    calls one after another (ROUNDS in turn) and notes each one's outcome."""

    def __init__(self, api: Any, backend: Any, exophone: str, sessions_url: str, work: Path,
                 lifetime: float) -> None:
        self.work, self.rounds = work, []  # type: list[dict[str, Any]]
        self.phones: dict[str, JsonLinesProcess] = {}
        self.traces = {n: work / f"{n}.jsonl" for n in (CALLER, ANSWERS, SILENT)}
        self.stop = threading.Event()
        try:
            for name in (CALLER, ANSWERS, SILENT):
                got = api.token(name, f"{name}-phone")
                if got.status != 200:
                    raise BenchError(f"no token for {name}: HTTP {got.status}")
                argv = ["--exophone", exophone, "--sessions-url", sessions_url,
                        "--device-id", f"{name}-phone", "--subscriber", name,
                        "--trace", str(self.traces[name]), "--hostname", "127.0.0.1",
                        "--account-sid", SID, "--max-lifetime", str(lifetime)]
                if name == ANSWERS:
                    argv += ["--answer-after", "0.2"]
                self.phones[name] = JsonLinesProcess(
                    "exovoice.reference.app.phone", *argv, name=name,
                    stdin_first={"refresh_token": got.json()["subscriber_token"]["refresh_token"]})
        except BaseException:
            self.close()
            raise
        self.devices = {n: backend.push_channel.register(n, f"{n}-phone")
                        for n in (ANSWERS, SILENT)}
        self.apns = threading.Thread(target=self._deliver, name="soak-apns", daemon=True)
        self.apns.start()

    def _deliver(self) -> None:
        """APNs: every push the backend sends to paul's or nora's device reaches the phone."""
        while not self.stop.is_set():
            for name, device in self.devices.items():
                for push in device.pending():
                    try:
                        self.phones[name].post("push", push=push)
                    except Exception:  # noqa: BLE001 - the phone is gone: its round says so
                        pass
            time.sleep(0.01)

    def _seen(self, name: str) -> int:
        return self.phones[CALLER].counts[f"trace:{name}"]

    def _ended(self) -> int:
        """dave's calls that are over, each once: a failed call's later onCallEnded (which the
        guide allows) must not read as the next call ending early, or the next round dials
        while that call is still up."""
        return len(self.phones[CALLER].calls_over)

    def run_until(self, deadline: float, workers: list[JsonLinesProcess]) -> None:
        rng = random.Random(7)
        for kind, callee, message, status in itertools.cycle(ROUNDS):
            if time.monotonic() >= deadline:
                return
            self.rounds.append(self._round(kind, callee, message, status, workers, rng))

    def _invites(self, workers: list[JsonLinesProcess]) -> list[tuple[JsonLinesProcess, str]]:
        """dave's INVITEs as the workers saw them, in the order they arrived (one clock for
        every process on the machine), not in the workers' order: the front tries the next
        worker after one's 503, so of one call's INVITEs the last is the one carrying it."""
        seen = [(float(ev.get("rx") or ev.get("t") or 0.0), w, str(ev["call_sid"]))
                for w in workers for ev in list(w.timed)
                if ev.get("event") == "invite" and ev.get("subscriber") == CALLER]
        seen.sort(key=lambda x: x[0])
        return [(w, sid) for _, w, sid in seen]

    def _round(self, kind: str, callee: str, message: str, status: str,
               workers: list[JsonLinesProcess], rng: random.Random) -> dict[str, Any]:
        dave = self.phones[CALLER]
        before = set(self._invites(workers))
        ended, est, ringing = self._ended(), self._seen("onCallEstablished"), self._seen(
            "onCallRinging")
        out: dict[str, Any] = {"kind": kind, "expect": status, "problem": None}
        try:
            dave.send("dial", to=callee, message=message)
            if kind in ("answered", "outage"):
                self._until({"onCallEstablished": est + 1}, ended, out)
                time.sleep(rng.uniform(0.2, 1.0) if kind == "answered" else 0.2)
                if kind == "outage" and self._ended() == ended:
                    worker, sid = self._this_call(workers, before, out)
                    disrupted = self._seen("onMediaDisrupted")
                    worker.send("media", action="pause", toward="caller", call_sid=sid,
                                seconds=OUTAGE_S)
                    self._until({"onMediaDisrupted": disrupted + 1}, ended, out)
                    self._until({"onCallEstablished": est + 2}, ended, out)
                if self._ended() == ended:
                    dave.send("hangup")
            elif kind == "cancel":
                self._until({"onCallRinging": ringing + 1}, ended, out)
                time.sleep(rng.uniform(0.0, 0.3))
                if self._ended() == ended:
                    dave.send("hangup")
            if not self._ended_after(ended):
                out["problem"] = f"dave's call did not end within {WAIT:g} s"
        except _Refused:
            pass
        except BenchError as e:
            out["problem"] = str(e)
            # whatever went wrong, dave's call must not outlive its round: the next one
            # would be refused SYSTEM_BUSY (a call exists) and the problem would cascade
            if self._ended() == ended:
                try:
                    dave.send("hangup")
                except BenchError:
                    pass
                self._ended_after(ended)
        # more than one when a worker refused it 503 and the front tried the next
        new = [x for x in self._invites(workers) if x not in before]
        out["call_sids"] = [sid for _, sid in new]
        out["workers"] = [w.name for w, _ in new]
        return out

    def _ended_after(self, ended: int) -> bool:
        deadline = time.monotonic() + WAIT
        while self._ended() <= ended:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def _until(self, want: dict[str, int], ended: int, out: dict[str, Any]) -> None:
        """Until dave's SDK has said each callback that often; the call ending first is a
        refusal (503 from the front or a worker: judged by its CDR, if any)."""
        deadline = time.monotonic() + WAIT
        while not all(self._seen(n) >= c for n, c in want.items()):
            if self._ended() > ended:
                out["ended_early"] = True
                raise _Refused()
            if time.monotonic() > deadline:
                raise BenchError(f"no {list(want)} on dave's phone within {WAIT:g} s")
            time.sleep(0.01)

    def _this_call(self, workers: list[JsonLinesProcess], before: set[Any],
                   out: dict[str, Any]) -> tuple[JsonLinesProcess, str]:
        """The worker carrying dave's call and its sid: the last to see its INVITE (the
        front tries the next worker after one's 503)."""
        new = [x for x in self._invites(workers) if x not in before]
        if not new:
            raise BenchError("dave's call is up but no worker saw its INVITE")
        return new[-1]

    def usage(self) -> dict[str, Any]:
        return {n: process_usage(p.proc.pid) for n, p in self.phones.items()}

    def close(self) -> None:
        """Every phone exits (its trace complete), then the traces are judged."""
        self.stop.set()
        for p in self.phones.values():
            p.end_input()
        for p in self.phones.values():
            p.close(15)

    def verdicts(self) -> dict[str, Any]:
        """`exovoice validate --complete --format json` on every phone's trace."""
        paths = [str(self.traces[n]) for n in self.phones]
        got = subprocess.run([sys.executable, "-m", "exovoice.spec", "validate", "--complete",
                              "--format", "json", "--jobs", "1", *paths], cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
        out: dict[str, Any] = {"exit": got.returncode}
        for line in got.stdout.splitlines():
            try:
                v = json.loads(line)
            except ValueError:
                continue
            if isinstance(v, dict) and "trace" in v:
                out[Path(v["trace"]).stem] = {"conformant": v.get("conformant"),
                                              "violations": v.get("violations", [])[:2],
                                              "unusable": v.get("unusable")}
        return out


class _Refused(Exception):
    """dave's call ended before it got where its round goes (a 503 refusal, most likely)."""


def run(seconds: float = 60, rate: float = 46, workers: int = 14, clients: bool = True,
        progress: Progress = to_stderr) -> dict[str, Any]:
    if SIPP is None:
        raise BenchError("sipp not installed (apt-get install sip-tester)")
    load_start = _loadavg()
    lifetime = seconds + 300
    with tempfile.TemporaryDirectory(prefix="exovoice-soak-") as tmp:
        work = Path(tmp)
        uas, uas_port = start_sipp_uas(work)
        peers: dict[str, JsonLinesProcess] = {}
        phones: Clients | None = None
        try:
            for name, mode in (("bea", "busy"), ("dana", "ring-forever"),
                               ("fred", "ring-forever")):
                peers[name] = JsonLinesProcess(
                    "exovoice.reference.sip.peer", "--mode", mode, "--user", name,
                    "--max-lifetime", str(lifetime), name=f"peer {name} ({mode})")
            routes = {"busy": ("bea", peers["bea"].ready["uri"]),
                      "noanswer": ("dana", peers["dana"].ready["uri"]),
                      "ringing": ("fred", peers["fred"].ready["uri"]),
                      "clientbusy": ("bea", peers["bea"].ready["uri"]),
                      "client": (ANSWERS, None), "clientsilent": (SILENT, None)}
            with front_world(workers, uas_port, lifetime, by_message=routes,
                             callers=(CALLER,), max_ringing=MAX_RINGING) as (
                    front, procs, api, backend):
                token = str(api.token("alice", "alice-phone").json()["subscriber_token"]
                            ["access_token"])
                if clients:
                    progress("soak: starting the reference clients (dave, paul, nora) ...")
                    phones = Clients(api, backend, f"{EXOPHONE}@127.0.0.1:{front.port}",
                                     procs[0].ready["api_url"], work, lifetime)
                watched = {p.name: int(p.ready["pid"]) for p in procs}
                watched |= {p.name: p.proc.pid for p in peers.values()}
                if phones is not None:
                    watched |= {f"phone {n}": p.proc.pid for n, p in phones.phones.items()}
                before = {n: process_usage(pid) for n, pid in watched.items()}
                pause = '<pause distribution="uniform" min="0" max="300"/>'
                streams = {  # name: (share of the rate, scenario, token)
                    "answered": (0.77, scenario(work, "answered", pause), token),
                    "busy": (0.10, scenario(work, "busy", "<pause/>"), token),
                    "noanswer": (0.04, scenario(work, "noanswer", "<pause/>"), token),
                    "ringing": (0.04, scenario(work, "ringing", pause, "uac_cancel"), token),
                    "tampered": (0.05, scenario(work, "tampered", "<pause/>"), tampered(token)),
                }
                progress(f"soak: {rate:g} calls/s for {seconds:g} s through the front to "
                         f"{workers} workers" + (", and the reference clients" if phones
                                                  else "") + " ...")
                import concurrent.futures as cf

                deadline = time.monotonic() + seconds
                with cf.ThreadPoolExecutor(len(streams) + 1) as pool:
                    futs = {name: pool.submit(
                        sipp_through_front, front, tok, name, work,
                        calls=max(1, round(share * rate * seconds)), rate=share * rate,
                        limit=max(4, round(share * rate * (1 + MAX_RINGING))), pause_ms=0,
                        scenario=scen, timeout_s=seconds + 60)
                        for name, (share, scen, tok) in streams.items()}
                    client_run = (pool.submit(phones.run_until, deadline, procs)
                                  if phones is not None else None)
                    runs = {name: f.result() for name, f in futs.items()}
                    if client_run is not None:
                        client_run.result()
                time.sleep(MAX_RINGING + 1)  # the last BYEs and ring timeouts
                cdrs = [c for p in procs if p.proc.poll() is None
                        for c in p.send("cdrs")["cdrs"]]
                after = {n: process_usage(pid) for n, pid in watched.items()}
                alive = {p.name: p.proc.poll() is None for p in procs}
                problems = {p.name: p.problems[:3] for p in procs if p.problems}
                verdicts: dict[str, Any] | None = None
                rounds: list[dict[str, Any]] = []
                kept: str | None = None
                if phones is not None:
                    rounds = phones.rounds
                    phones.close()
                    verdicts = phones.verdicts()
                    if any(r["problem"] for r in rounds) or any(
                            v.get("conformant") is False for n, v in verdicts.items()
                            if n != "exit"):
                        # the evidence outlives the run: the phones' traces, to read
                        kept = tempfile.mkdtemp(prefix="exovoice-soak-kept-")
                        for path in phones.traces.values():
                            if Path(path).exists():
                                shutil.copy(path, kept)
                        progress(f"soak: a client round went wrong; its traces are in {kept}")
                    phones = None
        finally:
            if phones is not None:
                phones.close()
            for peer in peers.values():
                peer.close()
            stop_process(uas)
    r = judge(runs, cdrs, before, after, alive, problems, seconds, rate, workers,
              load_start, rounds, verdicts)
    r["kept_traces"] = kept
    return r


def judge(runs: dict[str, Any], cdrs: list[dict[str, Any]], before: dict[str, Any],
          after: dict[str, Any], alive: dict[str, bool], problems: dict[str, Any],
          seconds: float, rate: float, workers: int, load_start: list[float] | None,
          rounds: list[dict[str, Any]] | None = None,
          verdicts: dict[str, Any] | None = None) -> dict[str, Any]:
    """Nothing lost: each sipp stream's answers and the CDRs of its calls agree, each client
    call has exactly one final CDR with the status its round ends with, every client trace
    conforms, every worker is alive."""
    # a worker's own 503 (over capacity: the front's count had not dropped yet) is a
    # refusal like the front's; its CDR is "failed" with that reason, counted apart
    def label(c: dict[str, Any]) -> str:
        return "refused 503" if c.get("failure_reason") == "over capacity" else str(c["status"])

    by_tag: dict[str, Counter[str]] = {
        t: Counter(label(c) for c in cdrs if c.get("custom_field") == t) for t in runs}
    expect = {"answered": ("200", "completed"), "busy": ("486", "busy"),
              "noanswer": ("408", "no-answer"), "ringing": ("487", "canceled"),
              "tampered": ("403", "failed")}
    failures: list[str] = []
    sids = Counter(str(c.get("call_sid")) for c in cdrs)
    doubled = [sid for sid, n in sids.items() if n > 1]
    if doubled:
        failures.append(f"{len(doubled)} calls have more than one CDR: {doubled[:3]}")
    for tag, r in runs.items():
        code, status = expect[tag]
        finals = r["final_answers"]
        wrong = {c: n for c, n in finals.items() if c not in (code, "503")}
        if wrong:
            failures.append(f"{tag}: final answers {wrong} besides {code} and 503")
        if r["failed"]:
            failures.append(f"{tag}: sipp counted {r['failed']} failed calls")
        if by_tag[tag][status] != finals.get(code, 0):
            failures.append(f"{tag}: {by_tag[tag][status]} CDRs {status} for "
                            f"{finals.get(code, 0)} answers {code}")
        # a worker's 503 sends the call on to the next worker (the front's failure route):
        # one SIP call may have a refusal CDR on one worker and its final CDR on another,
        # never two final ones; calls every worker refused are no more than the 503s sipp saw
        attempts: dict[str, list[str]] = {}
        for c in cdrs:
            if c.get("custom_field") == tag:
                attempts.setdefault(str(c.get("sip_call_id") or c.get("call_sid")),
                                    []).append(label(c))
        twice = [k for k, ls in attempts.items() if sum(x != "refused 503" for x in ls) > 1]
        if twice:
            failures.append(f"{tag}: {len(twice)} SIP calls with more than one final CDR")
        all_refused = sum(1 for ls in attempts.values() if set(ls) == {"refused 503"})
        if all_refused > finals.get("503", 0):
            failures.append(f"{tag}: {all_refused} calls refused by every worker they reached "
                            f"for {finals.get('503', 0)} answers 503")
        if set(by_tag[tag]) & NOT_FINAL:
            failures.append(f"{tag}: CDRs not final {dict(by_tag[tag])}")
    client: dict[str, Counter[str]] = {}
    by_sid = {str(c.get("call_sid")): c for c in cdrs}
    for r in rounds or []:
        seen = client.setdefault(r["kind"], Counter())
        if r["problem"]:
            failures.append(f"client {r['kind']} call: {r['problem']}")
        if not r["call_sids"]:  # the front refused it: no worker saw it
            seen["refused by the front"] += 1
            if not r.get("ended_early") and r["kind"] in ("answered", "outage", "cancel"):
                failures.append(f"client {r['kind']} call reached no worker, yet went on")
            continue
        # every worker that saw it has one final CDR: refusals (the front then tried the
        # next worker) and at most one the call itself ended with
        got = [label(by_sid[sid]) if sid in by_sid else "no CDR" for sid in r["call_sids"]]
        carried = [g for g in got if g != "refused 503"]
        seen[carried[0] if carried else "refused 503"] += 1
        if len(carried) > 1 or (carried and carried[0] != r["expect"]):
            failures.append(f"client {r['kind']} call {r['call_sids']}: CDRs {got}, "
                            f"expected {r['expect']}")
        if not carried and not r.get("ended_early") and r["kind"] in ("answered", "outage",
                                                                      "cancel"):
            failures.append(f"client {r['kind']} call refused by every worker, yet went on")
    if verdicts is not None:
        for name, v in verdicts.items():
            if name != "exit" and v.get("conformant") is not True:
                failures.append(f"{name}'s trace is not conformant: "
                                f"{v.get('unusable') or v.get('violations')}")
        if verdicts.get("exit") != 0 or len(verdicts) < 4:
            failures.append(f"exovoice validate judged {len(verdicts) - 1} traces, exit "
                            f"{verdicts.get('exit')}")
    if not all(alive.values()):
        failures.append(f"workers died: {alive}")
    offered = sum(r["calls"] for r in runs.values()) + len(rounds or [])
    ended = sum(sum(r["final_answers"].values()) for r in runs.values())
    refused = sum(r["final_answers"].get("503", 0) for r in runs.values())
    elapsed = max(r["elapsed_s"] for r in runs.values())
    handled = (ended - refused) / elapsed if elapsed else 0.0
    return {"seconds": seconds, "rate": rate, "workers": workers, "offered": offered,
            "final_answers": ended, "refused_503": refused,
            "handled_per_s": round(handled, 1), "elapsed_s": elapsed, "streams": runs,
            "cdr_statuses": {t: dict(c) for t, c in by_tag.items()},
            "client_calls": {k: dict(c) for k, c in client.items()},
            "client_rounds": len(rounds or []), "verdicts": verdicts,
            "usage_before": before, "usage_after": after, "workers_alive": alive,
            "worker_problems": problems, "failures": failures,
            "target": TARGET_PER_S, "target_met": handled >= TARGET_PER_S and not failures,
            "loadavg": [load_start, _loadavg()], "cpus": os.cpu_count(),
            "ok": not failures}


def render(r: dict[str, Any]) -> str:
    lines = [f"soak: {r['rate']:g} calls/s offered for {r['seconds']:g} s through the "
             f"Kamailio front to {r['workers']} workers; {r['cpus']} CPUs, load average "
             f"{r['loadavg'][0]} -> {r['loadavg'][1]} (shared machine)",
             f"  offered {r['offered']}, final answers {r['final_answers']}, refused 503 "
             f"CONGESTION_ERROR {r['refused_503']}; handled (not refused) "
             f"{r['handled_per_s']:.1f} calls/s over {r['elapsed_s']:.1f} s "
             f"(target >= {r.get('target', r['rate']):g}: "
             f"{'met' if r['target_met'] else 'MISSED'})"]
    for tag, s in r["streams"].items():
        lines.append(f"  {tag:9s} {s['calls']} offered at {s['rate']:.1f}/s: final answers "
                     f"{s['final_answers']}; CDRs {r['cdr_statuses'][tag]}")
    if r.get("kept_traces"):
        lines.append(f"  the reference clients' traces are kept in {r['kept_traces']}")
    if r["client_rounds"]:
        lines.append(f"  reference clients: {r['client_rounds']} calls by dave, CDR statuses "
                     f"by kind {r['client_calls']}")
        v = r["verdicts"] or {}
        lines.append("  exovoice validate --complete: " + ", ".join(
            f"{n} {'conformant' if x.get('conformant') else 'NOT conformant'}"
            for n, x in v.items() if n != "exit"))
    for name in r["usage_before"]:
        lines.append(f"  {name}: before {r['usage_before'][name]}  after "
                     f"{r['usage_after'][name]}")
    lines += [f"  FAILURE: {f}" for f in r["failures"]]
    if r["worker_problems"]:
        lines.append(f"  worker problems: {r['worker_problems']}")
    lines.append("OK: nothing lost" if r["ok"] else "FAILED: see above")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--rate", type=float, default=46,
                    help="calls/s offered, all streams (above the target: some are refused)")
    ap.add_argument("--workers", type=int, default=14,
                    help="bridge workers behind the front (each carries one call at a time)")
    ap.add_argument("--no-clients", action="store_true",
                    help="sipp only, no reference clients (their traces unjudged)")
    ap.add_argument("--format", choices=("text", "json"), default="text")
    a = ap.parse_args(argv)
    from exovoice.reference.platform.front import available
    from exovoice.reference.procs.process import private_stdout

    if available() is not None:
        print(f"bench/soak.py: {available()}", file=sys.stderr)
        return 2
    out = private_stdout()
    try:
        r = run(a.seconds, a.rate, a.workers, clients=not a.no_clients)
    except BenchError as exc:
        print(f"bench/soak.py: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(r) if a.format == "json" else render(r), file=out, flush=True)
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
