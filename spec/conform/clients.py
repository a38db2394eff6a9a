"""Which clients `exovoice conform` can drive, found by name.

spec/ never imports the reference client (the layering of ARCHITECTURE.md): in-process clients
register themselves under the entry-point group `exovoice.clients` (the reference client does
in pyproject.toml), and any other client is driven over the JSON-lines protocol with
`--client-cmd`.
"""

from __future__ import annotations

import shlex
from importlib.metadata import entry_points
from typing import Callable

from .adapter import ClientAdapter

GROUP = "exovoice.clients"


class UnknownClient(LookupError):
    pass


def registered() -> dict[str, Callable[[], ClientAdapter]]:
    """Client name -> factory, for every installed in-process client."""
    out: dict[str, Callable[[], ClientAdapter]] = {}
    for ep in entry_points(group=GROUP):
        out[ep.name] = ep.load
    return out


def adapter_factory(name: str | None = None, cmd: str | None = None) -> Callable[[], ClientAdapter]:
    """A zero-argument factory making a fresh adapter for one scenario."""
    if cmd:
        from .jsonlines import JsonLinesAdapter

        argv = shlex.split(cmd)
        return lambda: JsonLinesAdapter(argv)
    name = name or "reference"
    found = registered()
    if name not in found:
        known = ", ".join(sorted(found)) or "none installed"
        raise UnknownClient(f"no client named {name!r} (known: {known}); "
                            f"use --client-cmd for a client speaking the JSON-lines protocol")
    cls = found[name]()  # the entry point resolves to the adapter class
    return cls  # type: ignore[return-value]
