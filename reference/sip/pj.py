"""The pjsua2 binding, optional, and the plain data the SIP layer hands around.

Kept apart from the endpoint so that a call (reference.sip.call) and the endpoint that owns
it both build on it without importing each other; importing it never fails when pjsua2 is
missing (check HAVE_PJSUA2)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

try:  # pjsua2-python is optional: mapping/stats work without it.
    import pjsua2 as pj

    pj.Endpoint  # noqa: B018 - the package imports lazily; force the binary in now
    HAVE_PJSUA2 = True
    IMPORT_ERROR: str | None = None
except Exception as exc:  # pragma: no cover - depends on the platform
    pj = None  # type: ignore[assignment]
    HAVE_PJSUA2 = False
    IMPORT_ERROR = f"{type(exc).__name__}: {exc}"


EXTRA = "sip"  # the distribution's extra that brings pjsua2 (pyproject.toml)


def missing(what: str) -> str | None:
    """None when pjsua2 is here; otherwise the one line a user needs: what cannot run, why,
    and the install command that fixes it."""
    if HAVE_PJSUA2:
        return None
    return (f"{what} needs the real SIP stack, which is not installed here (pjsua2: "
            f"{IMPORT_ERROR}); install it with: pip install 'exovoice[{EXTRA}]' (the "
            "pjsua2-python wheel exists for Linux x86_64, Python below 3.13)")


class SipError(RuntimeError):
    """A pjsua2 operation failed or did not finish in time."""


@dataclass(frozen=True)
class SipEvent:
    """A pjsua2 callback turned into plain data.

    kind: "incoming" (a new INVITE: call, from_uri, headers), "state" (call, state, code,
    reason, role, net), "media" (call, status list, active), "rxoffer"/"reinvite" (call),
    "stopped"."""

    kind: str
    call: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    t: float = field(default_factory=time.monotonic)

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def as_dict(self) -> dict[str, Any]:
        return {"event": self.kind, "call": self.call, **self.data, "t": round(self.t, 6)}


def parse_headers(msg: str) -> dict[str, str]:
    """Headers of a SIP message (first occurrence wins; compact forms not expanded)."""
    out: dict[str, str] = {}
    for line in msg.split("\r\n")[1:] if "\r\n" in msg else msg.split("\n")[1:]:
        if not line.strip():
            break
        if ":" in line:
            name, value = line.split(":", 1)
            out.setdefault(name.strip(), value.strip())
    return out


def add_headers(prm: Any, headers: dict[str, str] | None) -> None:
    for name, value in (headers or {}).items():
        h = pj.SipHeader()
        h.hName = name
        h.hValue = value
        prm.txOption.headers.append(h)


def err(exc: BaseException) -> str:
    info = getattr(exc, "info", None)
    if callable(info):
        try:
            return str(info())
        except Exception:  # noqa: BLE001
            pass
    return str(exc)


__all__ = ["EXTRA", "HAVE_PJSUA2", "IMPORT_ERROR", "SipError", "SipEvent", "add_headers", "err",
           "missing", "parse_headers", "pj"]
