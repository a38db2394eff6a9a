"""Cucumber JSON of a conformance run, in the shape cucumber-js's own `json` formatter writes.

pytest-bdd's formatter reports what pytest saw of a scenario, so a scenario skipped before its
first step is missing and the steps after a failing or not-run one are left out or shown as
passed: on a CI dashboard a client lacking capabilities looked green. This writer works from
the run's outcomes instead: every selected scenario is present, every step of it carries a
status (passed, failed, or skipped when it did not run), the step that failed carries the
same diagnosis as the terminal, and a violation the end-of-scenario trace judgement found
with every step passed is an `After` hook that failed. A scenario never started because the
client had stopped answering is a `Before` hook that failed, its steps skipped.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterable

from .outcome import ERROR, FAILED, PASSED, Outcome

NS = 1_000_000_000  # cucumber durations are in nanoseconds


def _tags(tags: Iterable[tuple[str, int]]) -> list[dict[str, Any]]:
    return [{"name": f"@{name}", "line": line} for name, line in tags]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def scenario_element(o: Outcome) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    diagnosed = False
    for s in o.steps:
        result: dict[str, Any] = {"status": s.status, "duration": int(s.duration * NS)}
        if s.status == FAILED and not diagnosed:
            result["error_message"] = f"{o.headline()}\n\n{o.body()}"
            diagnosed = True
        step: dict[str, Any] = {"arguments": [], "keyword": f"{s.keyword} ", "line": s.line,
                                "name": s.name, "match": {"location": f"{o.uri}:{s.line}"},
                                "result": result}
        if s.background:
            step["isBackground"] = True
        steps.append(step)
    if o.verdict == ERROR:
        # never started (the client had stopped answering): a Before hook that failed, the
        # scenario's own steps skipped
        steps.insert(0, {"arguments": [], "hidden": True, "keyword": "Before",
                         "match": {"location": "exovoice conform"},
                         "result": {"status": FAILED, "duration": 0,
                                    "error_message": o.headline()}})
    if o.verdict == FAILED and not diagnosed:
        # every step passed (or none ran): the failure is the trace judgement at the end
        steps.append({"arguments": [], "hidden": True, "keyword": "After",
                      "match": {"location": "exovoice validate"},
                      "result": {"status": FAILED, "duration": 0,
                                 "error_message": f"{o.headline()}\n\n{o.body()}"}})
    return {
        "id": f"{_slug(o.feature)};{_slug(o.name)}",
        "keyword": o.keyword,
        "name": o.name,
        "description": o.description,
        "line": o.line,
        "type": "scenario",
        "tags": _tags(o.tags),
        "steps": steps,
    }


def cucumber_json(outcomes: Iterable[Outcome]) -> list[dict[str, Any]]:
    features: dict[str, dict[str, Any]] = {}
    for o in outcomes:
        f = features.get(o.uri)
        if f is None:
            f = features[o.uri] = {
                "uri": o.uri, "id": _slug(o.feature), "keyword": o.feature_keyword,
                "name": o.feature, "description": o.feature_description,
                "line": o.feature_line, "tags": _tags(o.feature_tags), "elements": [],
            }
        f["elements"].append(scenario_element(o))
    return list(features.values())


def write_cucumber_json(path: Path, outcomes: Iterable[Outcome]) -> None:
    Path(path).write_text(json.dumps(cucumber_json(outcomes), indent=1) + "\n",
                          encoding="utf-8")


__all__ = ["cucumber_json", "write_cucumber_json", "PASSED", "FAILED"]
