"""exovoice check: the explored space, the properties and their counterexamples.

The default bound, every slice of both modes, is checked here (its speed is bench/check.py's);
beside it small bounds, the step memo held to the bare engine, and a spec broken on purpose."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from exovoice.spec.base import SpecViolation
from exovoice.spec.charts.model import ClientModel
from exovoice.spec.check import properties
from exovoice.spec.check.alphabet import ACTIVE, SECOND, Letter, alphabet
from exovoice.spec.check.counterexample import trace_text
from exovoice.spec.check.run import check
from exovoice.spec.check.space import SLICES, Bound, explore, slice_letters, slices_of
from exovoice.spec.charts.step import POS, Outcome, State, after, snapshot_of, state_of
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


def _engine(m: ClientModel, st: State, letter: Letter) -> tuple:
    """The bare engine's step: refused with the rules cited, or the configuration it leads to
    (the CallKit UUIDs named as check names them: the active call's A, the second's S)."""
    m.restore(snapshot_of(st))
    try:
        m._fire(letter.name, result=letter.result, params=letter.params)
    except SpecViolation as e:
        return ("refused", frozenset(r.id for r in e.rules))
    m.v.ck_uuid = ACTIVE if m.v.ck_uuid is not None else None
    m.v.ck_second = SECOND if m.v.ck_second is not None else None
    return ("took", state_of(m.configuration_values, m.v), frozenset(m.fired))


def _remembered(st: State, out: Outcome) -> tuple:
    if not out.ok:
        return ("refused", frozenset(out.cited))
    return ("took", after(st, out) or st, frozenset(out.fired))


def _swapped(st: State, letter: Letter) -> tuple[State, Letter]:
    """The same configuration and letter with the UUID symbols A and S exchanged."""
    swap = {ACTIVE: SECOND, SECOND: ACTIVE}
    out = list(st)
    for f in ("ck_uuid", "ck_second"):
        out[POS[f]] = swap.get(out[POS[f]], out[POS[f]])
    args = tuple((k, swap.get(v, v) if k == "uuid" else v) for k, v in letter.args)
    return tuple(out), Letter(letter.kind, letter.name, letter.result, args, letter.label)


def test_a_step_from_the_memo_is_the_step_the_engine_takes() -> None:
    """Check fires the engine once per values a step reads and applies that step to every
    configuration that agrees on them. Held to the bare engine on a sample of every slice's
    configurations and letters in both modes: the same verdict, the same rules cited, the
    same transitions and the same configuration after. With CallKit the engine also takes the
    same step with the UUID symbols A and S exchanged, which is why check may name them
    canonically (the active call's A, the second's S) and lose nothing."""
    rng = random.Random(13)
    plain = {ck: ClientModel(callkit=ck) for ck in (False, True)}
    sampled = second_calls = 0
    for ck in (False, True):
        for which in slices_of(ck):
            sp = explore(ck, Bound(1, 1, 1), which=which)
            assert sp.stepper is not None and sp.fires < sp.steps
            for _ in range(100):
                st, letter = rng.choice(sp.states), rng.choice(sp.letters)
                want = _engine(plain[ck], st, letter)
                assert _remembered(st, sp.stepper.step(st, letter)) == want, (which, letter)
                if ck:
                    assert _engine(plain[ck], *_swapped(st, letter)) == want, (which, letter)
                    second_calls += st[POS["ck_second"]] is not None
                sampled += 1
    assert sampled == 100 * (len(slices_of(False)) + len(slices_of(True)))
    assert second_calls  # the sample met second CallKit calls, where the symbols matter


def test_the_default_bound_holds_every_property_and_each_slice_reaches_its_own() -> None:
    """The default bound, every slice of both modes: every property holds, every rule and
    state is reached over the slices, and each slice reaches a rule or a state no other
    does, so leaving any slice out (or a frame that cut one off) would fail the check."""
    rep = check(Bound())
    failed = [(w, f.name, f.explanation) for w, f in rep.findings if not f.held]
    assert not failed, failed
    assert {(sp.callkit, sp.which) for sp in rep.spaces} == {
        (ck, w) for ck in (False, True) for w in slices_of(ck)}
    assert "push" in slices_of(True) and "push" not in slices_of(False)
    facts = {id(sp): properties.Facts(sp) for sp in rep.spaces}

    def reached(which: str | None) -> tuple[set[str], set[str]]:
        spaces = [sp for sp in rep.spaces if sp.which != which]
        applied, cited = properties.rules_reached(spaces)
        states = {s for sp in spaces for leaves in facts[id(sp)].leaves for s in leaves}
        return applied | cited, states

    rules, states = reached(None)
    assert properties.model_rules() <= rules
    for which in SLICES:
        r, s = reached(which)
        assert (rules - r) or (states - s), f"the {which} slice reaches nothing of its own"


def test_counterexamples_follow_the_callkit_uuids_through_second_calls() -> None:
    """With CallKit, the trace of the shortest path to a node names each CallKit call by the
    UUID it was reported or started with, a second call's too (the VoIP push slice), and the
    validator accepts it."""
    sp = explore(True, Bound(1, 0, 1), which="push")
    tmp = Path(__file__).parent / "_cx_ck_tmp.jsonl"
    seconds = [n for n in sp.order if sp.states[n[0]][POS["ck_second"]] is not None]
    assert seconds
    try:
        for node in seconds[:: max(1, len(seconds) // 40)] + sp.order[:: len(sp.order) // 40]:
            tmp.write_text(trace_text(sp, node))
            v = judge_file(tmp, Options(callkit=True, allow_empty=True))
            assert v.conformant, (node, v.violations[0].message, tmp.read_text())
    finally:
        tmp.unlink(missing_ok=True)
