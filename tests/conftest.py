"""Fixtures shared by test modules."""

from __future__ import annotations

import threading
from typing import Iterator

import pytest


@pytest.fixture
def no_leaks() -> Iterator[None]:
    """The test leaves no thread running that it started."""
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not leaked, f"threads left running: {leaked}"
