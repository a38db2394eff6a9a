"""`exovoice export`: the charts as W3C SCXML and as XState v5 configurations, each run by the
other tool's own engine on generated event sequences and held to the spec's configurations.

The exported guards are the spec's, by name (g_<guard>): for each event the harness asks the
spec's model what each guard says in the state it is in, and hands the answers to the loaded
machine with the event, as a host would. Everything else (states, regions, initial states,
events, targets, the order transitions are tried in) is the export's own, so a wrong target,
a lost transition, a missing guard or a misplaced region shows as a different configuration.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from helpers import ALL_LETTERS, Letter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from statemachine.io import load

from exovoice.spec.base import SpecViolation
from exovoice.spec.charts.model import ClientModel
from exovoice.spec.cli import main
from exovoice.spec.export import CHARTS, chart, to_scxml, to_xstate
from exovoice.spec.export.model import GUARD_PREFIX
from exovoice.spec.vocabulary import OBSERVABLE_EVENTS, Kind

from node_tools import run_node

LETTERS = [x for x in ALL_LETTERS if x.call is None]  # ids are the host's data, not a state
INIT = [Letter("initialize", params=(("subscriberName", "alice"),)),
        Letter("onInitializationSuccess")]
ALL_GUARDS = sorted({g for name in CHARTS for g in chart(name).guards()})


def guard_facts(m: ClientModel, letter: Letter) -> dict[str, bool]:
    """What each of the spec's guards says about this event here (as python-statemachine
    would call it: with the event, its result, its arguments)."""
    kwargs = {"event": SimpleNamespace(id=letter.event), "result": letter.result,
              "params": letter.args, "call": None}
    out = {}
    for g in ALL_GUARDS:
        fn = getattr(m, g)
        if callable(fn):
            sig = inspect.signature(fn)
            takes_all = any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values())
            args = kwargs if takes_all else {k: v for k, v in kwargs.items() if k in sig.parameters}
            out[GUARD_PREFIX + g] = bool(fn(**args))
        else:
            out[GUARD_PREFIX + g] = bool(fn)
    m._denials = []
    return out


def spec_run(letters: list[Letter], callkit: bool) -> list[tuple[str, dict[str, bool], list[str]]]:
    """Each event the spec's charts see, the guards' answers before it, and the leaf states
    after it (the event may be refused: then nothing changes, in both)."""
    m = ClientModel(callkit=callkit)
    steps = []
    for letter in [*INIT, *letters]:
        if OBSERVABLE_EVENTS.get(letter.event) == Kind.CALLKIT and not callkit:
            continue  # refused before any chart is asked (CK-MODE), like a call id
        facts = guard_facts(m, letter)
        try:
            m._fire(letter.event, result=letter.result, params=letter.args)
        except SpecViolation:
            pass
        steps.append((letter.event, facts, m.leaf_states()))
    return steps


def leaves_of(name: str, leaf_states: list[str]) -> list[str]:
    mine = set(chart(name).leaves())
    return sorted(s for s in leaf_states if s in mine)


sequences = st.lists(st.lists(st.sampled_from(LETTERS), min_size=1, max_size=14),
                     min_size=8, max_size=8)


def test_every_chart_exports_as_scxml_with_the_spec_states_and_transitions() -> None:
    for name in CHARTS:
        text = to_scxml(chart(name))
        assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
        assert 'xmlns="http://www.w3.org/2005/07/scxml"' in text
        machine = load(text, format="scxml", name=name.replace("-", "_"))()
        assert set(chart(name).leaves()) <= {s.id for s in type(machine).states_map.values()}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs=sequences, callkit=st.booleans())
def test_scxml_loaded_by_python_statemachine_reaches_the_spec_configurations(
        runs: list[list[Letter]], callkit: bool) -> None:
    machines = {name: load(to_scxml(chart(name)), format="scxml",
                           name=name.replace("-", "_")) for name in CHARTS}
    for letters in runs:
        steps = spec_run(letters, callkit)
        running = {name: cls() for name, cls in machines.items()}
        for event, facts, after in steps:
            for name, m in running.items():
                m.send(event, **facts)
                got = sorted(s.id for s in m.configuration if not s.states)
                assert got == leaves_of(name, after), (name, event, [x.event for x in letters])


XSTATE_RUN = r"""
const { createMachine, createActor } = require('xstate');
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
function leaves(value, out) {
  if (typeof value === 'string') { out.push(value); return out; }
  for (const [k, v] of Object.entries(value)) leaves(v, out);
  return out;
}
const results = {};
for (const [name, config] of Object.entries(input.machines)) {
  const { $comment, ...cfg } = config;
  const machine = createMachine(cfg, { guards: {
    spec: ({ event }, params) => params.all.every(g => event['g_' + g] === true) } });
  results[name] = input.runs.map(run => {
    const actor = createActor(machine); actor.start();
    const seen = [];
    for (const step of run) {
      actor.send({ type: step.event, ...step.facts });
      seen.push(leaves(actor.getSnapshot().value, []).sort());
    }
    actor.stop();
    return seen;
  });
}
process.stdout.write(JSON.stringify(results));
"""


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs=sequences, callkit=st.booleans())
def test_xstate_config_run_by_xstate_under_node_reaches_the_spec_configurations(
        runs: list[list[Letter]], callkit: bool) -> None:
    spec_runs = [spec_run(letters, callkit) for letters in runs]
    payload = {"machines": {name: to_xstate(chart(name)) for name in CHARTS},
               "runs": [[{"event": e, "facts": f} for e, f, _ in run] for run in spec_runs]}
    got: Any = run_node(XSTATE_RUN, payload)
    for name in CHARTS:
        for run, seen in zip(spec_runs, got[name]):
            assert seen == [leaves_of(name, after) for _e, _f, after in run], name


def test_the_export_command_writes_every_chart(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--format", "scxml", "--out", str(tmp_path / "scxml")]) == 0
    assert sorted(p.name for p in (tmp_path / "scxml").iterdir()) == sorted(
        f"{n}.scxml" for n in CHARTS)
    assert main(["export", "--format", "xstate", "--out", str(tmp_path / "xs")]) == 0
    assert sorted(p.name for p in (tmp_path / "xs").iterdir()) == sorted(
        f"{n}.xstate.json" for n in CHARTS)
    a_file = tmp_path / "f"
    a_file.write_text("")
    capsys.readouterr()
    assert main(["export", "--format", "scxml", "--out", str(a_file)]) == 2
    assert capsys.readouterr().err.strip() == \
        f"exovoice: --out {a_file}: is a file, not a directory"
