"""Which clients `exovoice conform` can drive, found by name.

spec/ never imports the reference client (the layering of ARCHITECTURE.md): in-process clients
register themselves under the entry-point group `exovoice.clients` (the reference client does
in pyproject.toml), and any other client is driven over the JSON-lines protocol with
`--client-cmd`. `broken:<fault>` names a mutant: the reference client with one fault, found
through the entry-point group `exovoice.mutants` (exovoice.spec.conform.mutants).
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


MUTANTS_GROUP = "exovoice.mutants"


def registered_mutants() -> dict[str, Callable[[ClientAdapter], ClientAdapter]]:
    """Fault name -> mutant class (it wraps a working adapter), from every installed
    distribution's `exovoice.mutants` entry point (a mapping of fault name to class):
    exovoice registers its own there, so this room never imports the mutants it judges."""
    found: dict[str, Callable[[ClientAdapter], ClientAdapter]] = {}
    for ep in sorted(entry_points(group=MUTANTS_GROUP), key=lambda e: e.name):
        found.update(ep.load())
    return found


def mutant_factory(name: str) -> Callable[[], ClientAdapter]:
    """`broken:<fault>`: the reference client with that mutant's one fault."""
    kind = name.split(":", 1)[1]
    mutants = registered_mutants()
    if kind not in mutants:
        raise UnknownClient(f"unknown mutant {kind!r}: use broken:<fault> with one of "
                            f"{', '.join(sorted(mutants)) or 'none installed'}")
    inner = adapter_factory("reference")
    wrap = mutants[kind]
    return lambda: wrap(inner())


def adapter_factory(name: str | None = None, cmd: str | None = None) -> Callable[[], ClientAdapter]:
    """A zero-argument factory making a fresh adapter for one scenario."""
    if cmd:
        from .jsonlines import JsonLinesAdapter

        argv = shlex.split(cmd)
        return lambda: JsonLinesAdapter(argv)
    name = name or "reference"
    if name.startswith("broken:"):
        return mutant_factory(name)
    found = registered()
    if name not in found:
        known = ", ".join(sorted(found)) or "none installed"
        raise UnknownClient(f"no client named {name!r} (known: {known}); "
                            f"use --client-cmd for a client speaking the JSON-lines protocol")
    cls = found[name]()  # the entry point resolves to the adapter class
    return cls  # type: ignore[return-value]
