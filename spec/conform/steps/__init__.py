"""The step library: client-agnostic pytest-bdd steps for the features in features/, one
module per area of the guide (lifecycle, calls, audio, PSTN, CallKit, feedback, the platform)
beside the Then steps every area shares (outcomes) and what they all build on (common).

Every step drives the client through the `conform` fixture (a ScenarioContext over a
ClientAdapter) and waits on its events with a bound, never a fixed sleep. Arguments are parsed
by typed parsers (parse formats and regular expressions with closed alternatives); nothing a
feature file says is ever evaluated as code.

A step that needs a capability the client did not declare makes the scenario not-run.

Load it as a pytest plugin (`-p exovoice.spec.conform.steps`, or in `pytest_plugins`): it
registers each area's module in turn.
"""

pytest_plugins = [
    "exovoice.spec.conform.steps.callkit",
    "exovoice.spec.conform.steps.lifecycle",
    "exovoice.spec.conform.steps.calls",
    "exovoice.spec.conform.steps.pstn",
    "exovoice.spec.conform.steps.audio",
    "exovoice.spec.conform.steps.feedback",
    "exovoice.spec.conform.steps.outcomes",
    "exovoice.spec.conform.steps.platform",
]
