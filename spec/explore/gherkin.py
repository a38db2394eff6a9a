"""A failing run as a scenario of the existing step library: its steps are the run's own When
steps, so the scenario replays the run under `exovoice conform` and a team can paste it into
its regression features."""

from __future__ import annotations

from ..conform.adapter import Capability
from ..rules import RULES
from .inputs import INPUTS

_BY_PHRASE = {i.phrase: i for i in INPUTS}


def scenario(steps: list[str], *, callkit: bool, rule: str, message: str, owed: str | None,
             title: str | None = None, then: str | None = None) -> str:
    """The scenario text (tags, steps, the judging Then), indented for a feature file."""
    r = RULES.get(rule)
    tags = [f"@guide-{r.section}"] if r and r.section[0].isdigit() else []
    needs: list[str] = []
    for phrase in steps:
        inp = _BY_PHRASE.get(phrase)
        for alt in (inp.needs if inp else ()):
            if len(alt) == 1 and alt[0] not in needs and alt[0] != Capability.CALLKIT:
                needs.append(alt[0])
    tags += [f"@needs-{c}" for c in needs]
    if callkit:
        tags.append("@needs-callkit")
    name = title or f"{rule}: {_headline(message)}"
    out = [f"  {' '.join(tags)}" if tags else "", f"  Scenario: {name}",
           f"    Given {'an app that integrates CallKit' if callkit else 'an app without CallKit'}"]
    for n, phrase in enumerate(steps):
        out.append(f"    {'When' if n == 0 else 'And'} {phrase}")
    if then:
        out.append(f"    Then {then}")
        out.append("    And what the app is told is judged against the guide")
    elif owed:
        out.append(f"    Then the app gets {owed}")
        out.append("    And what the app is told is judged against the guide")
    else:
        out.append("    Then what the app is told is judged against the guide")
    return "\n".join(line for line in out if line) + "\n"


def _headline(message: str, width: int = 80) -> str:
    """The finding's first clause, cut at a word: a scenario's name, not its diagnosis."""
    head = message.split(";")[0].split(", but ")[0].split(" (")[0]
    if len(head) <= width:
        return head
    return head[:width].rsplit(" ", 1)[0]


def feature(scenarios: list[str], *, title: str = "Paths found by exovoice explore") -> str:
    return (f"Feature: {title}\n  Each scenario is a run `exovoice explore` found and shrank; "
            "its steps are the\n  step library's own.\n\n" + "\n".join(scenarios))
