"""`exovoice demo`: one real call between two reference phones through the platform
simulator, shown live from every side, then both traces' verdicts and the call detail record
(README, "The demo"). The top room: it starts the backend, the platform and the phones as
processes and reads their JSON lines."""

from .show import main

__all__ = ["main"]
