"""A violation in the guide's words: what the client did, where it was, why the spec refuses
it, and the few things the guide allows there instead, in one sentence.

The charts name their states with ids a reader of the guide has never seen (`pk_idle`,
`net_up`, `sdk`); a person fixing a client reads the guide's words: call states by their
CallState, API calls with (), callbacks by their names. So everything a person reads is
rendered here, from the states' own display names in the spec (`State.name`), and the ids
stay in the JSON fields machines read.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable, Sequence

from ..base import SpecViolation
from ..charts.model import ClientModel, transitions_of
from ..vocabulary import INTERNAL_EVENTS, OBSERVABLE_EVENTS, Kind

MAX_ALTERNATIVES = 5
"""How many alternatives a message names: enough to show the way, few enough to read."""


@lru_cache(maxsize=1)
def _states() -> dict[str, tuple[str, str, bool]]:
    """state id -> (its region's name, its own name, is it the region's start state)."""
    out: dict[str, tuple[str, str, bool]] = {}
    for region in ClientModel.client.states:  # type: ignore[attr-defined]
        for s in region.states:
            out[s.id] = (region.id, s.name, bool(s.initial))
    return out


@lru_cache(maxsize=1)
def _region_names() -> dict[str, str]:
    return {r.id: r.name for r in ClientModel.client.states}  # type: ignore[attr-defined]


@lru_cache(maxsize=1)
def internal_names() -> frozenset[str]:
    """Every name of the spec's machinery a person must never be shown: the state ids that
    are not words (`pk_idle`, `no_call`, `sdk`) and the unobserved network events."""
    ids = {s.id for s in ClientModel.states_map.values() if "_" in s.id}
    return frozenset(ids | set(INTERNAL_EVENTS) | {"sdk"})


_INTERNAL_RE: re.Pattern[str] | None = None


def leaks(text: str) -> list[str]:
    """The internal names found in a text meant for a person (empty when it is clean)."""
    global _INTERNAL_RE
    if _INTERNAL_RE is None:
        alts = "|".join(sorted(map(re.escape, internal_names()), key=len, reverse=True))
        _INTERNAL_RE = re.compile(rf"(?<![A-Za-z0-9_])(?:{alts})(?![A-Za-z0-9_])")
    return sorted(set(_INTERNAL_RE.findall(text)))


@lru_cache(maxsize=1)
def unobservable_states() -> frozenset[str]:
    """States only an unobserved network step enters (EARLY, CONNECTING): a trace never
    shows the client arriving there."""
    entered: dict[str, set[bool]] = {}
    for t, _spec in transitions_of(ClientModel):
        if t.target is None or t.target.id == t.source.id:
            continue
        for e in t.events:
            entered.setdefault(t.target.id, set()).add(str(e) in INTERNAL_EVENTS)
    return frozenset(sid for sid, how in entered.items() if how == {True})


def event_words(name: str) -> str:
    """How the guide writes an event: API calls with (), everything else by its name."""
    return f"{name}()" if OBSERVABLE_EVENTS.get(name) == Kind.API else name


def where_words(leaf_states: Iterable[str]) -> str:
    """One configuration, in the guide's words: the client's lifecycle and its call state,
    then only the regions that are not at rest (a PSTN call in progress, the network lost),
    since "no Bluetooth device, network up, no push" tells a reader nothing."""
    info = _states()
    regions = _region_names()
    parts: list[str] = []
    for sid in leaf_states:
        region, name, initial = info.get(sid, ("", sid, False))
        if region == "lifecycle":
            parts.insert(0, f"client {name}")
        elif region == "call":
            parts.append("no call" if sid == "no_call" else f"call {name}")
        elif not initial and region:
            label = regions[region]
            said = label.split()[0].lower() in name.lower()
            parts.append(name if said else f"{label}: {name}")
    return ", ".join(parts)


def did_words(kind: str, name: str, args: dict | None, result: str) -> str:
    """What the line says the client (or the world around it) did."""
    shown = ", ".join(f"{k}={v}" for k, v in sorted((args or {}).items())
                      if k in ("endReason", "error", "issue", "rating", "action"))
    if kind == Kind.API.value:
        what = f"{name}({shown})"
        return f"{what} was accepted" if result == "ok" else f"{what} was refused with {result}"
    if kind == Kind.CALLBACK.value:
        return f"the SDK called {name}" + (f" ({shown})" if shown else "")
    if kind == Kind.STATE.value:
        return f"getCallState() returned {name}"
    if kind == Kind.ENV.value:
        return f"the phone reported {name}"
    if kind == Kind.CALLKIT.value:
        return f"CallKit saw {name}" + (f" ({shown})" if shown else "")
    return f"{name} happened"


def _clauses(detail: str) -> list[str]:
    """The reasons the guards gave, each once, in order (two regions refusing for the same
    reason must not say it twice)."""
    return list(dict.fromkeys(c.strip() for c in detail.split("; ") if c.strip()))


@lru_cache(maxsize=None)
def _home_regions(event: str) -> frozenset[str]:
    """The regions an event's transitions live in."""
    out = set()
    for t, _spec in transitions_of(ClientModel, event):
        region = _states().get(t.source.id, (None,))[0]
        if region:
            out.add(region)
    return frozenset(out)


def rank_alternatives(event: str, allowed: Sequence[str], active_regions: Iterable[str] = ()
                      ) -> list[str]:
    """The allowed events most relevant to a reader who did `event`: those that move the
    same part of the client (a callback out of the call state when a call callback was
    wrong), then those of the same kind (API or callback), in the spec's order."""
    home = _home_regions(event)
    kind = OBSERVABLE_EVENTS.get(event)
    scored = []
    for i, ev in enumerate(allowed):
        if ev in INTERNAL_EVENTS:
            continue
        score = 0
        if _home_regions(ev) & home:
            score += 2
        if OBSERVABLE_EVENTS.get(ev) == kind:
            score += 1
        scored.append((-score, i, ev))
    return [ev for _s, _i, ev in sorted(scored)][:MAX_ALTERNATIVES]


def cite(rule: str, section: str) -> str:
    where = f"§{section}" if section[:1].isdigit() else section
    return f"{rule}, guide {where}" if section not in ("-", "") else rule


def sentence(did: str, where: str, why: Iterable[str], alternatives: Sequence[str],
             rule: str, section: str) -> str:
    """The one sentence a violation is reported in."""
    text = did
    if where:
        text += f" while {where}"
    reasons = [w for w in why if w]
    if reasons:
        text += ", but " + "; ".join(reasons)
    if alternatives:
        text += "; here the guide allows " + or_list(list(map(event_words, alternatives)))
    return f"{text} ({cite(rule, section)})"


def or_list(items: list[str]) -> str:
    """a, b or c."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def violation_sentence(err: SpecViolation, kind: str, name: str, args: dict | None,
                       result: str, configs: Sequence[Sequence[str]], allowed: Sequence[str],
                       rule: str, section: str) -> tuple[str, list[str]]:
    """The sentence for a line the spec refused, and the alternatives it names."""
    # a state line's reason already lists the states the call could be in
    where = "" if kind == Kind.STATE.value else merged_where(configs)
    reasons = [_readable(c, name) for c in _clauses(err.detail)]
    must_refuse = kind == Kind.API.value and result == "ok" and any(
        "must be refused" in r for r in reasons)
    # an accepted call the spec must refuse: the refusal is the alternative, and it is said
    alts = [] if must_refuse else rank_alternatives(name, allowed)
    return sentence(did_words(kind, name, args, result), where, reasons, alts, rule,
                    section), alts


def merged_where(configs: Sequence[Sequence[str]]) -> str:
    """Where the client could have been, as one phrase: configurations that differ only in
    the call state are said once ("client initialized, call OUTGOING_INITIATED, EARLY or
    CONNECTING"), the ones a trace can show first."""
    hidden = unobservable_states()
    ordered = sorted(configs, key=lambda c: bool(hidden & set(c)))
    calls: list[str] = []
    rests: set[tuple[str, ...]] = set()
    for c in ordered:
        call = next((sid for sid in c if _states().get(sid, ("",))[0] == "call"), None)
        rest = tuple(sid for sid in c if sid != call)
        rests.add(rest)
        word = "no call" if call in (None, "no_call") else _states()[call][1]
        if word not in calls:
            calls.append(word)
    if len(rests) == 1 and len(calls) > 1 and "no call" not in calls:
        return where_words(ordered[0]).replace(f"call {calls[0]}", "call " + or_list(calls), 1)
    wheres = list(dict.fromkeys(where_words(c) for c in ordered))
    return " or ".join(wheres[:2]) + (" (or elsewhere)" if len(wheres) > 2 else "")


def _readable(clause: str, event: str) -> str:
    """A guard's clause in the guide's words: the event as the guide writes it, a list of
    states as a sentence, any internal state name replaced by its display name."""
    info = _states()

    def sub(m: re.Match[str]) -> str:
        word = m.group(0)
        return info[word][1] if word in info else word

    only = re.match(r"it is allowed only in: (.*)$", clause)
    if only:
        states = [s.strip() for s in only.group(1).split(",")]
        clause = f"{event_words(event)} is allowed only in {or_list(states)}"
    elif clause.startswith(f"{event} must be refused"):
        clause = event_words(event) + clause[len(event):]
    return re.sub(r"[a-z]+(?:_[a-z]+)+|\bsdk\b", sub, clause)


def describe_configs(configs: Sequence[Sequence[str]], limit: int = 3) -> list[str]:
    """Each distinct configuration the client could have been in, in the guide's words."""
    return list(dict.fromkeys(where_words(c) for c in configs))[:limit]
