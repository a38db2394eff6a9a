"""exovoice check: the explored space, the properties and their counterexamples.

The call side at the default bound is a benchmark (bench/check.py); here a small bound of the
life-cycle and device slices, which take seconds, and a spec broken on purpose."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from exovoice.spec.check import properties
from exovoice.spec.check.counterexample import trace_text
from exovoice.spec.check.run import check
from exovoice.spec.check.space import SLICES, Bound, explore, slice_letters
from exovoice.spec.check.alphabet import alphabet
from exovoice.spec.validate.run import Options, judge_file

EXO = [sys.executable, "-m", "exovoice.spec"]


def test_the_alphabet_covers_every_event_and_the_slices_cover_the_alphabet() -> None:
    from exovoice.spec.vocabulary import INTERNAL_EVENTS, OBSERVABLE_EVENTS, Kind

    for ck in (False, True):
        letters = alphabet(ck)
        names = {x.name for x in letters}
        want = {n for n, k in OBSERVABLE_EVENTS.items() if ck or k is not Kind.CALLKIT}
        assert want | set(INTERNAL_EVENTS) == names
        sliced = set().union(*(slice_letters(ck, w) for w in SLICES))
        assert sliced == set(letters)
        # every refusal a rule names for dial is tried, valid or not
        dial = {(x.label, x.result) for x in letters if x.name == "dial"}
        assert ("valid", "PSTN_CALL_INPROGRESS") in dial and ("forbidden message",
                                                               "INVALID_PARAMETER") in dial


def test_check_holds_on_a_small_bound_and_says_what_it_explored(tmp_path: Path) -> None:
    p = subprocess.run([*EXO, "check", "--calls", "1", "--pstn", "1", "--owed", "1",
                        "--callkit", "no", "--slice", "lifecycle", "--format", "json",
                        "--quiet", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=300)
    out = json.loads(p.stdout)
    sliced = [x for x in out["properties"] if x["space"] != "all"]
    assert p.returncode == 1  # one slice alone cannot reach every rule and state
    assert all(x["held"] for x in sliced), [x for x in sliced if not x["held"]]
    names = {x["name"] for x in sliced}
    assert {"no-deadlock", "no-livelock", "every-call-ends", "obligations-met",
            "single-call-context", "pstn-no-dial", "ended-is-terminal",
            "determinism"} <= names
    space = out["spaces"][0]
    assert space["nodes"] > 300 and space["transitions"] > space["nodes"]
    assert out["bound"] == {"calls": 1, "pstn": 1, "owed": 1}
    unreached = {x["name"]: x for x in out["properties"] if x["space"] == "all"}
    assert not unreached["every-rule-reachable"]["held"]
    assert "CK-" in unreached["every-rule-reachable"]["explanation"]


def test_a_deadlock_is_found_with_a_shortest_counterexample_the_validator_accepts(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Holding the spec to an idle it can never come back to (the very first configuration,
    before any subscriber) must fail no-deadlock, and the counterexample must be a real path:
    the validator accepts it, and it is as short as a path out of the first configuration
    can be."""
    monkeypatch.setattr(properties.Facts, "idle", lambda self, idx: idx == 0)
    rep = check(Bound(1, 0, 1), modes=(False,), slices=("lifecycle",), out=tmp_path)
    found = {f.name: f for _w, f in rep.findings}
    dl = found["no-deadlock"]
    assert not dl.held and dl.counterexample
    text = Path(dl.counterexample).read_text()
    lines = text.splitlines()
    assert json.loads(lines[0])["kind"] == "meta"
    assert len(lines) == 2 and json.loads(lines[1])["name"] == "initialize"
    verdict = judge_file(Path(dl.counterexample), Options(callkit=False))
    assert verdict.conformant is True


def test_counterexample_traces_replay_every_node_of_a_space() -> None:
    """The trace of the shortest path to each node is accepted by the validator: the ids the
    writer makes up (calls, pushes) follow the spec's call effects."""
    sp = explore(False, Bound(1, 1, 1), which="lifecycle")
    tmp = Path(__file__).parent / "_cx_tmp.jsonl"
    try:
        for node in sp.order[:: max(1, len(sp.order) // 60)]:
            tmp.write_text(trace_text(sp, node))
            v = judge_file(tmp, Options(callkit=False, allow_empty=True))
            assert v.conformant, (node, v.violations[0].message, tmp.read_text())
    finally:
        tmp.unlink(missing_ok=True)


def test_livelock_is_a_cycle_of_unobserved_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    sp = explore(False, Bound(1, 0, 1), which="lifecycle")
    facts = properties.Facts(sp)
    assert properties.no_livelock(sp, facts).held
    # every move taken as unobserved: the space has cycles (initialize again), so it must fail
    monkeypatch.setattr(type(sp.letters[0]), "internal", property(lambda self: True))
    f = properties.no_livelock(sp, facts)
    assert not f.held and f.node is not None


def test_usage_errors_exit_2() -> None:
    p = subprocess.run([*EXO, "check", "--calls", "-1"], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 2 and p.stderr.count("\n") == 1


def test_the_call_side_holds_every_property_on_one_call() -> None:
    """The calls slice (dial, relayed pushes, every callback with every end reason and error,
    PSTN, the unobserved network steps) on one call without CallKit: a few seconds."""
    rep = check(Bound(1, 0, 1), modes=(False,), slices=("calls",))
    failed = [(w, f.name, f.explanation) for w, f in rep.findings if w != "all" and not f.held]
    assert not failed, failed
    sp = rep.spaces[0]
    assert len(sp.nodes) > 150 and sp.transitions > 5000
    # a relayed push answered either way is the one choice the spec leaves a network happening
    # here, and it is a documented permissive reading (SYS-RELAY-BUSY or CALL-INCOMING)
    for g in rep.choices["no-callkit/calls"]:
        assert g["rules"], g
