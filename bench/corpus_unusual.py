"""A second fleet corpus, unlike bench/corpus.py's: other call patterns, unusual but
conformant interleavings, and the fields real recorders write.

Where corpus.py replays a few call scenarios back to back, here every trace carries a `ts` on
each line (the recorder's clock), UUID-style call ids, several client names and SDK versions in
the meta line, call patterns corpus.py never builds (calls muted from CallKit, DTMF, media lost
twice, audio routes queried, logs uploaded in the middle of a call, pushes declined by a PSTN
call), and between any two lines, whatever else the spec allows there: log lines, state
queries, headsets and Bluetooth coming and going, the network lost and back, refused calls.
Each interjection is kept only when the spec allows it *and* the rest of the scenario after it
(checked on a copy of the judge), so every generated trace is conformant, without one being
restated here. A pool of such traces is built and dealt out to the files, each file with
call ids and UUIDs of its own.

    python bench/corpus_unusual.py OUT_DIR [--files 1000] [--lines-per-file 1000] [--seed 2]
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.corpus import FAULTS, HANGUP, OUT_HEAD, SCENARIOS, api, cb, ck, env, st  # noqa: E402
from exovoice.spec.validate.compiled import FastJudge  # noqa: E402

# Call patterns corpus.py does not build.
PATTERNS: dict[str, tuple[int, list[str]]] = {
    "dtmf-menu": (10, OUT_HEAD + [cb("onCallRinging", True), cb("onCallEstablished", True)]
                  + [api("sendDtmf", True, digit=d) for d in "1#4*0"] + HANGUP),
    "media-twice": (6, OUT_HEAD + [cb("onCallEstablished", True), cb("onMediaDisrupted", True),
                                   cb("onRenewingMedia", True), cb("onCallEstablished", True),
                                   cb("onMediaDisrupted", True), cb("onRenewingMedia", True),
                                   cb("onCallEstablished", True)] + HANGUP),
    "route-queries": (6, OUT_HEAD + [cb("onCallEstablished", True),
                                     api("getAudioRoute", True, route="EARPIECE"),
                                     api("enableSpeaker", True),
                                     api("getAudioRoute", True, route="SPEAKER"),
                                     api("disableSpeaker", True)] + HANGUP),
    "logs-mid-call": (5, OUT_HEAD + [cb("onCallEstablished", True),
                                     api("uploadLogs", startDate="2026-01-01",
                                         endDate="2026-01-02", description="fleet"),
                                     cb("onUploadLogSuccess")] + HANGUP),
    "incoming-muted": (8, [api("relaySessionData", payload="eyJ{c}", payloadVersion=1,
                                subscriberName="{s}"),
                           cb("onIncomingCall", True), api("answer", True),
                           cb("onCallEstablished", True), api("mute", True),
                           api("unmute", True),
                           cb("onCallEnded", True, endReason="REMOTE_HANGUP"),
                           api("postFeedback", True, rating=2, issue="ECHO")]),
    **{k: SCENARIOS[k] for k in ("outgoing", "incoming", "outgoing-busy", "pstn-blocks-dial")},
}
CALLKIT_PATTERNS: dict[str, tuple[int, list[str]]] = {
    "ck-muted-from-callkit": (10, OUT_HEAD + [ck("CXStartCallAction"),
                                              ck("actionFulfilled", action="CXStartCallAction"),
                                              cb("onCallEstablished", True),
                                              ck("reportOutgoingCallConnected"),
                                              ck("CXSetMutedCallAction", muted=True),
                                              api("mute", True),
                                              ck("actionFulfilled",
                                                 action="CXSetMutedCallAction"),
                                              ck("CXEndCallAction"), api("hangup", True),
                                              ck("actionFulfilled", action="CXEndCallAction"),
                                              cb("onCallEnded", True,
                                                 endReason="LOCAL_HANGUP")]),
}

# Lines that may fall between any two others, when the spec allows them there.
ASIDES = [
    cb("onLog", level="INFO", tag="Media", message="jitter buffer resized"),
    cb("onLog", level="DEBUG", tag="SIP", message="REGISTER refreshed"),
    env("bluetoothConnected"), env("bluetoothDisconnected"),
    env("wiredHeadsetConnected"), env("wiredHeadsetDisconnected"),
    env("networkLost"), env("networkRestored"),
    api("getAudioRoute", True, route="EARPIECE"), api("getAudioRoute", True, route="SPEAKER"),
    api("dial", remoteId="sip:2", _result="CALL_IN_PROGRESS"),
    api("mute", True), api("unmute", True),
] + [st(s) for s in ("RINGING", "ESTABLISHED", "INCOMING", "OUTGOING_INITIATED", "ENDED")]

CLIENTS = [("fleet-android", "2.4.1"), ("fleet-android", "2.5.0"), ("fleet-ios", "1.9.3"),
           ("kiosk", "2.5.0")]


def _fill(line: str, c: str, u: str, s: str) -> dict:
    return json.loads(line.replace("{c}", c).replace("{u}", u).replace("{s}", s))


def _try(j: FastJudge, lineno: int, d: dict) -> bool:
    """Feed one line; on refusal put the judge back as it was."""
    keep = (j.sid, copy.deepcopy(j.ctx), j.failed_at, j.failed_set)
    if j.feed(lineno, d):
        return True
    j.sid, j.ctx, j.failed_at, j.failed_set = keep
    return False


def _fits(j: FastJudge, lineno: int, d: dict, rest: list[dict]) -> bool:
    """Does the spec allow `d` here and every line of `rest` after it?"""
    probe = copy.copy(j)
    probe.ctx = copy.deepcopy(j.ctx)
    if not probe.feed(lineno, d):
        return False
    return all(probe.feed(lineno + k, x) for k, x in enumerate(rest, 1))


def trace(i: int, lines: int, rng: random.Random, tables: dict, *, fault: bool) -> list[dict]:
    callkit = not fault and rng.random() < 0.3
    table = dict(PATTERNS)
    if callkit:
        table = {k: v for k, v in table.items() if k != "pstn-blocks-dial"}
        table.update(CALLKIT_PATTERNS)
    names, weights = list(table), [w for w, _ in table.values()]
    client, sdk = CLIENTS[i % len(CLIENTS)]
    s = f"u{i % 89}x"
    out: list[dict] = [
        {"kind": "meta", "name": "trace",
         "args": {"version": 1, "callkit": callkit, "client": client, "sdkVersion": sdk}},
        {"kind": "api", "name": "initialize", "args": {"subscriberName": s}},
        {"kind": "callback", "name": "onInitializationSuccess"},
    ]
    j = FastJudge(tables, callkit=callkit, complete=False)
    for n, d in enumerate(out, 1):
        assert j.feed(n, d)
    n = 0
    while len(out) < lines:
        n += 1
        c = f"C{rng.getrandbits(40):010x}QQn{n}"  # QQ: the file's own mark (generate)
        u = f"{rng.getrandbits(32):08X}-QQ{rng.getrandbits(16):04X}-{n:04X}"
        body = [_fill(x, c, u, s) for x in table[rng.choices(names, weights)[0]][1]]
        for _ in range(4):  # an aside left the client where this pattern cannot start
            if _fits(j, len(out) + 1, body[0], body[1:]):
                break
            fixes = [d for d in (_fill(x, c, u, s) for x in ASIDES)
                     if _fits(j, len(out) + 1, d, body)]
            if fixes:
                d = rng.choice(fixes)
                assert _try(j, len(out) + 1, d)
                out.append(d)
        else:
            continue
        for k, d in enumerate(body):
            while rng.random() < 0.35:  # an aside, when it and the rest still fit
                aside = _fill(rng.choice(ASIDES), c, u, s)
                if _fits(j, len(out) + 1, aside, body[k:]):
                    assert _try(j, len(out) + 1, aside)
                    out.append(aside)
                else:
                    break
            assert _try(j, len(out) + 1, d), (i, d)
            out.append(d)
    if fault:
        _what, scen, idx, repl = rng.choice(FAULTS)
        body = list(SCENARIOS[scen][1])
        body[idx] = repl
        out += [_fill(x, "xQQ", "QQ", s) for x in body]
    ts = 1_767_225_600.0 + i * 86_400
    for d in out:
        ts += rng.choice((0.0, 0.001, 0.013, 0.25, 1.5, 12.0))
        d["ts"] = round(ts, 3)
    return out


def generate(out: Path, files: int, lines_per_file: int, seed: int,
             bad_share: float = 0.05, pool: int = 100) -> tuple[int, int]:
    """`pool` traces are built (each interjection checked against the spec is what costs);
    file i is trace i % pool with ids of its own (QQ marks where they differ)."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    tables: dict = {}
    built: list[tuple[str, int, bool]] = []
    for i in range(min(files, pool)):
        fault = rng.random() < bad_share
        lines = trace(i, lines_per_file, rng, tables, fault=fault)
        text = "\n".join(json.dumps(d, separators=(",", ":")) for d in lines) + "\n"
        built.append((text, len(lines), fault))
    total = bad = 0
    for i in range(files):
        text, n, fault = built[i % len(built)]
        (out / f"unit-{i:05d}.jsonl").write_text(text.replace("QQ", f"{i:x}g"),
                                                 encoding="utf-8")
        total += n
        bad += fault
    return total, bad


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path)
    p.add_argument("--files", type=int, default=1000)
    p.add_argument("--lines-per-file", type=int, default=1000)
    p.add_argument("--seed", type=int, default=2)
    a = p.parse_args(argv)
    total, bad = generate(a.out, a.files, a.lines_per_file, a.seed)
    print(f"{a.files} files, {total} lines, {bad} with a planted fault, in {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
