"""The platform's SIP front: Kamailio spreading INVITEs over N bridge workers, and holding
the door when they are full.

A bridge worker is one `exovoice.reference.platform.sipserver` process: one pjsua2 endpoint,
whose wheel is compiled with PJSUA_MAX_CALLS 4 (two bridged calls) and a 64-socket select
ioqueue that frees a closed socket's slot only 500 ms later (a process opening sockets faster
than that aborts). A worker cannot refuse what reaches it once its slots are taken (pjsua
answers 486 itself, statelessly) and every INVITE it accepts opens two RTP sockets, even one
it refuses. So admission happens here, before any worker sees the call:

* per account: more than `account_rate` INVITEs a second to one exophone (the request URI's
  user: one exophone per account) -> 503 "Rate Limited";
* per worker: a worker gets a call only with fewer than `capacity` calls up on it (dialog
  module profiles, counted from the INVITE to the dialog's end) and at least `gap_ms` since its
  last one (so at most 1000/gap_ms new calls a second: 4 sockets each, freed 500 ms after the
  call, keep it well under 64). A worker that cannot take it is skipped for the next
  (dispatcher, round robin); none can -> 503 "Service Unavailable".

Every refusal carries ``X-Exotel-Reason: CONGESTION_ERROR`` (the SDK reports CONGESTION_ERROR)
and is never a 486. A worker that answers 503 itself is skipped for the next too. A worker that
does not answer within `fr_timer_ms` (killed, hung) is marked inactive and probed with OPTIONS
(pjsua answers them) every second until it answers again; its call goes to the next worker.

Kamailio (Debian package `kamailio`, modules tm, sl, rr, dialog, dispatcher, htable) runs as
a child process with a configuration generated into a temporary directory, listening on
127.0.0.1 only. Record-Route keeps in-dialog requests on it (the dialog module needs them to
count); a caller that sends them without Route headers (sipp's scenarios, to the exophone's
address) is routed to its call's worker by Call-ID. Workers on other machines: list their
addresses (`sip:host:port`) and bind the front to an address they can reach; nothing here
assumes they share a host (see README, "Scaling out").
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Sequence

KAMAILIO = shutil.which("kamailio") or shutil.which("kamailio", path="/usr/sbin:/sbin")
MODULES = next((p for p in ("/usr/lib/x86_64-linux-gnu/kamailio/modules",
                            "/usr/lib/aarch64-linux-gnu/kamailio/modules",
                            "/usr/lib/kamailio/modules", "/usr/local/lib64/kamailio/modules")
                if Path(p, "dispatcher.so").exists()), None)
REASON = "X-Exotel-Reason: CONGESTION_ERROR"


class FrontError(RuntimeError):
    """Kamailio is missing, its configuration was refused, or it did not start."""


def available() -> str | None:
    """None when the front can run here, else why not (one line)."""
    if KAMAILIO is None:
        return "kamailio is not installed (apt-get install kamailio)"
    if MODULES is None:
        return "kamailio's modules (dispatcher.so) were not found"
    return None


def _free_udp_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _bound(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def config(port: int, host: str, workdir: Path, *, workers: int, capacity: int, gap_ms: int,
           account_rate: int, fr_timer_ms: int) -> str:
    """kamailio.cfg for the front (the dispatcher list is `workdir`/dispatcher.list)."""
    return f"""#!KAMAILIO
debug=-1
log_stderror=yes
children=1
auto_aliases=no
listen=udp:{host}:{port}
mpath="{MODULES}"

loadmodule "kex.so"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "ctl.so"
loadmodule "htable.so"
loadmodule "dialog.so"
loadmodule "dispatcher.so"

modparam("ctl", "binrpc", "unix:{workdir}/kamailio_ctl")
modparam("tm", "fr_timer", {fr_timer_ms})
modparam("tm", "fr_inv_timer", 180000)
modparam("rr", "append_fromtag", 1)
modparam("dialog", "dlg_match_mode", 1)
modparam("dialog", "profiles_with_value", "worker")
modparam("dialog", "default_timeout", 7200)
modparam("htable", "htable", "rate=>size=8;autoexpire=5;")
modparam("htable", "htable", "last=>size=6;autoexpire=5;")
modparam("htable", "htable", "calls=>size=12;autoexpire=7200;")
modparam("dispatcher", "list_file", "{workdir}/dispatcher.list")
modparam("dispatcher", "flags", 2)
modparam("dispatcher", "ds_ping_interval", 1)
modparam("dispatcher", "ds_probing_mode", 1)
modparam("dispatcher", "ds_probing_threshold", 1)
modparam("dispatcher", "ds_inactive_threshold", 1)
modparam("dispatcher", "ds_ping_from", "sip:front@{host}:{port}")
modparam("dispatcher", "ds_ping_reply_codes", "class=2;class=4")

request_route {{
    if (!mf_process_maxfwd_header("10")) {{
        sl_send_reply("483", "Too Many Hops");
        exit;
    }}
    if (has_totag()) {{
        dlg_manage();
        if (loose_route()) {{
            route(RELAY);
        }}
        if (is_method("ACK") && t_check_trans()) {{
            t_relay();
            exit;
        }}
        # no Route header: the request went to the exophone's address; its call's worker
        if ($sht(calls=>$ci) != $null) {{
            $du = $sht(calls=>$ci);
            route(RELAY);
        }}
        if (!is_method("ACK")) sl_send_reply("481", "Call Does Not Exist");
        exit;
    }}
    if (is_method("CANCEL")) {{
        if (t_check_trans()) t_relay();
        exit;
    }}
    if (is_method("OPTIONS")) {{
        sl_send_reply("200", "OK");
        exit;
    }}
    if (!is_method("INVITE")) {{
        sl_send_reply("405", "Method Not Allowed");
        exit;
    }}
    if (t_check_trans()) exit;  # a retransmission
    # per account (its exophone): at most {account_rate} INVITEs a second
    $var(acct) = "a:" + $rU + ":" + $Ts;
    if ($shtinc(rate=>$var(acct)) > {account_rate}) {{
        append_to_reply("{REASON}\\r\\n");
        sl_send_reply("503", "Rate Limited");
        exit;
    }}
    if (!ds_select_dst("1", "4")) route(FULL);
    dlg_manage();
    record_route();
    route(PICK);
}}

# the first worker from the current one on that can take a call now, or 503
route[PICK] {{
    $var(tries) = 0;
    while ($var(tries) <= {workers}) {{
        $var(now) = ($TV(s) mod 100000) * 1000 + $TV(u) / 1000;
        $var(last) = $sht(last=>$du);
        get_profile_size("worker", "$du", "$var(load)");
        if ($var(load) < {capacity} && ($var(last) == $null || $var(now) < $var(last)
                || $var(now) - $var(last) >= {gap_ms})) {{
            $sht(last=>$du) = $var(now);
            t_on_failure("FAILOVER");
            t_on_branch("TAKEN");
            route(RELAY);
        }}
        if (!ds_next_dst()) route(FULL);
        $var(tries) = $var(tries) + 1;
    }}
    route(FULL);
}}

route[FULL] {{
    append_to_reply("{REASON}\\r\\n");
    if (is_method("INVITE") && t_lookup_request()) {{
        t_reply("503", "Service Unavailable");
    }} else {{
        sl_send_reply("503", "Service Unavailable");
    }}
    exit;
}}

route[RELAY] {{
    if (!t_relay()) sl_reply_error();
    exit;
}}

# the call's worker, counted in its profile (moved there from a worker it failed over from)
branch_route[TAKEN] {{
    if ($dlg_var(w) != $null) unset_dlg_profile("worker", "$dlg_var(w)");
    set_dlg_profile("worker", "$du");
    $dlg_var(w) = $du;
    $sht(calls=>$ci) = $du;
}}

failure_route[FAILOVER] {{
    if (t_is_canceled()) exit;
    if (t_branch_timeout() && !t_branch_replied()) {{
        ds_mark_dst("ip");  # no answer at all: out of rotation until it answers OPTIONS
    }} else if (!t_check_status("503")) {{
        exit;  # the worker's own answer (busy, no answer, refused token ...) goes back
    }}
    if (!ds_next_dst()) {{
        append_to_reply("{REASON}\\r\\n");
        t_reply("503", "Service Unavailable");
        exit;
    }}
    $var(tries) = 0;
    while ($var(tries) <= {workers}) {{
        $var(now) = ($TV(s) mod 100000) * 1000 + $TV(u) / 1000;
        $var(last) = $sht(last=>$du);
        get_profile_size("worker", "$du", "$var(load)");
        if ($var(load) < {capacity} && ($var(last) == $null || $var(now) < $var(last)
                || $var(now) - $var(last) >= {gap_ms})) {{
            $sht(last=>$du) = $var(now);
            t_on_failure("FAILOVER");
            t_on_branch("TAKEN");
            t_relay();
            exit;
        }}
        if (!ds_next_dst()) break;
        $var(tries) = $var(tries) + 1;
    }}
    append_to_reply("{REASON}\\r\\n");
    t_reply("503", "Service Unavailable");
    exit;
}}
"""


class KamailioFront:
    """Kamailio on `host`:`port` (0: a free port) in front of `workers` (SIP URIs of the
    bridge workers, ``sip:127.0.0.1:5071``). `start()` returns once it listens; `close()`
    stops it and removes its directory. The exophone's address is the front's: ``uri``."""

    def __init__(self, workers: Sequence[str], *, host: str = "127.0.0.1", port: int = 0,
                 user: str = "exotel", capacity: int = 1, gap_ms: int = 50,
                 account_rate: int = 1000, fr_timer_ms: int = 1000) -> None:
        why = available()
        if why is not None:
            raise FrontError(why)
        if not workers:
            raise FrontError("a front needs at least one worker")
        self.workers = list(workers)
        self.host, self.port, self.user = host, port or _free_udp_port(host), user
        self.capacity, self.gap_ms = capacity, gap_ms
        self.account_rate, self.fr_timer_ms = account_rate, fr_timer_ms
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"sip:{self.user}@{self.host}:{self.port}"

    @property
    def workdir(self) -> Path:
        assert self._tmp is not None
        return Path(self._tmp.name)

    def start(self, timeout: float = 10.0) -> "KamailioFront":
        assert KAMAILIO is not None
        self._tmp = tempfile.TemporaryDirectory(prefix="exovoice-front-")
        cfg = self.workdir / "kamailio.cfg"
        cfg.write_text(config(self.port, self.host, self.workdir, workers=len(self.workers),
                              capacity=self.capacity, gap_ms=self.gap_ms,
                              account_rate=self.account_rate, fr_timer_ms=self.fr_timer_ms))
        (self.workdir / "dispatcher.list").write_text(
            "".join(f"1 {w} 0 0\n" for w in self.workers))
        log = open(self.workdir / "kamailio.log", "wb")
        try:
            self.proc = subprocess.Popen(
                [KAMAILIO, "-f", str(cfg), "-DD", "-E", "-m", "32", "-M", "8",
                 "-Y", str(self.workdir), "-P", str(self.workdir / "kamailio.pid")],
                cwd=self.workdir, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while not _bound(self.host, self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log_tail()
                self.close()
                raise FrontError(f"kamailio did not start on {self.host}:{self.port}: {tail}")
            time.sleep(0.05)
        return self

    def log_tail(self, chars: int = 800) -> str:
        try:
            return (self.workdir / "kamailio.log").read_text(errors="replace")[-chars:].strip()
        except (OSError, AssertionError):
            return ""

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "KamailioFront":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
