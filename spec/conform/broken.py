"""Deliberately broken clients, by their old address: the mutants now live in
exovoice.spec.conform.mutants (one module per area of the guide); this module keeps
`from exovoice.spec.conform.broken import BROKEN` working.

    EXOVOICE_CLIENT=broken:<kind>   or   exovoice conform --client broken:<kind>
"""

from __future__ import annotations

from .mutants import ALL, BROKEN, BrokenClient

__all__ = ["ALL", "BROKEN", "BrokenClient"]
