"""Generate a fleet corpus of trace v1 files for the validator benchmark.

Each file is one device's day: initialize, then a run of call scenarios drawn with realistic
weights (outgoing, incoming, PSTN collisions, CallKit, token expiry, media disruption), each
with fresh call ids and UUIDs. About 5% of files carry one fault taken from the broken
clients the conformance issue names (a dial accepted during a PSTN call, onCallRinging on an
incoming call, a rating of 9 accepted, ...). Every scenario is checked against the spec when
the generator starts, so a corpus never holds an accidental violation.

    python bench/corpus.py OUT_DIR [--files 1000] [--lines-per-file 1000] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from exovoice.spec.validate.compiled import FastJudge  # noqa: E402


def L(kind: str, name: str, call: bool = False, **args: object) -> str:
    d: dict[str, object] = {"kind": kind, "name": name}
    if call:
        d["call"] = "{c}"
    res = args.pop("_result", None)
    if args:
        d["args"] = args
    if res:
        d["result"] = {"error": res}
    return json.dumps(d, separators=(",", ":"))


api = lambda n, call=False, **a: L("api", n, call, **a)  # noqa: E731
cb = lambda n, call=False, **a: L("callback", n, call, **a)  # noqa: E731
env = lambda n: L("env", n)  # noqa: E731
ck = lambda n, **a: L("callkit", n, False, uuid="{u}", **a)  # noqa: E731
st = lambda n: L("state", n, True)  # noqa: E731

DIAL = api("dial", True, remoteId="sip:08040408080", message="order:{c}")
OUT_HEAD = [DIAL, cb("onCallInitiated", True)]
TALK = [api("mute", True), api("unmute", True), api("enableSpeaker", True),
        api("disableSpeaker", True), st("ESTABLISHED")]
HANGUP = [api("hangup", True), cb("onCallEnded", True, endReason="LOCAL_HANGUP")]
FEEDBACK = [api("postFeedback", True, rating=4, issue="NO_ISSUE")]
RELAY = api("relaySessionData", payload="eyJ{c}", payloadVersion=1, subscriberName="{s}")

SCENARIOS: dict[str, tuple[int, list[str]]] = {
    "outgoing": (30, OUT_HEAD + [cb("onCallRinging", True), st("RINGING"),
                                 cb("onCallEstablished", True)] + TALK * 3 + HANGUP + FEEDBACK),
    "outgoing-busy": (6, OUT_HEAD + [cb("onCallRinging", True),
                                     cb("onCallEnded", True, endReason="BUSY")]),
    "outgoing-no-answer": (5, OUT_HEAD + [cb("onCallRinging", True),
                                          cb("onCallEnded", True, endReason="TIMEOUT")]),
    "outgoing-cancel": (4, OUT_HEAD + [cb("onCallRinging", True)] + HANGUP),
    "outgoing-congestion": (2, [DIAL, cb("onCallFailed", True, error="CONGESTION_ERROR")]),
    "incoming": (20, [RELAY, cb("onIncomingCall", True), st("INCOMING"), api("answer", True),
                      cb("onCallEstablished", True)] + TALK * 3
                 + [cb("onCallEnded", True, endReason="REMOTE_HANGUP")] + FEEDBACK),
    "incoming-declined": (5, [RELAY, cb("onIncomingCall", True)] + HANGUP),
    "incoming-caller-gone": (3, [RELAY, cb("onIncomingCall", True),
                                 cb("onCallEnded", True, endReason="REMOTE_HANGUP")]),
    "media": (8, OUT_HEAD + [cb("onCallEstablished", True), cb("onMediaDisrupted", True),
                             st("MEDIA_DISRUPTED"), cb("onRenewingMedia", True),
                             cb("onCallEstablished", True)] + TALK + HANGUP),
    "media-timeout": (2, OUT_HEAD + [cb("onCallEstablished", True), cb("onMediaDisrupted", True),
                                     cb("onCallEnded", True, endReason="MEDIA_TIMEOUT")]),
    "pstn-blocks-dial": (3, [env("pstnRinging"), env("pstnAnswered"),
                             api("dial", remoteId="sip:1", _result="PSTN_CALL_INPROGRESS"),
                             RELAY, cb("onMissedCall", remoteId="sip:alice", time="2026-11-27"),
                             env("pstnEnded")]),
    "pstn-ends-voip": (3, OUT_HEAD + [cb("onCallEstablished", True), env("pstnRinging"),
                                      env("pstnAnswered"),
                                      cb("onCallEnded", True, endReason="PSTN_HANGUP"),
                                      env("pstnEnded")]),
    "pstn-declined": (3, OUT_HEAD + [cb("onCallEstablished", True), env("pstnRinging"),
                                     env("pstnDeclined")] + TALK + HANGUP),
    "token-expiry": (3, [cb("onAuthenticationFailure", error="AUTHENTICATION_EXPIRED_TOKEN"),
                         api("initialize", subscriberName="{s}"),
                         cb("onInitializationSuccess")]),
    "bluetooth": (3, OUT_HEAD + [cb("onCallEstablished", True), env("bluetoothConnected"),
                                 api("enableBluetooth", True), api("disableBluetooth", True),
                                 env("bluetoothDisconnected")] + HANGUP),
}
CALLKIT_SCENARIOS: dict[str, tuple[int, list[str]]] = {
    "ck-outgoing": (20, OUT_HEAD + [ck("CXStartCallAction"),
                                    ck("actionFulfilled", action="CXStartCallAction"),
                                    cb("onCallRinging", True),
                                    ck("reportOutgoingCallStartedConnecting"),
                                    cb("onCallEstablished", True),
                                    ck("reportOutgoingCallConnected")] + TALK
                    + [ck("CXEndCallAction"), api("hangup", True),
                       ck("actionFulfilled", action="CXEndCallAction"),
                       cb("onCallEnded", True, endReason="LOCAL_HANGUP")]),
    "ck-incoming": (15, [ck("voipPushReceived"), RELAY, cb("onIncomingCall", True),
                         ck("reportNewIncomingCall"), ck("voipPushCompleted"),
                         ck("CXAnswerCallAction"), api("answer", True),
                         ck("actionFulfilled", action="CXAnswerCallAction"),
                         cb("onCallEstablished", True)] + TALK
                    + [cb("onCallEnded", True, endReason="REMOTE_HANGUP"),
                       ck("reportCallEnded")]),
    "ck-reject": (5, [RELAY, cb("onIncomingCall", True), ck("reportNewIncomingCall"),
                      ck("CXEndCallAction"), api("hangup", True),
                      ck("actionFulfilled", action="CXEndCallAction"),
                      cb("onCallEnded", True, endReason="LOCAL_HANGUP")]),
    "ck-pstn-hold": (3, OUT_HEAD + [ck("CXStartCallAction"),
                                    ck("actionFulfilled", action="CXStartCallAction"),
                                    cb("onCallEstablished", True),
                                    ck("reportOutgoingCallConnected"), env("pstnRinging"),
                                    ck("CXSetHeldCallAction"),
                                    ck("actionFulfilled", action="CXSetHeldCallAction"),
                                    env("pstnAnswered"), env("pstnEnded"),
                                    ck("CXEndCallAction"), api("hangup", True),
                                    ck("actionFulfilled", action="CXEndCallAction"),
                                    cb("onCallEnded", True, endReason="LOCAL_HANGUP")]),
}

# Faults: (what a broken client does, scenario it is planted in, line index, replacement).
FAULTS: list[tuple[str, str, int, str]] = [
    ("dial accepted during a PSTN call", "pstn-blocks-dial", 2, api("dial", True, remoteId="sip:1")),
    ("onCallRinging on an incoming call", "incoming", 3, cb("onCallRinging", True)),
    ("onIncomingCall for a push during a PSTN call", "pstn-blocks-dial", 4,
     cb("onIncomingCall", True)),
    ("VoIP call kept after the PSTN call was accepted", "pstn-ends-voip", 5,
     cb("onCallEstablished", True)),
    ("onCallEstablished without answer", "incoming", 3, cb("onCallEstablished", True)),
    ("feedback rating 9 accepted", "outgoing", -1, api("postFeedback", True, rating=9, issue="ECHO")),
    ("dial message with a forbidden character", "outgoing", 0,
     api("dial", True, remoteId="sip:1", message="hi there!")),
]


def _fill(lines: list[str], c: str, u: str, s: str) -> list[str]:
    return [ln.replace("{c}", c).replace("{u}", u).replace("{s}", s) for ln in lines]


def _prelude(callkit: bool, s: str) -> list[str]:
    return [L("meta", "trace", version=1, callkit=callkit, client="bench"),
            api("initialize", subscriberName=s), cb("onInitializationSuccess")]


def _judge(lines: list[str], callkit: bool) -> int:
    """0 when the spec allows the lines, else the first failing line number."""
    j = FastJudge(_TABLES, callkit=callkit, complete=True)
    for i, ln in enumerate(lines, 1):
        if not j.feed(i, json.loads(ln)):
            return i
    return 0 if j.finish() else len(lines)


_TABLES: dict = {}


def self_check() -> None:
    for callkit, table in ((False, SCENARIOS), (True, {**SCENARIOS, **CALLKIT_SCENARIOS})):
        for name, (_w, lines) in table.items():
            if callkit and name.startswith("pstn-") and name != "pstn-blocks-dial":
                continue  # with CallKit the user, not the SDK, resolves these collisions
            body = _prelude(callkit, "alice") + _fill(lines, "c1", "u1", "alice") \
                + _fill(lines, "c2", "u2", "alice")
            bad = _judge(body, callkit)
            assert bad == 0, f"scenario {name} (callkit={callkit}) breaks the spec at line {bad}"
    for what, scen, idx, repl in FAULTS:
        lines = list(SCENARIOS[scen][1])
        lines[idx] = repl
        body = _prelude(False, "alice") + _fill(lines, "c1", "u1", "alice")
        assert _judge(body, False) != 0, f"fault {what!r} is not caught"


def generate(out: Path, files: int, lines_per_file: int, seed: int,
             bad_share: float = 0.05) -> tuple[int, int]:
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    total = bad = 0
    for i in range(files):
        fault = rng.random() < bad_share
        callkit = not fault and rng.random() < 0.3  # faults are planted in non-CallKit apps
        table = dict(SCENARIOS)
        if callkit:
            table = {k: v for k, v in table.items()
                     if not (k.startswith("pstn-") and k != "pstn-blocks-dial")}
            table.update(CALLKIT_SCENARIOS)
        names = list(table)
        weights = [table[n][0] for n in names]
        s = f"user{i % 97}"
        body = _prelude(callkit, s)
        n = 0
        while len(body) < lines_per_file:
            n += 1
            name = rng.choices(names, weights)[0]
            body += _fill(table[name][1], f"d{i}c{n}", f"{i:08x}-{n:04x}", s)
        if fault:
            what, scen, idx, repl = rng.choice(FAULTS)
            lines = list(SCENARIOS[scen][1])
            lines[idx] = repl
            body += _fill(lines, f"d{i}x", f"{i:08x}-ffff", s)
            bad += 1
        (out / f"device-{i:05d}.jsonl").write_text("\n".join(body) + "\n", encoding="utf-8")
        total += len(body)
    return total, bad


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path)
    p.add_argument("--files", type=int, default=1000)
    p.add_argument("--lines-per-file", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args(argv)
    self_check()
    total, bad = generate(a.out, a.files, a.lines_per_file, a.seed)
    print(f"{a.files} files, {total} lines, {bad} with a planted fault, in {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
