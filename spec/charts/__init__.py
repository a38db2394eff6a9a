"""The statecharts of the spec: one region per chart, composed into `ClientModel`."""

from .model import ClientModel, Vars, transitions_of

__all__ = ["ClientModel", "Vars", "transitions_of"]
