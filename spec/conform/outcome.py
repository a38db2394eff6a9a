"""One scenario's result as data, and the diagnosis every report gives of a failure.

The terminal, the JUnit XML, the Cucumber JSON, `--format json` and the HTML report all tell
the same story about a failed scenario: the rule and guide section, a one-line reason, the
steps, the callbacks seen and the trace around the violating line. It is written once here,
so no report can say less than the terminal does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..validate.engine import Violation

PASSED, FAILED, NOT_RUN = "passed", "failed", "not-run"
# not started: the client had stopped speaking the adapter protocol in an earlier scenario
ERROR = "error"
EXCERPT_BEFORE, EXCERPT_AFTER = 4, 1  # trace lines shown around the violating one

_CITE = re.compile(r"\s*\(([A-Z][A-Z0-9-]+), guide ([^)]+)\)$")

MARK = {"passed": "✓", "failed": "✗", "skipped": "·", "undefined": "?"}


@dataclass
class StepOutcome:
    keyword: str
    name: str
    line: int
    status: str = "skipped"  # passed | failed | skipped (not reached or not-run)
    duration: float = 0.0
    background: bool = False

    @property
    def text(self) -> str:
        return f"{self.keyword} {self.name}"


@dataclass
class Outcome:
    """What happened to one scenario (one example of an outline)."""

    nodeid: str
    name: str = ""
    feature: str = ""  # the feature's name
    uri: str = ""  # features/<file>.feature
    line: int = 0  # the scenario's line in it
    keyword: str = "Scenario"
    description: str = ""
    tags: list[tuple[str, int]] = field(default_factory=list)
    feature_line: int = 1
    feature_keyword: str = "Feature"
    feature_description: str = ""
    feature_tags: list[tuple[str, int]] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    verdict: str = NOT_RUN  # passed | failed | not-run | error; not-run until it has run
    reason: str = "not reached: the run stopped before it"
    steps: list[StepOutcome] = field(default_factory=list)
    callbacks: list[str] = field(default_factory=list)  # the SDK's callbacks only
    callkit_lines: list[str] = field(default_factory=list)  # what the app and CallKit said
    app_calls: list[str] = field(default_factory=list)  # API calls the app layer made itself
    violation: Violation | None = None
    unusable_trace: str | None = None
    trace: str = ""
    protocol_error: str = ""
    client_broken: bool = False  # the protocol error was the client stopping altogether
    timed_out: bool = False
    duration: float = 0.0
    reached: bool = False  # pytest ran it (False: -x or --maxfail stopped the run first)

    @property
    def classname(self) -> str:
        """The JUnit classname: the feature file as a dotted name (features.pstn), the same
        wherever exovoice is installed."""
        stem = self.uri.rsplit("/", 1)[-1].removesuffix(".feature") or "features"
        return f"features.{stem}"

    @property
    def where(self) -> str:
        return f"{self.uri}:{self.line}" if self.uri else self.nodeid

    # --- the diagnosis -------------------------------------------------------------------
    def headline(self) -> str:
        """One line: the rule and guide section, and the reason (a JUnit failure message)."""
        if self.verdict == ERROR:
            return f"error: {self.reason}"
        if self.protocol_error:
            return f"adapter protocol: {self.protocol_error}"
        if self.timed_out:
            return self.reason
        v = self.violation
        if v is not None:
            text, rule, where = split_cite(v.message)
            return f"{rule or v.rule} ({cite_section(v.section)}): {text}"
        if self.unusable_trace:
            return f"TRACE: the scenario's trace is unusable: {self.unusable_trace}"
        sections = ", ".join(cite_section(s) for s in self.sections) or "the guide"
        failed = next((s for s in self.steps if s.status == "failed"), None)
        step = f"step '{failed.text}' failed: " if failed else ""
        return f"{sections}: {step}{self.reason}"

    def excerpt(self) -> list[str]:
        """The trace around the violating line, the line itself marked."""
        lines = self.trace.splitlines()
        if not lines:
            return []
        at = self.violation.line if self.violation is not None else len(lines)
        lo, hi = max(1, at - EXCERPT_BEFORE), min(len(lines), at + EXCERPT_AFTER)
        return [f"{'>' if n == at else ' '} {n:>4} | {lines[n - 1]}" for n in range(lo, hi + 1)]

    def body(self) -> str:
        """Several lines: where the scenario is, its steps, why it failed, the callbacks seen
        (the CallKit lines and the app's own API calls under their own headings), where the
        spec violation is and the trace around it. The headline goes with it everywhere (the
        terminal, JUnit's message, Cucumber's error, the JSON diagnosis), so the violation's
        sentence, which the headline carries, is not said again here."""
        out = [f"{self.keyword}: {self.name}  ({self.where})"]
        out += [f"  {MARK.get(s.status, '·')} {s.text}" for s in self.steps]
        v = self.violation
        said = self.verdict == ERROR or v is not None and (
            self.reason.startswith("spec violation at trace line") or v.message in self.reason)
        if not said:
            out.append(f"why: {self.reason}")
        if self.callbacks:
            out.append(f"callbacks seen: {', '.join(self.callbacks)}")
        if self.callkit_lines:
            out.append(f"CallKit lines seen: {', '.join(self.callkit_lines)}")
        if self.app_calls:
            out.append(f"API calls the app made itself: {', '.join(self.app_calls)}")
        if v is not None:
            text, rule, _ = split_cite(v.message)
            if self.headline().endswith(text.strip()):
                out.append(f"spec violation at trace line {v.line} (above; marked > below)")
            else:
                out.append(f"spec violation at trace line {v.line}: {v.message}")
        elif self.unusable_trace:
            out.append(f"the scenario's trace is unusable: {self.unusable_trace}")
        ex = self.excerpt()
        if ex and (self.violation is not None or self.verdict == FAILED):
            out.append("trace:")
            out += [f"  {x}" for x in ex]
        return "\n".join(out)

    def as_json(self) -> dict[str, Any]:
        return {
            "scenario": self.name, "feature": self.feature, "uri": self.uri, "line": self.line,
            "sections": self.sections, "tags": [t for t, _ in self.tags],
            "verdict": self.verdict, "reason": self.reason if self.verdict != PASSED else "",
            "duration": round(self.duration, 3),
            "steps": [{"keyword": s.keyword, "name": s.name, "line": s.line, "status": s.status}
                      for s in self.steps],
            "callbacks": self.callbacks,
            "callkit_lines": self.callkit_lines,
            "app_calls": self.app_calls,
            "violation": self.violation.as_json() if self.violation is not None else None,
            "diagnosis": ({"message": self.headline(), "detail": self.body()}
                          if self.verdict in (FAILED, ERROR) else None),
            "protocol_error": self.protocol_error or None,
        }


def split_cite(message: str) -> tuple[str, str | None, str | None]:
    """A violation sentence without its closing "(RULE, guide §X)", the rule and section."""
    m = _CITE.search(message)
    if not m:
        return message, None, None
    return message[:m.start()], m.group(1), m.group(2)


def cite_section(section: str) -> str:
    return f"guide §{section}" if section[:1].isdigit() else f"guide {section}"


def section_key(s: str) -> tuple:
    return tuple(int(p) if p.isdigit() else 0 for p in s.split("."))
