"""Colour on a terminal, and none anywhere else: not in a pipe, a file or a CI log, and never
when NO_COLOR is set (no-color.org), so every line stays greppable."""

from __future__ import annotations

import os
from typing import Callable, TextIO

CODES = {"red": "31", "green": "32", "yellow": "33", "dim": "2", "bold": "1"}


def colour_on(stream: TextIO | object) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(callable(isatty) and isatty()) and "NO_COLOR" not in os.environ


def painter(stream: TextIO | object) -> Callable[[str, str], str]:
    """paint(text, colour) for `stream`: ANSI colour when it is a terminal, the text as it is
    otherwise."""
    if colour_on(stream):
        return lambda text, c: f"\033[{CODES[c]}m{text}\033[0m"
    return lambda text, c: text
