"""The spec's charts exported to other statechart tools: W3C SCXML (`*.scxml`) and XState v5
machine configurations (JSON), read from the same ClientModel every other artefact is drawn
from.

Guards are exported by name: a guard reads the client's data (call ids, the announced flag,
a CallKit action pending) that only the spec keeps, so each guarded transition tests named
conditions the host supplies with the event (`g_<guard>`, all of which must hold), and the
actions that keep that data are left to the host. States, regions, events, targets and the
order transitions are tried in are the spec's own.
"""

from .model import CHARTS, ExportChart, chart
from .scxml import to_scxml
from .xstate import to_xstate, write_exports

__all__ = ["CHARTS", "ExportChart", "chart", "to_scxml", "to_xstate", "write_exports"]
