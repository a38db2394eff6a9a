"""The socket budget's arithmetic (reference.sip.sockets), on a short delay: what it allows,
what it refuses, and that slots come back when the delay has passed. The real thing, against
pjlib, is tests/test_sip_loopback.py's back-to-back dialer."""

from __future__ import annotations

import threading
import time

import pytest

from exovoice.reference.sip.sockets import BASE_SOCKETS, SocketBudget


def test_take_counts_until_the_limit_then_refuses() -> None:
    b = SocketBudget(slots=12, delay_s=10)  # limit 8: 12 less the spare
    assert b.in_use() == BASE_SOCKETS
    for _ in range(3):
        b.take()
    assert b.in_use() == BASE_SOCKETS + 6
    with pytest.raises(OverflowError, match="socket slots in use"):
        b.take()
    assert b.in_use() == BASE_SOCKETS + 6  # a refused take counted nothing
    assert b.short() and not b.short(1)


def test_a_released_call_holds_its_slots_for_the_delay() -> None:
    b = SocketBudget(slots=12, delay_s=0.2)
    for _ in range(3):
        b.take()
    b.release()
    assert b.in_use() == BASE_SOCKETS + 6  # closed, not yet free
    assert 0 < b.free_in() <= 0.2
    time.sleep(0.25)
    assert b.in_use() == BASE_SOCKETS + 4 and b.free_in() == 0.0
    b.take()


def test_wait_returns_when_the_oldest_closed_slots_come_back() -> None:
    b = SocketBudget(slots=12, delay_s=0.15)
    for _ in range(3):
        b.take()
    b.release()
    t0 = time.monotonic()
    b.wait(timeout=2)
    assert time.monotonic() - t0 >= 0.1
    assert b.waits == 1 and b.waited_s > 0.1
    b.take()
    assert b.peak == BASE_SOCKETS + 6


def test_wait_gives_up_when_nothing_will_come_back() -> None:
    b = SocketBudget(slots=12, delay_s=0.1)
    for _ in range(3):
        b.take()  # three calls up: no closed socket to wait for
    with pytest.raises(TimeoutError, match="socket slots in use"):
        b.wait(timeout=5)
    assert b.free_in() == float("inf")


def test_wait_wakes_on_a_release_from_another_thread() -> None:
    b = SocketBudget(slots=12, delay_s=0.05)
    for _ in range(3):
        b.take()
    threading.Timer(0.05, b.release).start()
    with pytest.raises(TimeoutError):
        b.wait(timeout=0.01)  # nothing closed yet
    time.sleep(0.1)
    b.wait(timeout=2)  # released meanwhile, and its delay passed
