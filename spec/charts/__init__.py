"""The statecharts of the spec: one python-statemachine region per chart of the guide (call
state, client lifecycle and logs, PSTN, Bluetooth and network, CallKit and PushKit, missed
calls, API refusals), each transition tagged with its rule and guide section, composed into
the one parallel `ClientModel` everything else is derived from."""

from .model import ClientModel, Vars, transitions_of

__all__ = ["ClientModel", "Vars", "transitions_of"]
