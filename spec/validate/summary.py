"""The fleet report (`exovoice validate --summary`): one account of many traces.

What a person responsible for a fleet asks: how many traces were judged and how many conform;
which rules are broken, in how many traces, with one trace and line to open for each; which
clients and SDK versions (the meta line's `client` and `sdkVersion`) break them; and what the
fleet never exercised (states, transitions, rules), since a rule no trace reached is a rule
the fleet has not shown it keeps. Built verdict by verdict, so it holds counts, never traces.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, TextIO

from .run import Progress, TraceVerdict

UNKNOWN = "-"
"""How a trace without a meta line (or without client / sdkVersion) is counted."""


@dataclass
class RuleCount:
    rule: str
    section: str
    traces: int = 0
    sample_trace: str = ""
    sample_line: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "section": self.section, "traces": self.traces,
                "sample": {"trace": self.sample_trace, "line": self.sample_line}}


@dataclass
class Fleet:
    """Counts over every verdict added."""

    traces: int = 0
    conformant: int = 0
    nonconformant: int = 0
    unusable: int = 0
    lines: int = 0
    rules: dict[str, RuleCount] = field(default_factory=dict)
    clients: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    fired: dict[str, int] = field(default_factory=dict)
    states: set[str] = field(default_factory=set)

    def add(self, v: TraceVerdict) -> None:
        self.traces += 1
        self.lines += v.lines
        key = (v.client or UNKNOWN, v.sdk_version or UNKNOWN)
        per = self.clients.setdefault(key, {"traces": 0, "conformant": 0,
                                            "non-conformant": 0, "unusable": 0, "rules": {}})
        per["traces"] += 1
        if v.unusable is not None:
            self.unusable += 1
            per["unusable"] += 1
        elif v.conformant:
            self.conformant += 1
            per["conformant"] += 1
        else:
            self.nonconformant += 1
            per["non-conformant"] += 1
        for x in v.violations:
            rc = self.rules.get(x.rule)
            if rc is None:
                rc = self.rules[x.rule] = RuleCount(x.rule, x.section, 0, v.trace, x.line)
            rc.traces += 1
            per["rules"][x.rule] = per["rules"].get(x.rule, 0) + 1
        for tid, n in v.fired.items():
            self.fired[tid] = self.fired.get(tid, 0) + n
        self.states.update(v.states)

    def coverage(self) -> dict[str, Any]:
        return coverage_report(self.fired, self.states)

    def as_json(self) -> dict[str, Any]:
        rules = sorted(self.rules.values(), key=lambda r: (-r.traces, r.rule))
        return {
            "traces": self.traces, "conformant": self.conformant,
            "non_conformant": self.nonconformant, "unusable": self.unusable,
            "lines": self.lines,
            "violations_by_rule": [r.as_json() for r in rules],
            "by_client": [{"client": c, "sdkVersion": s, **n,
                           "rules": dict(sorted(n["rules"].items(), key=lambda x: (-x[1], x[0])))}
                          for (c, s), n in sorted(self.clients.items())],
            "coverage": self.coverage(),
        }

    def text(self) -> str:
        out = [(f"fleet: {self.traces} traces judged ({self.lines} lines): "
                f"{self.conformant} conformant, {self.nonconformant} non-conformant, "
                f"{self.unusable} unusable")]
        if self.rules:
            out.append("violations by rule (traces, guide section, a sample to open):")
            for r in sorted(self.rules.values(), key=lambda r: (-r.traces, r.rule)):
                where = f"§{r.section}" if r.section[:1].isdigit() else r.section
                out.append(f"  {r.rule:<24} {r.traces:>6}  {where:<8} "
                           f"{r.sample_trace}:{r.sample_line}")
        out.append("by client / sdkVersion (traces: conformant, non-conformant, unusable; "
                   "rules broken, in how many traces):")
        for (c, s), n in sorted(self.clients.items()):
            broken = ", ".join(f"{r} {k}" for r, k in sorted(n["rules"].items(),
                                                              key=lambda x: (-x[1], x[0])))
            out.append(f"  {c} {s}: {n['traces']}: {n['conformant']}, "
                       f"{n['non-conformant']}, {n['unusable']}"
                       + (f"; {broken}" if broken else ""))
        cov = self.coverage()
        ex, nv = cov["states"]["exercised"], cov["states"]["never"]
        out.append(f"coverage: {len(ex)}/{len(ex) + len(nv)} states exercised"
                   + (f"; never: {', '.join(nv)}" if nv else ""))
        ex, nv = cov["transitions"]["exercised"], cov["transitions"]["never"]
        out.append(f"coverage: {len(ex)}/{len(ex) + len(nv)} transitions exercised"
                   + (f" ({len(nv)} never: --format json lists them)" if nv else ""))
        rules = cov["rules"]
        out.append(f"coverage: {len(rules['exercised'])} rules exercised on transitions; never: "
                   + (", ".join(rules["never_on_a_transition"]) or "none"))
        return "\n".join(out)


@lru_cache(maxsize=1)
def _universe() -> tuple[list[str], list[str], dict[str, list[str]]]:
    from ..base import transition_id
    from ..charts.index import rule_uses
    from ..charts.model import ClientModel, transitions_of

    all_t = sorted({transition_id(t) for t, _ in transitions_of(ClientModel)})
    all_s = sorted(s.id for s in ClientModel.states_map.values() if not s.states)
    return all_t, all_s, rule_uses()


def coverage_report(fired: dict[str, int], states: set[str]) -> dict[str, Any]:
    """States, transitions and rules exercised and never, over whatever was judged."""
    all_t, all_s, uses = _universe()
    rules_hit = sorted(r for r, where in uses.items() if any(w in fired for w in where))
    return {
        "transitions": {"exercised": sorted(fired), "never": [t for t in all_t if t not in fired]},
        "states": {"exercised": sorted(states), "never": [s for s in all_s if s not in states]},
        "rules": {"exercised": rules_hit,
                  "never_on_a_transition": [r for r in uses if r not in rules_hit
                                            and any(":" in w for w in uses[r])]},
    }


class ProgressLine:
    """A progress line on a terminal for runs over a few seconds: traces, rate, ETA."""

    def __init__(self, stream: TextIO, *, after: float = 2.0, every: float = 0.5,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.after = after
        self.every = every
        self.clock = clock
        self.start = clock()
        self.last = 0.0
        self.shown = False

    def line(self, p: Progress) -> str:
        spent = max(self.clock() - self.start, 1e-9)
        rate = p.lines / spent
        if p.total_bytes and p.bytes:
            eta = spent * (p.total_bytes - p.bytes) / p.bytes
            left = f", ETA {eta:.0f} s"
        else:
            left = ""
        return (f"{p.traces}/{p.total_traces} traces, {p.lines} lines, "
                f"{rate:,.0f} lines/s{left}")

    def __call__(self, p: Progress) -> None:
        now = self.clock()
        if now - self.start < self.after or (now - self.last < self.every
                                             and p.traces != p.total_traces):
            return
        self.last = now
        self.shown = True
        print("\r" + self.line(p) + "\x1b[K", end="", file=self.stream, flush=True)

    def done(self) -> None:
        if self.shown:
            print("\r\x1b[K", end="", file=self.stream, flush=True)
