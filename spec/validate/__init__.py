"""The validator: is a recorded trace something some run of the spec produces, when the
unobserved network steps may happen between any two lines? The reference engine walks the
composed statechart; the compiled engine judges production-size logs on plain tables built
from the same charts; `run` is the file and directory front end `exovoice validate` uses."""
