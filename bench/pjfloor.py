"""The floor of a SIP call on this machine: two bare pjsua2 endpoints, one process each.

    python bench/pjfloor.py uas                       prints {"port": P}, answers every INVITE 200
    python bench/pjfloor.py uac --target URI --calls N [--warmup W]
                                                      prints {"samples_ms": [...]}

Nothing of exovoice: pjsua2 as its own documentation shows it (its worker thread handles the
network, the callbacks set events the main thread waits on), the null sound device, PCMU, UDP on
127.0.0.1. The UAC times makeCall() -> onCallState(CONFIRMED) for each of N sequential calls
and hangs each up before the next. bench/sip.py runs both and reports every exovoice series
as a ratio to this one.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import threading
import time

import pjsua2 as pj


def endpoint(port: int = 0) -> tuple[pj.Endpoint, int]:
    ep = pj.Endpoint()
    ep.libCreate()
    cfg = pj.EpConfig()
    cfg.logConfig.level = 0
    cfg.logConfig.consoleLevel = 0
    cfg.medConfig.clockRate = 8000
    cfg.medConfig.sndClockRate = 8000
    ep.libInit(cfg)
    tcfg = pj.TransportConfig()
    tcfg.port = port
    tcfg.boundAddress = "127.0.0.1"
    tid = ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
    bound = int(str(ep.transportGetInfo(tid).localName).rsplit(":", 1)[1])
    ep.libStart()
    ep.audDevManager().setNullDev()
    return ep, bound


def account(port: int, user: str) -> pj.AccountConfig:
    acfg = pj.AccountConfig()
    acfg.idUri = f"sip:{user}@127.0.0.1:{port}"
    acfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
    return acfg


class Call(pj.Call):
    def __init__(self, acc: pj.Account, call_id: int = pj.PJSUA_INVALID_ID) -> None:
        super().__init__(acc, call_id)
        self.confirmed = threading.Event()
        self.disconnected = threading.Event()
        self.t_confirmed = 0.0

    def onCallState(self, prm: pj.OnCallStateParam) -> None:  # noqa: N802
        state = self.getInfo().state
        if state == pj.PJSIP_INV_STATE_CONFIRMED:
            self.t_confirmed = time.perf_counter()
            self.confirmed.set()
        elif state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.disconnected.set()


class Answerer(pj.Account):
    """Answers every INVITE 200 at once; keeps the Call until it is over."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Call] = []

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:  # noqa: N802
        self.calls = [c for c in self.calls if not c.disconnected.is_set()]
        gc.collect()  # the ended ones' RTP sockets go back to pjlib (between calls)
        call = Call(self, prm.callId)
        self.calls.append(call)
        op = pj.CallOpParam()
        op.statusCode = 200
        call.answer(op)


def uas() -> int:
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # pjlib's banner
    ep, port = endpoint()
    acc = Answerer()
    acc.create(account(port, "floor"))
    print(json.dumps({"port": port}), file=out, flush=True)
    sys.stdin.read()  # until the parent closes stdin
    acc.calls.clear()
    ep.hangupAllCalls()
    time.sleep(0.2)
    del acc
    ep.libDestroy()
    return 0


def uac(target: str, calls: int, warmup: int) -> int:
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    ep, port = endpoint()
    acc = pj.Account()
    acc.create(account(port, "caller"))
    samples = []
    for i in range(warmup + calls):
        call = Call(acc)
        t0 = time.perf_counter()
        call.makeCall(target, pj.CallOpParam(True))
        if not call.confirmed.wait(10):
            print(json.dumps({"error": f"call {i + 1} not confirmed in 10 s"}), file=out)
            return 1
        if i >= warmup:
            samples.append((call.t_confirmed - t0) * 1000)
        call.hangup(pj.CallOpParam(True))
        call.disconnected.wait(10)
        del call
        gc.collect()
        # pjlib's select ioqueue holds 64 sockets and frees a closed one's slot 500 ms later:
        # back-to-back calls (2 RTP sockets each) exhaust it in ~30 calls and abort the process
        time.sleep(0.04)
    print(json.dumps({"samples_ms": samples}), file=out, flush=True)
    del acc
    ep.libDestroy()
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=("uas", "uac"))
    ap.add_argument("--target")
    ap.add_argument("--calls", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=1)
    a = ap.parse_args(argv)
    if a.mode == "uas":
        return uas()
    if not a.target:
        ap.error("uac needs --target")
    return uac(a.target, a.calls, a.warmup)


if __name__ == "__main__":
    sys.exit(main())
