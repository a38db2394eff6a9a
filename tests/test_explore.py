"""exovoice explore: model-based runs against real clients (the in-process reference client,
deliberately broken ones), judged online, shrunk, and written as a trace and a scenario.

Each run is bounded by steps, so the file takes well under a minute."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from exovoice.spec.conform import steps as _steps  # noqa: F401 - registers the step library
from exovoice.spec.conform.plugin import make_factory
from exovoice.spec.conform.steps import audio, callkit, calls, feedback, lifecycle, pstn
from exovoice.spec.explore.inputs import INPUTS
from exovoice.spec.explore.run import Options, explore
from exovoice.spec.explore.walk import Session
from exovoice.spec.rules import RULES
from exovoice.spec.validate.run import Options as VOptions
from exovoice.spec.validate.run import judge_file

EXO = [sys.executable, "-m", "exovoice.spec"]


def _when_steps() -> list[Any]:
    out = []
    for mod in (audio, callkit, calls, feedback, lifecycle, pstn):
        for name in dir(mod):
            if name.startswith("pytestbdd_stepdef_when"):
                out.append(getattr(mod, name)._get_wrapped_function()())
    return out


def test_every_input_is_a_when_step_of_the_library_with_its_own_arguments() -> None:
    """A failing run becomes a scenario of the step library: each input's phrase must parse as
    exactly the When step whose function the input runs, with the input's arguments."""
    steps = _when_steps()
    assert len(INPUTS) > 40
    for inp in INPUTS:
        found = [s for s in steps if s.parser.is_matching(inp.phrase)]
        assert found, f"no When step parses {inp.phrase!r}"
        assert found[0].step_func is inp.run, inp.phrase
        parsed = found[0].parser.parse_arguments(inp.phrase) or {}
        assert {k: str(v) for k, v in parsed.items()} == \
            {k: str(v) for k, v in dict(inp.kwargs).items()}, inp.phrase


@pytest.mark.parametrize("callkit", [False, True], ids=["plain", "callkit"])
def test_the_reference_client_passes_a_tour(callkit: bool) -> None:
    factory, label = make_factory("reference")
    res = explore(factory, label, Options(generator="tour", seed=3, max_steps=1000,
                                          callkit=callkit, database=None))
    assert res.finding is None, res.finding and (res.finding.message, res.finding.steps)
    assert res.steps >= 900  # it ran, and was not stopped by a finding or a stale walk
    assert len(res.covered) >= 40, sorted(res.covered)  # it went into calls, not round init
    # calls were made and the network ended them: the tour went past initialization
    assert any(t.startswith("CALL-DIAL:") for t in res.covered)
    assert any(t.startswith("CALL-REMOTE-END-") for t in res.covered)


def _run_cli(*args: str, tmp: Path) -> tuple[int, dict]:
    p = subprocess.run([*EXO, "explore", *args, "--format", "json", "--quiet", "--no-db",
                        "--out", str(tmp)], capture_output=True, text=True, timeout=300)
    assert p.returncode in (0, 1), p.stderr[-2000:]
    return p.returncode, json.loads(p.stdout)


def test_a_mutant_is_killed_shrunk_and_written_as_a_trace_and_a_scenario(tmp_path: Path) -> None:
    code, out = _run_cli("--client", "broken:dial-during-pstn", "--generator", "tour",
                         "--seed", "1", "--max-steps", "600", tmp=tmp_path)
    assert code == 1 and out["verdict"] == "fail"
    v = out["violation"]
    assert v["rule"] in ("PSTN-NO-DIAL", "SYS-UNINIT"), v
    steps = v["steps"]
    assert any("PSTN" in s for s in steps) and any(s.startswith("the app dials") for s in steps)
    assert len(steps) <= 4, steps  # shrunk: a PSTN call, (initialize,) dial
    # the trace is the run's own and the validator finds the same rule in it
    trace = tmp_path / "explore-failure.jsonl"
    verdict = judge_file(trace, VOptions(callkit=False))
    assert verdict.conformant is False and verdict.violations[0].rule == v["rule"]
    feature = (tmp_path / "explore-failure.feature").read_text()
    assert feature.startswith("Feature:") and "Given an app without CallKit" in feature
    for s in steps:
        assert s in feature
    assert "@needs-pstn" in feature and "Then what the app is told is judged against the guide" \
        in feature


def test_the_shrunk_run_is_one_minimal() -> None:
    """Every step of the reported run is needed: without any one of them the client passes
    (or fails otherwise)."""
    factory, label = make_factory("broken:dial-during-pstn")
    res = explore(factory, label, Options(generator="random", seed=5, max_steps=600,
                                          database=None))
    f = res.finding
    assert f is not None
    by_phrase = {i.phrase: i for i in INPUTS}
    for drop in range(len(f.steps)):
        s = Session(factory, callkit=False, label=label, unsupported=set())
        rule = None
        try:
            for p in f.steps[:drop] + f.steps[drop + 1:]:
                if by_phrase[p] in s.enabled():
                    s.step(by_phrase[p])
        except Exception as e:  # noqa: BLE001
            rule = getattr(e, "rule", "other")
        finally:
            s.close()
        assert rule != f.rule, f"step {drop + 1} of {f.steps} is not needed"


def test_the_same_seed_replays_the_same_run() -> None:
    factory, label = make_factory("reference")
    a = explore(factory, label, Options(generator="quick_random", seed=11, max_steps=150,
                                        database=None))
    b = explore(factory, label, Options(generator="quick_random", seed=11, max_steps=150,
                                        database=None))
    assert a.steps == b.steps and a.covered == b.covered and a.sessions == b.sessions


class _NeverEnds:
    """The reference client, except that it never reports onCallEnded: after the callee is
    busy the spec owes it, so explore must call the silence a violation (quiescence)."""

    def __init__(self) -> None:
        factory, _ = make_factory("reference")
        self.inner = factory()
        self._q: "queue.Queue[dict]" = queue.Queue()

    def hello(self, *, callkit: bool) -> frozenset[str]:
        return self.inner.hello(callkit=callkit)

    def api(self, name: str, **kw: Any) -> Any:
        return self.inner.api(name, **kw)

    def stimulus(self, name: str, **kw: Any) -> None:
        self.inner.stimulus(name, **kw)

    def events(self) -> Any:
        inner = self.inner.events()
        me = self

        class View:
            def get_nowait(self) -> dict:
                return self.get(timeout=0)

            def get(self, block: bool = True, timeout: float | None = None) -> dict:
                while True:
                    ev = inner.get_nowait() if timeout == 0 else inner.get(timeout=timeout)
                    if ev.get("name") != "onCallEnded":
                        return ev

        del me
        return View()

    def close(self) -> None:
        self.inner.close()


def test_silence_where_the_spec_owes_a_callback_is_a_violation() -> None:
    res = explore(_NeverEnds, "never-ends", Options(generator="quick_random", seed=2,
                                                    max_steps=300, database=None, wait=0.2,
                                                    shrink=False))
    f = res.finding
    assert f is not None and f.kind == "quiescence", f and (f.kind, f.message)
    owed = f.message.split("owes ")[1].split(" and none came")[0]
    assert f.rule in RULES and f"Then the app gets {owed.split(' or ')[0]}" in res.gherkin
    assert any(s.startswith(("the callee", "the remote", "nobody", "the call ")) or "RTP" in s
               or "media" in s for s in f.steps), f.steps  # a network happening owed it


def test_usage_errors_exit_2() -> None:
    p = subprocess.run([*EXO, "explore", "--client", "no-such-client"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 2 and "unknown client" in p.stderr
    p = subprocess.run([*EXO, "explore", "--max-steps", "0"], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 2 and p.stderr.count("\n") == 1


class _DeclinesEverything:
    """A client that declines every stimulus and refuses every request it is sent: nothing
    can be explored, and that must not read as a pass."""

    def hello(self, *, callkit: bool) -> frozenset[str]:
        return frozenset({"core"})

    def api(self, name: str, **kw: Any) -> Any:
        from exovoice.spec.conform.adapter import Unsupported

        raise Unsupported(f"{name} is not here")

    def stimulus(self, name: str, **kw: Any) -> None:
        from exovoice.spec.conform.adapter import Unsupported

        raise Unsupported(f"{name} is not here")

    def events(self) -> "queue.Queue[dict]":
        return queue.Queue()

    def close(self) -> None:
        pass


def test_a_run_that_took_no_step_is_not_a_pass(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    import exovoice.spec.explore.run as run
    from exovoice.spec.cli import main

    res = explore(_DeclinesEverything, "declines", Options(generator="random", seed=1,
                                                           max_steps=50, database=None))
    assert res.finding is None and res.steps == 0 and res.unsupported
    monkeypatch.setattr(run, "make_factory", lambda c, cmd: (_DeclinesEverything, "declines"))
    assert main(["explore", "--client", "declines", "--max-steps", "50", "--no-db",
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "took no step" in err


def test_chained_generators_take_turns_and_an_unknown_one_is_refused(tmp_path: Path) -> None:
    """quick_random+tour: rounds of sessions alternate between the two, sharing what was
    covered; both take steps, and together they are the run's steps."""
    factory, label = make_factory("reference")
    res = explore(factory, label, Options(generator="quick_random+tour", seed=5, max_steps=300,
                                          database=None))
    assert res.finding is None, res.finding and res.finding.message
    assert set(res.generator_steps) == {"quick_random", "tour"}, res.generator_steps
    assert all(n > 0 for n in res.generator_steps.values()), res.generator_steps
    assert sum(res.generator_steps.values()) == res.steps
    p = subprocess.run([*EXO, "explore", "--generator", "quick_random+walk"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert "unknown generator walk" in p.stderr.strip().splitlines()[-1]


def test_a_callkit_call_never_reported_ended_is_found_after_the_step_that_ended_it(
        tmp_path: Path) -> None:
    """An app that never tells CallKit a call ended breaks nothing the next step would refuse;
    what it owes by itself (CK-REPORT-ENDED) is awaited after every step, with the bound of any
    owed callback, and the scenario says what was owed."""
    code, out = _run_cli("--client", "broken:callkit-end-unreported", "--callkit",
                         "--generator", "tour", "--seed", "1", "--max-steps", "600",
                         "--wait", "0.1", tmp=tmp_path)
    assert code == 1, out
    v = out["violation"]
    assert (v["kind"], v["rule"]) == ("quiescence", "CK-REPORT-ENDED"), v
    assert any(s.startswith("the app dials") for s in v["steps"]) and len(v["steps"]) <= 4
    feature = (tmp_path / "explore-failure.feature").read_text()
    assert "Given an app that integrates CallKit" in feature
    assert "Then CallKit gets reportCallEnded" in feature
    # the trace, judged as complete, breaks the same rule
    trace = tmp_path / "explore-failure.jsonl"
    verdict = judge_file(trace, VOptions(callkit=True, complete=True))
    assert verdict.conformant is False
    assert [x.rule for x in verdict.violations] == ["CK-REPORT-ENDED"], verdict.violations
    # and an app that does report it is not held to anything at its sessions' ends
    factory, label = make_factory("reference")
    res = explore(factory, label, Options(generator="tour", seed=1, max_steps=300,
                                          callkit=True, database=None))
    assert res.finding is None, res.finding and res.finding.message


def test_without_callkit_the_transitions_to_cover_are_none_of_callkits_or_pushkits() -> None:
    """The coverage a run reports is of the transitions a client in its mode can take: an app
    without CallKit is not measured against CallKit's and PushKit's regions (their states
    are ck_* and pk_*), and with CallKit those are all there."""
    from exovoice.spec.explore.run import transition_rules

    plain, ck = transition_rules(False), transition_rules(True)
    apple = {t for t in ck if t.split(":", 1)[1].startswith(("ck_", "pk_"))}
    assert apple and set(plain) == set(ck) - apple
    assert {r for t, r in ck.items() if t in apple} >= {"CK-START", "CK-PUSH", "CK-REPORT-ENDED"}


def test_pairs_finds_a_fault_that_needs_two_steps_combined_in_a_live_call() -> None:
    """A headset joined during a call and then chosen: the model's state before the failing
    step is one a transition tour has already covered, so only the history tells it apart.
    `pairs` follows each step the spec accepted during a live call with one that has not
    followed it yet, and finds it within 3,000 steps (bench/mutation.py runs the repeats, a
    second mute and a second media loss, with the other 36 mutants)."""
    fault = "bluetooth-joined-mid-call"
    factory, label = make_factory(f"broken:{fault}")
    res = explore(factory, label, Options(generator="pairs", seed=1, max_steps=3000,
                                          database=None, shrink=False))
    assert res.finding is not None, f"{fault} survived {res.steps} steps"
    assert res.finding.rule in ("API-REFUSAL", "AUDIO-BT"), res.finding.message
    assert "ESTABLISHED" in res.finding.message  # refused in a live call


def test_pairs_blames_nothing_on_the_reference_client() -> None:
    """Driven the same way, the unmutated client passes (the mutants' kills are theirs)."""
    factory, label = make_factory("reference")
    clean = explore(factory, label, Options(generator="pairs", seed=1, max_steps=500,
                                            database=None, shrink=False))
    assert clean.finding is None, clean.finding and clean.finding.message
    assert clean.steps > 400 and clean.generator_steps == {"pairs": clean.steps}
