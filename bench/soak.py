"""Load and fault soak through the platform's Kamailio front, nothing lost.

    python bench/soak.py [--seconds 60] [--rate 40] [--workers 3] [--format text|json]

sipp drives a mix at once for a bounded time, through the front to N bridge workers
(exovoice.reference.platform.sipserver, capacity 1 each) whose callees are a sipp UAS (answers
at once) and an exovoice.reference.sip.peer that answers 486 (busy):

* answered calls of random length (uniform 0-300 ms), `--rate` calls/s minus the others;
* callee busy: the dial message "busy" routes to the busy peer (486 to the caller), a tenth;
* tampered tokens: a token whose signature was altered, a twentieth (403 from the worker).

Reported: offered and completed calls, final answers and failures by cause, the workers' CDRs
(every call a worker saw has exactly one final CDR, and its status matches what sipp saw:
completed per 200, busy per 486, failed per 403), and fds, sockets, threads and memory of
every worker before and after. Target: `--rate` answered-or-refused calls a second with 0
failed calls that should have succeeded (a 503 CONGESTION_ERROR from the front is a refusal,
counted apart), 0 lost CDRs; printed with the load average (the machine may be shared).

Not in this mix yet: no answer until max_ringing_duration, RTP outages mid-call, callers
cancelling, and reference clients whose traces the validator judges (the conformance run and
tests/test_platform_sip.py cover those one call at a time).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.sip import (  # noqa: E402
    SIPP, BenchError, JsonLinesProcess, _loadavg, front_world, process_usage, start_sipp_uas,
    stop_process, to_stderr, quiet, Progress)
from bench.sip import sipp_through_front  # noqa: E402

NOT_FINAL = {"initiated", "ringing", "in-progress"}


def scenario(workdir: Path, name: str, pause: str) -> Path:
    """tests/sipp/uac_answered_or_refused.xml with its own pause."""
    text = (ROOT / "tests" / "sipp" / "uac_answered_or_refused.xml").read_text()
    path = workdir / f"{name}.xml"
    path.write_text(text.replace("<pause/>", pause))
    return path


def tampered(token: str) -> str:
    """The token with one character of its signature changed."""
    head, _, sig = token.rpartition(".")
    return f"{head}.{('A' if sig[0] != 'A' else 'B')}{sig[1:]}"


def run(seconds: float = 60, rate: float = 40, workers: int = 3,
        progress: Progress = to_stderr) -> dict[str, Any]:
    if SIPP is None:
        raise BenchError("sipp not installed (apt-get install sip-tester)")
    load_start = _loadavg()
    with tempfile.TemporaryDirectory(prefix="exovoice-soak-") as tmp:
        work = Path(tmp)
        uas, uas_port = start_sipp_uas(work)
        busy = JsonLinesProcess("exovoice.reference.sip.peer", "--mode", "busy", "--user",
                                "carol", "--max-lifetime", str(seconds + 300), name="busy")
        try:
            with front_world(workers, uas_port, seconds + 300,
                             by_message={"busy": ("carol", busy.ready["uri"])}) as (
                    front, procs, api, _backend):
                token = str(api.token("alice", "alice-phone").json()["subscriber_token"]
                            ["access_token"])
                pids = [int(p.ready["pid"]) for p in procs]
                before = {p.name: process_usage(pid) for p, pid in zip(procs, pids)}
                streams = {  # name: (share of the rate, scenario, token)
                    "answered": (0.85, scenario(work, "answered", '<pause distribution='
                                                '"uniform" min="0" max="300"/>'), token),
                    "busy": (0.10, scenario(work, "busy", "<pause/>"), token),
                    "tampered": (0.05, scenario(work, "tampered", "<pause/>"), tampered(token)),
                }
                progress(f"soak: {rate:g} calls/s for {seconds:g} s through the front to "
                         f"{workers} workers ...")
                import concurrent.futures as cf

                with cf.ThreadPoolExecutor(len(streams)) as pool:
                    futs = {name: pool.submit(
                        sipp_through_front, front, tok, name, work,
                        calls=max(1, round(share * rate * seconds)), rate=share * rate,
                        limit=max(4, round(share * rate)), pause_ms=0, scenario=scen,
                        timeout_s=seconds + 60)
                        for name, (share, scen, tok) in streams.items()}
                    runs = {name: f.result() for name, f in futs.items()}
                time.sleep(2)  # the last BYEs
                cdrs = [c for p in procs if p.proc.poll() is None
                        for c in p.send("cdrs")["cdrs"]]
                after = {p.name: process_usage(pid) for p, pid in zip(procs, pids)}
                alive = {p.name: p.proc.poll() is None for p in procs}
                problems = {p.name: p.problems[:3] for p in procs if p.problems}
        finally:
            busy.close()
            stop_process(uas)
    return judge(runs, cdrs, before, after, alive, problems, seconds, rate, workers,
                 load_start)


def judge(runs: dict[str, Any], cdrs: list[dict[str, Any]], before: dict[str, Any],
          after: dict[str, Any], alive: dict[str, bool], problems: dict[str, Any],
          seconds: float, rate: float, workers: int,
          load_start: list[float] | None) -> dict[str, Any]:
    # a worker's own 503 (over capacity: the front's count had not dropped yet) is a
    # refusal like the front's, its CDR "failed" with that reason: counted apart
    by_tag: dict[str, Counter[str]] = {
        t: Counter("refused 503" if c.get("failure_reason") == "over capacity"
                   else str(c["status"]) for c in cdrs if c.get("custom_field") == t)
        for t in runs}
    expect = {"answered": ("200", "completed"), "busy": ("486", "busy"),
              "tampered": ("403", "failed")}
    failures: list[str] = []
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
        if set(by_tag[tag]) & NOT_FINAL:
            failures.append(f"{tag}: CDRs not final {dict(by_tag[tag])}")
    if not all(alive.values()):
        failures.append(f"workers died: {alive}")
    offered = sum(r["calls"] for r in runs.values())
    ended = sum(sum(r["final_answers"].values()) for r in runs.values())
    refused = sum(r["final_answers"].get("503", 0) for r in runs.values())
    elapsed = max(r["elapsed_s"] for r in runs.values())
    handled = (ended - refused) / elapsed if elapsed else 0.0
    return {"seconds": seconds, "rate": rate, "workers": workers, "offered": offered,
            "final_answers": ended, "refused_503": refused,
            "handled_per_s": round(handled, 1), "elapsed_s": elapsed, "streams": runs,
            "cdr_statuses": {t: dict(c) for t, c in by_tag.items()},
            "usage_before": before, "usage_after": after, "workers_alive": alive,
            "worker_problems": problems, "failures": failures,
            "target_met": handled >= rate and not failures,
            "loadavg": [load_start, _loadavg()], "cpus": os.cpu_count(),
            "ok": not failures}


def render(r: dict[str, Any]) -> str:
    lines = [f"soak: {r['rate']:g} calls/s offered for {r['seconds']:g} s through the "
             f"Kamailio front to {r['workers']} workers; {r['cpus']} CPUs, load average "
             f"{r['loadavg'][0]} -> {r['loadavg'][1]} (shared machine)",
             f"  offered {r['offered']}, final answers {r['final_answers']}, refused 503 "
             f"CONGESTION_ERROR {r['refused_503']}; handled (not refused) "
             f"{r['handled_per_s']:.1f} calls/s over {r['elapsed_s']:.1f} s "
             f"(target >= {r['rate']:g}: {'met' if r['target_met'] else 'MISSED'})"]
    for tag, s in r["streams"].items():
        lines.append(f"  {tag:9s} {s['calls']} offered at {s['rate']:.1f}/s: final answers "
                     f"{s['final_answers']}; CDRs {r['cdr_statuses'][tag]}")
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
    ap.add_argument("--rate", type=float, default=40, help="calls/s offered, all streams")
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--format", choices=("text", "json"), default="text")
    a = ap.parse_args(argv)
    from exovoice.reference.platform.front import available
    from exovoice.reference.procs.process import private_stdout

    if available() is not None:
        print(f"bench/soak.py: {available()}", file=sys.stderr)
        return 2
    out = private_stdout()
    try:
        r = run(a.seconds, a.rate, a.workers)
    except BenchError as exc:
        print(f"bench/soak.py: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(r) if a.format == "json" else render(r), file=out, flush=True)
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
