"""The paths a command will write, checked before it starts any work.

A report path that cannot be written must fail in the first second with one line naming the
flag and the path (exit 2), not after a whole conformance run with a traceback, and a
directory flag naming a file must never make every scenario look failed.
"""

from __future__ import annotations

import os
from pathlib import Path


class PathProblem(ValueError):
    """A path a command cannot write; the message is the one line to print."""


def _nearest_existing(path: Path) -> Path:
    p = path.absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_file(path: Path, flag: str) -> Path:
    """A file the command will create or overwrite: not a directory, and its directory exists
    (or can be created) and is writable. Creates nothing."""
    path = Path(path)
    if str(path).strip() == "":
        raise PathProblem(f"{flag} is empty: give a file name")
    if path.is_dir():
        raise PathProblem(f"{flag} {path}: is a directory, not a file")
    if path.exists() and not os.access(path, os.W_OK):
        raise PathProblem(f"{flag} {path}: not writable")
    base = _nearest_existing(path.parent)
    if not base.is_dir():
        raise PathProblem(f"{flag} {path}: {base} is a file, not a directory")
    if not os.access(base, os.W_OK | os.X_OK):
        raise PathProblem(f"{flag} {path}: cannot write in {base}")
    return path


def check_dir(path: Path, flag: str, *, create: bool = True) -> Path:
    """A directory the command will write files into: made now if missing (so a mistake is
    found before the work), and writable."""
    path = Path(path)
    if str(path).strip() == "":
        raise PathProblem(f"{flag} is empty: give a directory")
    if path.exists() and not path.is_dir():
        raise PathProblem(f"{flag} {path}: is a file, not a directory")
    base = _nearest_existing(path)
    if not base.is_dir():
        raise PathProblem(f"{flag} {path}: {base} is a file, not a directory")
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise PathProblem(f"{flag} {path}: cannot create it ({e.strerror or e})") from None
    if not os.access(path if path.exists() else base, os.W_OK | os.X_OK):
        raise PathProblem(f"{flag} {path}: not writable")
    return path
