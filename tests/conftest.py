"""Fixtures shared by test modules.

`hygiene` runs around every test: a test may not leave behind a thread, a child process or an
open socket that it started (what module-scoped fixtures start is theirs to stop, and is
checked when they are torn down by the fixtures themselves). Things that are being shut down
get a short grace period, never a sleep of fixed length.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

GRACE = 3.0  # s for a closing thread, process or socket to finish going away


def _children() -> set[int]:
    """Live (not zombie) processes whose parent is this one, from /proc."""
    me, out = os.getpid(), set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1 and fields[1] == str(me) and fields[0] != "Z":
            out.add(int(entry.name))
    return out


def _sockets() -> set[str]:
    """This process's open sockets (their inode names, from /proc/self/fd)."""
    out = set()
    fd_dir = Path("/proc/self/fd")
    for fd in fd_dir.iterdir() if fd_dir.exists() else ():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:"):
            out.add(target)
    return out


def _threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.is_alive()}


@pytest.fixture(autouse=True)
def hygiene() -> Iterator[None]:
    if not Path("/proc/self/fd").exists():  # not Linux: nothing to read it from
        yield
        return
    threads, children, sockets = _threads(), _children(), _sockets()
    yield
    deadline = time.monotonic() + GRACE
    while True:
        left_threads = _threads() - threads
        left_children = _children() - children
        left_sockets = _sockets() - sockets
        if not (left_threads or left_children or left_sockets) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not left_threads, f"threads left running: {sorted(t.name for t in left_threads)}"
    assert not left_children, f"child processes left running: {sorted(left_children)}"
    assert not left_sockets, f"sockets left open: {len(left_sockets)}"


@pytest.fixture
def no_leaks() -> Iterator[None]:
    """The test leaves no thread running that it started (kept for the tests that name it;
    `hygiene` now checks this, child processes and sockets around every test)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + GRACE  # as `hygiene`: a closing thread may finish going
    while True:  # away (a server's worker threads leave when their loop has closed)
        leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not leaked, f"threads left running: {leaked}"


# --- every violation sentence of the whole run, in the guide's words ------------------------
_SENTENCES: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    """The validator's table cache (on by default for `exovoice validate`) in a directory of
    this run's own, not the user's cache, so no test reads what another run compiled.

    Keep every violation sentence the validator writes during the run (every message goes
    through exovoice.spec.validate.words.sentence), so the run can fail on any that names the
    spec's machinery (`pk_idle`, `net_up`, `sdk`...) instead of the guide's words."""
    import tempfile

    from exovoice.spec.validate import words

    if "EXOVOICE_CACHE_DIR" not in os.environ:
        os.environ["EXOVOICE_CACHE_DIR"] = tempfile.mkdtemp(prefix="exovoice-test-cache-")
    original = words.sentence

    def keep(*args: object, **kwargs: object) -> str:
        text = original(*args, **kwargs)  # type: ignore[arg-type]
        _SENTENCES.append(text)
        return text

    words.sentence = keep  # type: ignore[assignment]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from exovoice.spec.validate.words import leaks

    bad = sorted({s for s in _SENTENCES if leaks(s)})
    if bad:
        print(f"\n{len(bad)} violation messages name internal states: " + "\n  ".join(bad[:10]))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
