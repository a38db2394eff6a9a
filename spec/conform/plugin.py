"""The pytest plugin behind the features: the per-scenario context fixture, the client
selection, and the hooks that make a scenario a conformance test.

- every scenario gets a fresh client (ScenarioContext over a new adapter);
- tags: `@needs-<capability>` make the scenario not-run when the client lacks it
  (`@needs-callkit` also starts the client in CallKit mode; `@needs-platform` needs a client
  that declares `platform` and so drives its platform simulator through `platform(op, args)`);
- a `Then` step with no earlier `When` is refused (sismic's rule: a scenario must do something
  before it checks something);
- at the end of every scenario its trace is judged by the validator, and a spec violation fails
  the scenario even where no step looked;
- a scenario that runs longer than EXOVOICE_SCENARIO_TIMEOUT seconds fails (a client that
  answered hello and then hung must not hold the run).

Load it with `pytest_plugins = ["exovoice.spec.conform.plugin", "exovoice.spec.conform.steps"]` (the binding in
tests/test_features.py and the runner's own binding do).
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from .adapter import Capability, ClientAdapter
from .context import ProtocolError, ScenarioContext

CLIENT_ENV = "EXOVOICE_CLIENT"
TRACE_DIR_ENV = "EXOVOICE_TRACE_DIR"
CLIENT_CMD_ENV = "EXOVOICE_CLIENT_CMD"
TIMEOUT_ENV = "EXOVOICE_SCENARIO_TIMEOUT"  # seconds one scenario may run (conform --timeout)
CLIENTS_GROUP = "exovoice.clients"  # entry points: name -> ClientAdapter factory
REPORT_KEY = pytest.StashKey[dict]()

CAPABILITY_TAGS = {f"needs-{c}": c for c in Capability.ALL}
PLATFORM_TAG = f"needs-{Capability.PLATFORM}"


def features_dir() -> Path:
    """The features shipped with exovoice: inside the package when installed, else the
    checkout's top-level features/."""
    here = Path(__file__).resolve().parent
    for cand in (here / "features", here.parent.parent / "features"):
        if cand.is_dir() and any(cand.glob("*.feature")):
            return cand
    raise FileNotFoundError("exovoice's feature files are missing from this installation")


def feature_tags() -> set[str]:
    tags: set[str] = set()
    try:
        root = features_dir()
    except FileNotFoundError:
        return tags
    for f in root.glob("*.feature"):
        tags.update(re.findall(r"(?<!\S)@([^\s@]+)", f.read_text(encoding="utf-8")))
    return tags


# --- client selection -------------------------------------------------------------------------
def make_factory(client: str | None = None, cmd: str | None = None) -> tuple[Callable[[], ClientAdapter], str]:
    """An adapter factory and a label, from explicit choices or the environment."""
    cmd = cmd if cmd is not None else os.environ.get(CLIENT_CMD_ENV)
    if cmd:
        from .jsonlines import JsonLinesAdapter

        argv = shlex.split(cmd)
        return (lambda: JsonLinesAdapter(argv)), f"cmd:{argv[0] if argv else ''}"
    client = client or os.environ.get(CLIENT_ENV) or "reference"
    if client == "model":
        from .model_client import ModelAdapter

        return ModelAdapter, "model"
    if client.startswith("broken:"):
        from .clients import UnknownClient, mutant_factory

        try:
            return mutant_factory(client), client
        except UnknownClient as e:
            raise ValueError(str(e)) from e
    # in-process clients registered by installed distributions (the reference client registers
    # itself as "reference"): spec never imports them by name (one-way layering)
    from importlib.metadata import entry_points

    found = [ep for ep in entry_points(group=CLIENTS_GROUP) if ep.name == client]
    if found:
        return found[0].load(), "exovoice-reference" if client == "reference" else client
    known = sorted({ep.name for ep in entry_points(group=CLIENTS_GROUP)} | {"model"})
    raise ValueError(f"unknown client {client!r}: use {', '.join(known)}, broken:<fault> or "
                     "--client-cmd")


@pytest.fixture
def client_adapter_factory() -> Callable[[], ClientAdapter]:
    """Override this fixture to judge another in-process client."""
    return make_factory()[0]


@pytest.fixture
def conform(request: pytest.FixtureRequest,
            client_adapter_factory: Callable[[], ClientAdapter]) -> Iterator[ScenarioContext]:
    label = os.environ.get(CLIENT_CMD_ENV) and "cmd" or os.environ.get(CLIENT_ENV) or "reference"
    ctx = ScenarioContext(client_adapter_factory, client_label=f"exovoice-conform:{label}")
    keep = os.environ.get(TRACE_DIR_ENV)
    if keep:  # every run can leave its traces, one file per scenario, for exovoice validate
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)[:120]
        ctx.keep_trace = Path(keep) / f"{safe}.jsonl"
    report = request.node.stash.setdefault(REPORT_KEY, {})
    report["ctx"] = ctx
    yield ctx
    ctx.close()


# --- hooks ------------------------------------------------------------------------------------
class ScenarioTimeout(AssertionError):
    """The scenario ran longer than its bound (conform --timeout)."""


def _timeout() -> float:
    try:
        return max(0.0, float(os.environ.get(TIMEOUT_ENV) or 0))
    except ValueError:
        return 0.0


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Bound the scenario: an alarm raises ScenarioTimeout in the step that is waiting, so
    the scenario fails with the reason and its teardown closes the client. The alarm needs
    the main thread (where pytest runs); elsewhere scenarios rely on the steps' own bounds."""
    limit = _timeout()
    if not limit or threading.current_thread() is not threading.main_thread() \
            or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise ScenarioTimeout(f"timeout: the scenario ran longer than {limit:g} s (--timeout)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def register_markers(config: pytest.Config | None = None) -> None:
    """Declare the features' tags as markers (pytest-bdd turns tags into marks when a binding
    module is imported, which can be before this plugin is registered: bindings call this
    first)."""
    if config is None:
        from pytest_bdd.utils import CONFIG_STACK

        if not CONFIG_STACK:
            return
        config = CONFIG_STACK[-1]
    known = {str(m).split(":")[0] for m in config.getini("markers")}
    for tag in sorted(feature_tags() | set(CAPABILITY_TAGS) | {PLATFORM_TAG}):
        if tag not in known:
            config.addinivalue_line("markers", f"{tag}: exovoice feature tag")


def pytest_configure(config: pytest.Config) -> None:
    register_markers(config)


def then_without_when(steps: list[Any]) -> Any | None:
    """The first Then step with no When before it (sismic's rule), or None."""
    when_seen = False
    for step in steps:
        if step.type == "when":
            when_seen = True
        elif step.type == "then" and not when_seen:
            return step
    return None


def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    report = request.node.stash.setdefault(REPORT_KEY, {})
    report["scenario"] = scenario
    report["feature"] = feature
    report["steps"] = []
    bad = then_without_when(scenario.steps)
    if bad is not None:
        pytest.fail(f"scenario {scenario.name!r}: {bad} (line {bad.line_number}) has no When "
                    "before it; a scenario must act before it checks", pytrace=False)
    tags = set(scenario.tags) | set(feature.tags)
    ctx: ScenarioContext = request.getfixturevalue("conform")
    if "needs-callkit" in tags:
        ctx.use_callkit(True)
    caps = [c for t, c in CAPABILITY_TAGS.items() if t in tags]
    ctx.need(Capability.CORE, *caps)


def pytest_bdd_before_step(request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any,
                           step_func: Any) -> None:
    report = request.node.stash.setdefault(REPORT_KEY, {})
    steps = report.setdefault("steps", [])
    ctx: ScenarioContext | None = report.get("ctx")
    prev = steps[-1][0] if steps else None
    if ctx is not None and step.type == "when" and (prev is None or prev.type != "when"):
        if ctx.started:
            ctx.drain()
        ctx.mark = ctx.here()  # in causal order: a late event of a Given stays before it
        if ctx.first_when is None:
            ctx.first_when = ctx.mark
    steps.append([step, "running"])
    report["step_started"] = time.monotonic()


def pytest_bdd_after_step(request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any,
                          step_func: Any, step_func_args: Any) -> None:
    report = request.node.stash.setdefault(REPORT_KEY, {})
    steps = report.setdefault("steps", [])
    if steps:
        steps[-1][1] = "passed"
        _took(report, steps[-1][0])


def _took(report: dict, step: Any) -> None:
    started = report.pop("step_started", None)
    if started is not None:
        report.setdefault("durations", {})[id(step)] = time.monotonic() - started


def pytest_bdd_step_error(request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any,
                          step_func: Any, step_func_args: Any, exception: BaseException) -> None:
    report = request.node.stash.setdefault(REPORT_KEY, {})
    steps = report.setdefault("steps", [])
    if steps:
        steps[-1][1] = "skipped" if isinstance(exception, pytest.skip.Exception) else "failed"
        _took(report, steps[-1][0])
    if not isinstance(exception, pytest.skip.Exception):
        report["failed"] = True
        if isinstance(exception, ProtocolError):
            report["protocol_error"] = str(exception)
            report["client_broken"] = exception.fatal


def pytest_bdd_after_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    report = request.node.stash.setdefault(REPORT_KEY, {})
    ctx: ScenarioContext | None = report.get("ctx")
    if ctx is None or not ctx.started:
        return
    skipped = any(s == "skipped" for _, s in report.get("steps", []))
    if skipped:
        return
    verdict = ctx.judge()
    report["verdict"] = verdict
    if verdict is None:
        return
    if (verdict.violation is not None or verdict.unusable) and not report.get("failed"):
        report["failed"] = True
        raise AssertionError(verdict.explain())
