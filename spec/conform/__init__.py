"""Conformance: the guide's Gherkin features run against any client. The adapter protocol
(in-process Python and JSON lines over a subprocess), the step library, the pytest plugin
that gives every scenario a fresh client and judges its trace, the model client, the broken
clients that prove the features have teeth, and the `exovoice conform` runner."""
