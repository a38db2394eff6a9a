"""What a person reads about a violation is in the guide's words: one sentence naming what the
client did, what the guide allows there, the rule once and its guide section, and never one
of the spec's internal names (`pk_idle`, `net_up`, `sdk`, `net_early_media`...).

Violations are drawn here from generated event sequences (the letters of tests/helpers.py);
tests/conftest.py also collects every violation sentence written anywhere in the suite and
fails the run if one names the machinery."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exovoice.spec.rules import RULES
from exovoice.spec.validate.engine import Judge, Violation
from exovoice.spec.validate.words import MAX_ALTERNATIVES, internal_names, leaks, where_words

from helpers import ALL_LETTERS, CUR, NEW, OLD, Letter

from exovoice.spec.vocabulary import OBSERVABLE_EVENTS

TRACEABLE = [x for x in ALL_LETTERS if x.event in OBSERVABLE_EVENTS]  # a trace never shows the rest

CITE = re.compile(r"\(([A-Z][A-Z0-9-]+), guide (§[0-9.]+|FACTS|TRACE)\)$")


def _line(letter: Letter, calls: list[str]) -> dict:
    d: dict = {"kind": _kind(letter.event), "name": letter.event}
    if letter.call == CUR and calls:
        d["call"] = calls[-1]
    elif letter.call == NEW:
        calls.append(f"c{len(calls) + 1}")
        d["call"] = calls[-1]
    elif letter.call == OLD and len(calls) > 1:
        d["call"] = calls[0]
    elif letter.call not in (CUR, NEW, OLD, None):
        d["call"] = letter.call
    if letter.params:
        d["args"] = letter.args
    if letter.result != "ok":
        d["result"] = letter.result
    return d


def _kind(event: str) -> str:
    return OBSERVABLE_EVENTS[event].value


def judge(letters: list[Letter], callkit: bool) -> Violation | None:
    j = Judge(callkit=callkit, complete=True)
    calls: list[str] = []
    for i, letter in enumerate(letters, 1):
        d = _line(letter, calls)
        v = j.feed(i, d["kind"], d["name"], d.get("call"), d.get("args"), d.get("result", "ok"))
        if v is not None:
            return v
    done = j.finish()
    return done[0] if done else None


def check(v: Violation) -> None:
    for text in (v.message, *v.where):
        assert not leaks(text), f"internal names {leaks(text)} in: {text}"
    m = CITE.search(v.message)
    assert m, f"no (RULE, guide §X) at the end of: {v.message}"
    assert m.group(1) == v.rule and v.message.count(v.rule) == 1, v.message
    assert v.rule in RULES
    assert len(v.alternatives) <= MAX_ALTERNATIVES
    assert "\n" not in v.message
    clauses = [c.strip() for c in re.split(r"[;,] (?:but )?", v.message)]
    assert len(clauses) == len(set(clauses)) or _repeats_are_lists(clauses), v.message


def _repeats_are_lists(clauses: list[str]) -> bool:
    """Only single words (a list of states or events) may repeat across clauses."""
    return all(" " not in c for c in clauses if clauses.count(c) > 1)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(letters=st.lists(st.sampled_from(TRACEABLE), min_size=1, max_size=12),
       callkit=st.booleans())
def test_every_generated_violation_reads_in_the_guides_words(letters: list[Letter],
                                                             callkit: bool) -> None:
    v = judge([Letter("initialize", params=(("subscriberName", "alice"),)),
               Letter("onInitializationSuccess"), *letters], callkit)
    if v is not None:
        check(v)


def test_a_wrong_callback_names_the_few_moves_the_guide_allows() -> None:
    v = judge([Letter("initialize", params=(("subscriberName", "alice"),)),
               Letter("onInitializationSuccess"),
               Letter("relaySessionData", params=(("payload", "x"), ("payloadVersion", 1),
                                                  ("subscriberName", "alice"))),
               Letter("onIncomingCall", call=NEW), Letter("onCallRinging", call=CUR)], False)
    assert v is not None and v.rule == "CALL-RINGING"
    check(v)
    assert v.message.startswith("the SDK called onCallRinging while client initialized, "
                                "call INCOMING, but onCallRinging is allowed only in ")
    assert "answer()" in v.alternatives or "answer" in v.alternatives
    assert len(v.expected) > len(v.alternatives)  # the JSON keeps the full list


@pytest.mark.parametrize("sid", sorted(internal_names() - {"net_early_media", "net_connecting",
                                                           "net_call_dropping"}))
def test_every_state_has_words(sid: str) -> None:
    """Each state, in a configuration where every other region is at rest, is described
    without its id."""
    from exovoice.spec.charts.model import ClientModel

    config = [next((s.id for s in r.states if s.id == sid), None)
              or next(s.id for s in r.states if s.initial) for r in ClientModel.client.states]
    text = where_words(config)
    assert text and not leaks(text), (sid, text)
