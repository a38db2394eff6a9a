"""exovoice's formal specification of the Exotel Voice client SDK's call flow, and the tools
that need nothing but the specification: the vocabulary and rules at the bottom, the trace
model and the statecharts on them, then the validator and the diagrams, the conformance runner
and the command line on top, each importing only downward. It never imports
`exovoice.reference`."""

__version__ = "0.1.0"
