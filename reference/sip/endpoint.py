"""One pjsua2 Endpoint per process, driven by a single pump thread.

``SipEndpoint(port=0).start()`` creates the pjsua2 library on a dedicated *pump thread*: a UDP
SIP transport bound to 127.0.0.1 (port 0 = an ephemeral port, read back into ``.port``), the
null audio device, one registration-less account (``AccountConfig.idUri`` only, no
registrar), then loops ``libHandleEvents(10 ms)``. Every pjsua2 call in the process runs on
that thread: other threads submit closures with ``run(fn, timeout)`` (a bounded wait) and
receive pjsua2 callbacks as plain ``SipEvent`` objects on ``events`` (a ``queue.Queue``);
``wait_for(pred, timeout)`` pops events until one matches (a bounded wait, never a hang).
``stop()`` hangs up every call, waits (bounded) for their DISCONNECTED, deletes the Call
objects, ``gc.collect()``, ``libDestroy()``, and joins the thread.

What was checked on pjsua2-python 2.15.1 (scripts run by hand; the loopback tests keep the
safe shapes in use):

* ``uaConfig.threadCnt = 0`` + ``mainThreadOnly = True``: pjsua2's "main thread" is the thread
  that called ``libCreate`` (here the pump thread), so every Python callback runs inside our
  ``libHandleEvents`` and never races the pump. ``medConfig.threadCnt = 0`` shares the SIP
  ioqueue, so received RTP is also read inside ``libHandleEvents`` (poll often: 10 ms); the
  null sound device's native clock thread drives the conference bridge that encodes and sends.
* CONFIRMED: calling any pjsua2 function from a thread pjlib does not know (e.g. the test's
  main thread calling ``Endpoint.instance().utilVerifySipUri``) aborts the whole process
  (SIGABRT, "Calling pjlib from unknown/external thread"). Hence the single pump thread;
  ``run()`` executes inline when already on it.
* CONFIRMED: a stale Call object is dangerous. pjsua2 does *not* reset ``Call.getId()`` after
  DISCONNECTED; once pjsua reuses that id (ids rotate over ``uaConfig.maxCalls``, default 4,
  so the 5th call), ``stale.hangup()`` hung up the unrelated live call. So PjCall objects
  never leave this module: the public ``SipCall`` resolves its handle on every command and
  raises SipError("call is over") once the call was reaped.
* CONFIRMED: a Call that outlives ``libDestroy`` aborts the process when it is finally freed
  (``pjsua_call_set_user_data`` assertion, pjsua's max_calls is 0 by then). Even a leftover
  loop variable in the shutdown code was enough; ``stop()`` hangs up, waits (bounded) for
  DISCONNECTED, drops every reference, ``gc.collect()``s, and only then calls libDestroy.
* CONFIRMED (found under load on the platform): a Call must be released *inside* its own
  ``onCallState(DISCONNECTED)``, not after ``libHandleEvents`` returns. One libHandleEvents
  can also accept a new INVITE, and pjsua gives it the call id just freed; pjsua2's ``~Call``
  then clears that id's user data and hangs it up (pjsip/pjproject#3856): the new caller got
  603 and its callbacks were lost. Released in the callback, the id is still the dying
  call's own (pjsua frees the slot only after the callback); the callback frame still holds
  ``self``, so the object itself goes when the callback returns, which does not crash.
* ``libDestroy()`` spends a fixed ~1.0 s on a network grace period; with every call already
  disconnected and no registration, ``libDestroy(PJSUA_DESTROY_NO_NETWORK)`` takes ~10 ms, so
  ``stop()`` uses it then (and the plain form when some call did not end in time).
* pjlib logs to **stdout** from ``libCreate`` onwards (five lines at level 4, before any
  EpConfig can lower the level); ``libInit`` then honours ``logConfig.consoleLevel`` (0 here).
  A process whose stdout carries data (exovoice.reference.sip.peer) moves fd 1 to stderr first.
* ``start()``/``stop()`` can be repeated in one process (libCreate after libDestroy works;
  three cycles checked, the SIP port is free again after each), but only one endpoint may be
  live at a time: one process = one SIP party (two parties = two processes, see
  exovoice.reference.sip.peer). RTP ports come from pjsua's default 4000+ range (4000, 4002...).
"""

from __future__ import annotations

import collections
import contextlib
import gc
import itertools
import os
import queue
import socket
import sys
import threading
import time
import weakref
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from .call import PjAccount, PjCall, SipCall
from .sockets import SOCKETS_PER_CALL, SocketBudget
from .pj import HAVE_PJSUA2, IMPORT_ERROR, SipError, SipEvent, add_headers, err, parse_headers, pj

_active_lock = threading.Lock()
_active: "SipEndpoint | None" = None


MAX_CALLS = 32  # asked for; the pjsua2-python wheel is built with PJSUA_MAX_CALLS 4 and clamps
CALL_SLOTS = 4  # what that wheel really holds: pjsua answers an INVITE finding none 486 itself


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """fd 1 points at stderr meanwhile: pjlib writes its start-up lines to the process's
    stdout, which belongs to whoever runs us (a CLI's report, a JSON-lines channel)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


@dataclass(frozen=True)
class CommandHop:
    """One command's way through the pump (time.monotonic(), comparable across processes on
    one machine): posted by another thread, picked up by the pump, done. `waited_poll`: it was
    posted while a libHandleEvents poll was under way and that poll ran to its timeout with
    nothing to handle, i.e. nothing woke the pump for it and the command waited the poll out."""

    name: str
    posted: float
    picked: float
    done: float
    waited_poll: bool


class SipEndpoint:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        user: str = "exovoice",
        log_level: int = 0,
        log_file: str | None = None,
        codecs: tuple[str, ...] = ("PCMU/8000/1", "PCMA/8000/1"),
        rtp_port: int = 0,
        poll_ms: int = 10,
    ) -> None:
        self.host = host
        self.port = port
        # how long one libHandleEvents waits for network events; posted commands do not wait
        # it out (_wake), so it bounds only how often the RTP and timers are looked at
        self.poll_ms = poll_ms
        self.user = user
        self.log_level = log_level
        self.log_file = log_file
        self.codecs = codecs
        self.rtp_port = rtp_port
        self.events: "queue.Queue[SipEvent]" = queue.Queue()
        self._cmds: "queue.Queue[tuple[Callable[[], Any], Future, float]]" = queue.Queue()
        # the last commands' hops through the pump (bench/sip.py --timeline reads them)
        self.timeline: collections.deque[CommandHop] = collections.deque(maxlen=2048)
        self._poll: tuple[float, float, int] = (0.0, 0.0, 1)  # last poll: start, end, events
        self._wake_sock: socket.socket | None = None  # see _wake
        self._wake_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._start_error: BaseException | None = None
        self._ids = itertools.count(1)
        # Owned by the pump thread only:
        self._ep: Any = None
        self._acc: Any = None
        self._calls: dict[str, Any] = {}  # handle -> pjsua2 Call subclass
        self._dead: list[weakref.ref] = []  # Calls released in DISCONNECTED, to see go
        self._holding: set[str] = set()  # calls whose RTP/RTCP sockets the budget counts
        self.sockets = SocketBudget()  # pjlib's ioqueue slots, counted (reference.sip.sockets)
        self.collections = 0  # full collections a released Call still alive needed
        self._clean = True
        self.handles: dict[str, Any] = {}  # handle -> SipCall (the public proxy)

    # ---- life cycle -------------------------------------------------------------------
    @property
    def uri(self) -> str:
        return f"sip:{self.user}@{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> "SipEndpoint":
        global _active
        if not HAVE_PJSUA2:
            raise SipError(f"pjsua2 is not importable: {IMPORT_ERROR}")
        with _active_lock:
            if _active is not None:
                raise SipError("one pjsua2 Endpoint per process: stop the other one first")
            _active = self
        self._thread = threading.Thread(target=self._pump, name="pjsua2-pump", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise SipError("pjsua2 endpoint did not start in time")
        if self._start_error is not None:
            self._thread.join(timeout)
            with _active_lock:
                _active = None
            raise SipError(f"pjsua2 endpoint failed to start: {self._start_error}")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        global _active
        if self._thread is None:
            return
        self._stop.set()
        self._wake()
        self._thread.join(timeout)
        with self._wake_lock:
            if self._wake_sock is not None:
                self._wake_sock.close()
                self._wake_sock = None
        alive = self._thread.is_alive()
        self._thread = None
        with _active_lock:
            if _active is self:
                _active = None
        if alive:
            raise SipError("pjsua2 pump thread did not stop in time")

    def __enter__(self) -> "SipEndpoint":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    # ---- commands and events ------------------------------------------------------------
    def on_pump(self) -> bool:
        return threading.current_thread() is self._thread

    def run(self, fn: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Run fn on the pump thread and return its result (re-raising its exception)."""
        if self.on_pump():
            return fn()
        if not self.running:
            raise SipError("endpoint is not running")
        fut: Future = Future()
        self._cmds.put((fn, fut, time.monotonic()))
        self._wake()
        try:
            return fut.result(timeout)
        except FutureTimeout:
            fut.cancel()
            raise SipError(f"pjsua2 command timed out after {timeout}s") from None

    def _wake(self) -> None:
        """Cut the pump's poll short: a CRLF keep-alive (RFC 5626) to our own SIP port makes
        libHandleEvents return now, so a posted command runs at once instead of waiting out
        the 10 ms poll (pjsip takes a bare CRLF on UDP as a keep-alive and drops it)."""
        with self._wake_lock:
            if self._wake_sock is None:
                self._wake_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock = self._wake_sock
        try:
            sock.sendto(b"\r\n\r\n", (self.host, self.port))
        except OSError:
            pass  # the poll still ends by itself

    def emit(self, kind: str, call: str | None = None, **data: Any) -> None:
        ev = SipEvent(kind, call, data)
        handle = self.handles.get(call) if call else None
        if handle is not None:
            handle._record(ev)
        self.events.put(ev)

    def wait_for(
        self, pred: Callable[[SipEvent], bool], timeout: float = 5.0, *, keep: list | None = None
    ) -> SipEvent:
        """Pop events until one satisfies pred; events passed over go to `keep` if given."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SipError(f"no matching SIP event within {timeout}s")
            try:
                ev = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if pred(ev):
                return ev
            if keep is not None:
                keep.append(ev)

    def drain(self) -> list[SipEvent]:
        out = []
        while True:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                return out

    # ---- calls ----------------------------------------------------------------------------
    def make_call(self, uri: str, headers: dict[str, str] | None = None, timeout: float = 5.0):
        """Place an outgoing call (INVITE) to `uri` with extra SIP headers; returns a SipCall.
        Off the pump, a dial that pjlib's socket slots cannot take yet waits (within
        `timeout`) until they come back instead of aborting the process (reference.sip.sockets).
        """
        if not self.on_pump():
            try:
                self.sockets.wait(timeout)
            except TimeoutError as exc:
                raise SipError(f"makeCall({uri}) refused: {exc}") from None

        def go():
            try:
                self.sockets.take()
            except OverflowError as exc:
                raise SipError(f"makeCall({uri}) refused: {exc}") from None
            handle = f"c{next(self._ids)}"
            self._holding.add(handle)
            sip_call = SipCall(self, handle, "uac", remote_uri=uri)
            pjc = PjCall(self, handle, self._acc)
            self._calls[handle] = pjc
            self.handles[handle] = sip_call
            prm = pj.CallOpParam(True)
            add_headers(prm, headers)
            try:
                pjc.makeCall(uri, prm)
            except Exception as exc:
                self._calls.pop(handle, None)
                self._release(handle)
                raise SipError(f"makeCall({uri}) failed: {err(exc)}") from None
            return sip_call

        return self.run(go, timeout)

    def calls(self) -> list[str]:
        return self.run(lambda: list(self._calls))

    @property
    def slots_in_use(self) -> int:
        """pjsua call slots taken now, a call on its way down included until its
        DISCONNECTED (when pjsua frees the slot). Read from any thread: a dict's size, no
        pjsua call."""
        return len(self._calls)

    def _incoming(self, call_id: int, rdata: Any) -> None:

        handle = f"c{next(self._ids)}"
        self.sockets.count()  # pjsua opened its media before handing us the INVITE
        self._holding.add(handle)
        pjc = PjCall(self, handle, self._acc, call_id)
        self._calls[handle] = pjc
        msg = str(rdata.wholeMsg)
        headers = parse_headers(msg)
        sip_call = SipCall(self, handle, "uas", remote_uri=str(rdata.info))
        self.handles[handle] = sip_call
        self.emit(
            "incoming",
            handle,
            from_uri=headers.get("From", ""),
            source=str(rdata.srcAddress),
            headers=headers,
        )

    def _call_ended(self, handle: str) -> None:
        """From the call's own onCallState(DISCONNECTED): release it now (module docstring:
        the id is still its own). pjsua has closed its media sockets by now."""
        pjc = self._calls.pop(handle, None)
        proxy = self.handles.get(handle)
        if pjc is not None and proxy is not None:
            proxy._final_stats = pjc.last_stats
        if pjc is not None:
            self._dead.append(weakref.ref(pjc))
        self._release(handle)

    def _release(self, handle: str) -> None:
        if handle in self._holding:
            self._holding.discard(handle)
            self.sockets.release(SOCKETS_PER_CALL)

    # ---- the pump thread -----------------------------------------------------------------
    def _pump(self) -> None:
        try:
            self._create()
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            self._start_error = exc
            self._destroy()
            self._ready.set()
            return
        self._ready.set()
        try:
            while not self._stop.is_set():
                self._step(self.poll_ms)
        finally:
            self._shutdown()

    def _step(self, wait_ms: int = 10) -> None:
        started, ended, events = self._poll
        while True:
            try:
                fn, fut, posted = self._cmds.get_nowait()
            except queue.Empty:
                break
            if not fut.set_running_or_notify_cancel():
                continue
            picked = time.monotonic()
            try:
                fut.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                fut.set_exception(exc)
            self.timeline.append(CommandHop(
                getattr(fn, "__qualname__", "command"), posted, picked, time.monotonic(),
                waited_poll=events == 0 and started <= posted < ended))
        t = time.monotonic()
        # Every INVITE a poll lets in gets two media sockets from pjsua before anyone can
        # refuse it, up to one call per free pjsua call slot: while that worst case would not
        # fit pjlib's socket slots, the pump does not poll but waits for closed ones to come
        # back (reference.sip.sockets). INVITEs wait in the kernel's buffer meanwhile (or are
        # retransmitted), a flood slows down instead of aborting the process.
        incoming = SOCKETS_PER_CALL * max(0, CALL_SLOTS - len(self._calls))
        hold = self.sockets.free_in(incoming)
        # (only for slots that do come back: were the count ever off, polling on is better
        # than a pump that never polls again)
        if 0 < hold <= self.sockets.delay_s:
            self.sockets.holds += 1
            time.sleep(min(hold, wait_ms / 1000))
            self._poll = (t, time.monotonic(), 0)
            return
        # the number of events handled: 0 when the poll ran to its timeout
        n = self._ep.libHandleEvents(wait_ms)
        self._poll = (t, time.monotonic(), n if isinstance(n, int) else 1)
        if self._dead:
            # The Calls were released in their DISCONNECTED callbacks (_call_ended) and go
            # when the callback returns: nothing else holds them (measured on every process
            # of bench/sip.py: no pjsua2 object was ever in the collector's garbage). Should
            # one still be alive, in a cycle some application made, it must not be freed by an
            # automatic collection in whatever thread allocates (pjsua2 from a thread pjlib
            # does not know aborts), so it is collected here, on the pump. Only then: a full
            # collection of an application's heap is tens of ms the next call would wait for.
            # (Running one after every call used to hide that a fast dialer exhausts pjlib's
            # socket slots; reference.sip.sockets counts them now.)
            alive = any(r() is not None for r in self._dead)
            self._dead.clear()
            if alive:
                self.collections += 1
                gc.collect()

    def _create(self) -> None:
        self.sockets = SocketBudget()  # a new library, a new ioqueue
        self._holding.clear()
        ep = pj.Endpoint()
        self._ep = ep
        with _stdout_to_stderr():  # pjlib's banner, printed before the log level applies
            ep.libCreate()
            self._init(ep)

    def _init(self, ep: Any) -> None:
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.mainThreadOnly = True
        # CONFIRMED: the wheel's pjsua is compiled with PJSUA_MAX_CALLS 4 and silently
        # clamps this, so a process holds at most 4 calls (the platform: 2 bridged calls);
        # the 5th makeCall fails with PJ_ETOOMANY and pjsua itself refuses a 5th INVITE.
        cfg.uaConfig.maxCalls = MAX_CALLS
        cfg.uaConfig.userAgent = "exovoice-reference"
        cfg.logConfig.level = self.log_level
        cfg.logConfig.consoleLevel = self.log_level if not self.log_file else 0
        if self.log_file:
            cfg.logConfig.filename = self.log_file
        cfg.medConfig.threadCnt = 0
        cfg.medConfig.noVad = True  # silence is still sent as RTP: the far side sees a flow
        cfg.medConfig.clockRate = 8000
        cfg.medConfig.sndClockRate = 8000
        ep.libInit(cfg)
        tcfg = pj.TransportConfig()
        tcfg.port = self.port
        tcfg.boundAddress = self.host
        tid = ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
        local = str(ep.transportGetInfo(tid).localName)
        self.port = int(local.rsplit(":", 1)[1])
        ep.libStart()
        ep.audDevManager().setNullDev()
        for prio, codec in enumerate(self.codecs):
            ep.codecSetPriority(codec, 255 - prio)

        acfg = pj.AccountConfig()
        acfg.idUri = self.uri
        acfg.mediaConfig.transportConfig.boundAddress = self.host
        acfg.mediaConfig.transportConfig.publicAddress = self.host
        if self.rtp_port:
            acfg.mediaConfig.transportConfig.port = self.rtp_port
        acfg.sipConfig.contactForced = f"<sip:{self.user}@{self.host}:{self.port}>"
        acc = PjAccount(self)
        acc.create(acfg)
        self._acc = acc

    def _shutdown(self, timeout: float = 3.0) -> None:
        self._clean = True
        try:
            if self._calls:
                for pjc in list(self._calls.values()):
                    pjc.local_hangup = True
                # A loop variable is a reference too: a Call that outlives libDestroy aborts
                # the process (pjsua_call_set_user_data assertion) - found the hard way.
                del pjc
                self._ep.hangupAllCalls()
                deadline = time.monotonic() + timeout
                while self._calls and time.monotonic() < deadline:
                    self._step(10)
                self._clean = not self._calls
        except Exception:  # noqa: BLE001 - shutting down regardless
            self._clean = False
        finally:
            # Fail what is still queued so no caller waits for the full timeout.
            while True:
                try:
                    _fn, fut, _posted = self._cmds.get_nowait()
                except queue.Empty:
                    break
                if fut.set_running_or_notify_cancel():
                    fut.set_exception(SipError("endpoint stopped"))
            self._destroy()
            self.emit("stopped")

    def _destroy(self) -> None:
        self._calls.clear()
        self._dead.clear()
        self._holding.clear()
        acc, self._acc = self._acc, None
        if acc is not None:
            try:
                acc.shutdown()
            except Exception:  # noqa: BLE001
                pass
            del acc
        gc.collect()
        ep, self._ep = self._ep, None
        if ep is not None:
            try:
                # Every call ended cleanly (and there is no registration to undo): skip
                # pjsua_destroy's fixed ~1 s network grace period. Otherwise give the
                # remaining BYEs their chance.
                ep.libDestroy(pj.PJSUA_DESTROY_NO_NETWORK if self._clean else 0)
            except Exception:  # noqa: BLE001
                pass
            del ep
        gc.collect()
