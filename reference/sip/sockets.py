"""The socket budget of one pjsua2 process: pjlib's select ioqueue, counted before it aborts.

The pjsua2-python wheel's ioqueue holds PJ_IOQUEUE_MAX_HANDLES = 64 sockets and gives a closed
socket's slot back only PJ_IOQUEUE_KEY_FREE_DELAY = 500 ms later. Registering one more socket
than that is an assertion (``pj_ioqueue_register_sock2: !pj_list_empty(&ioqueue->free_list)``),
which aborts the whole process. Every call opens two (its RTP and RTCP sockets): an outgoing one
at makeCall, an incoming one before pjsua hands us its INVITE, even one we then refuse. So a
process placing calls back to back faster than ~30 a second, or taking INVITEs that fast,
dies; measured with bench/sip.py, whose dialing client aborted near its 27th call once nothing
else slowed it down.

`SocketBudget` is the count pjlib does not expose: sockets open now plus sockets closed less
than the free delay ago. An outgoing call *waits* until its two fit (bounded, until the oldest
closed ones come back: a dial that would have aborted the process waits instead) and *takes*
them on the pump just before makeCall. An incoming call is *counted* as it arrives: it cannot
be waited for, so a platform refuses new INVITEs while `short()` says so (see
reference.platform.sip), and the pump does not poll the network while the INVITEs one poll
may let in could not have theirs, so a flood of INVITEs slows down instead of aborting the
process. A call's sockets are *released* at its DISCONNECTED, when pjsua closes them, and
count until the delay passed.
"""

from __future__ import annotations

import collections
import threading
import time

IOQUEUE_SLOTS = 64  # PJ_IOQUEUE_MAX_HANDLES of the wheel's select ioqueue
FREE_DELAY_S = 0.5  # PJ_IOQUEUE_KEY_FREE_DELAY: a closed socket's slot comes back this late
MARGIN_S = 0.1  # the delay is measured from pjlib's close, a little before our callback sees it
SOCKETS_PER_CALL = 2  # RTP and RTCP
BASE_SOCKETS = 1  # the SIP UDP transport
SPARE_SOCKETS = 4  # never planned for: what an INVITE arriving meanwhile may take


class SocketBudget:
    """Thread-safe: waits come from the threads that dial; takes, counts and releases from
    the pump thread."""

    def __init__(self, slots: int = IOQUEUE_SLOTS, delay_s: float = FREE_DELAY_S + MARGIN_S
                 ) -> None:
        self.limit = slots - SPARE_SOCKETS
        self.delay_s = delay_s
        self._open = BASE_SOCKETS
        self._closed: collections.deque[tuple[float, int]] = collections.deque()  # (free at, n)
        self._closing = 0  # sockets in _closed
        self._cond = threading.Condition()
        self.peak = BASE_SOCKETS  # the most this process ever had counted at once
        self.waits = 0  # dials that had to wait for slots to come back
        self.holds = 0  # polls the pump put off for want of slots for INVITEs (the endpoint)
        self.waited_s = 0.0

    @property
    def open(self) -> int:
        """Sockets counted open now (the SIP transport's included): back to BASE_SOCKETS once
        every call ended."""
        with self._cond:
            return self._open

    def in_use(self, now: float | None = None) -> int:
        with self._cond:
            self._expire(time.monotonic() if now is None else now)
            return self._open + self._closing

    def short(self, n: int = SOCKETS_PER_CALL) -> bool:
        """Would `n` more sockets now go past the limit?"""
        with self._cond:
            self._expire(time.monotonic())
            return not self._fits(n)

    def free_in(self, n: int = SOCKETS_PER_CALL) -> float:
        """Seconds until `n` more sockets fit (0: now). What a caller that wants to place a
        call without waiting inside the dial can wait out first."""
        with self._cond:
            now = time.monotonic()
            self._expire(now)
            need = self._open + self._closing + n - self.limit
            for free_at, k in self._closed:
                if need <= 0:
                    break
                need -= k
                if need <= 0:
                    return max(0.0, free_at - now)
            return 0.0 if need <= 0 else float("inf")

    def wait(self, timeout: float, n: int = SOCKETS_PER_CALL) -> None:
        """Block until `n` more sockets fit; TimeoutError when they do not within `timeout`
        (calls that are up hold theirs: nothing comes back to wait for). The dialing thread
        waits here, before it hands makeCall to the pump, which then `take`s them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            started = time.monotonic()
            waited = False
            while True:
                now = time.monotonic()
                self._expire(now)
                if self._fits(n):
                    break
                left = deadline - now
                if left <= 0 or not self._closed:
                    raise TimeoutError(self._full())
                waited = True
                self._cond.wait(min(left, max(0.001, self._closed[0][0] - now)))
            if waited:
                self.waits += 1
                self.waited_s += time.monotonic() - started

    def take(self, n: int = SOCKETS_PER_CALL) -> None:
        """Count `n` sockets a call is about to open; OverflowError, and nothing counted, when
        they do not fit (the call must not be placed: pjlib would abort the process)."""
        with self._cond:
            self._expire(time.monotonic())
            if not self._fits(n):
                raise OverflowError(self._full())
            self._take(n)

    def count(self, n: int = SOCKETS_PER_CALL) -> None:
        """Sockets pjsua already opened (an incoming call's), whether or not they fit."""
        with self._cond:
            self._expire(time.monotonic())
            self._take(n)

    def release(self, n: int = SOCKETS_PER_CALL) -> None:
        """A call's sockets were closed now; their slots come back after the delay."""
        with self._cond:
            self._open -= n
            self._closed.append((time.monotonic() + self.delay_s, n))
            self._closing += n
            self._cond.notify_all()

    def _fits(self, n: int) -> bool:
        return self._open + self._closing + n <= self.limit

    def _full(self) -> str:
        return (f"{self._open + self._closing} of pjlib's {IOQUEUE_SLOTS} socket slots in use "
                f"(open, or closed less than {FREE_DELAY_S}s ago)")

    def _take(self, n: int) -> None:
        self._open += n
        self.peak = max(self.peak, self._open + self._closing)

    def _expire(self, now: float) -> None:
        while self._closed and self._closed[0][0] <= now:
            self._closing -= self._closed.popleft()[1]
