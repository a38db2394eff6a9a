"""W3C SCXML for a chart (https://www.w3.org/TR/scxml/): <parallel> for the composed
regions, <state> for a region and its states, <transition event target cond>. Conditions use
the Python datamodel of python-statemachine's SCXML reader: `g_a and g_b` over the event's
data, each a named guard of the spec the host evaluates."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from .model import GUARD_PREFIX, ExportChart, ExportState

NS = "http://www.w3.org/2005/07/scxml"


def _cond(guards: tuple[str, ...]) -> str:
    return " and ".join(GUARD_PREFIX + g for g in guards)


def _state(s: ExportState, depth: int, out: list[str]) -> None:
    pad = "  " * depth
    tag = "parallel" if s.parallel else "state"
    attrs = f" id={quoteattr(s.id)}"
    if s.initial and not s.parallel:
        attrs += f" initial={quoteattr(s.initial)}"
    out.append(f"{pad}<{tag}{attrs}>")
    if s.name != s.id:
        out.append(f"{pad}  <!-- {s.name.replace('--', '- -')} -->")
    for t in s.transitions:
        a = f" event={quoteattr(' '.join(t.events))} target={quoteattr(t.target)}"
        if t.guards:
            a += f" cond={quoteattr(_cond(t.guards))}"
        note = f" <!-- {t.rule} -->" if t.rule else ""
        out.append(f"{pad}  <transition{a}/>{note}")
    for c in s.children:
        _state(c, depth + 1, out)
    out.append(f"{pad}</{tag}>")


def to_scxml(c: ExportChart) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           # (no double hyphen may stand inside an XML comment)
           f"<!-- {c.name}: generated from exovoice's spec by `exovoice export`, format "
           "scxml; guards are the spec's, named g_(guard), supplied with each event -->",
           f'<scxml xmlns="{NS}" version="1.0" datamodel="python" name={quoteattr(c.name)} '
           f"initial={quoteattr(c.root.id)}>"]
    _state(c.root, 1, out)
    out.append("</scxml>")
    return "\n".join(out) + "\n"
