"""Coverage-guided fuzzing of the trace reader and the validator with atheris (libFuzzer):
the validator's interned loop is held to the reference reader's verdict on every input.

    python tests/fuzz_reader.py -runs=20000      # or -max_total_time=60

Any exception escaping `judge_file` on arbitrary bytes is a crash: the contract is a verdict
or a one-line unusable reason, never a traceback. tests/test_validate.py runs it briefly.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

with atheris.instrument_imports():
    from exovoice.spec.trace.reader import Unusable, iter_raw
    from exovoice.spec.validate import shapes, stream
    from exovoice.spec.validate.compiled import FastJudge
    from exovoice.spec.validate.run import Options, judge_file, judge_lines

_TABLES: dict = {}
_OPTS = Options(complete=True)
shapes.BLOCK = 64  # small blocks: lines cross block boundaries


def one_input(data: bytes) -> None:
    judge = FastJudge(_TABLES, callkit=False, complete=True)
    for lineno, d in iter_raw(io.BytesIO(data), name="fuzz", max_line=4096):
        if isinstance(d, Unusable):
            assert "\n" not in str(d) and str(d).startswith("fuzz:")
            continue
        if not judge.feed(lineno, d):
            break
    judge.finish()
    # the validator's loops (block reader; blocks decoded whole, or line shapes) against the
    # reference reader line by line: the same verdict, the same line number for a bad line
    ref = judge_lines(io.BytesIO(data), _OPTS, label="fuzz")
    for decoded in (True, False):
        stream.DECODED = decoded
        fast = judge_file(io.BytesIO(data), _OPTS, label="fuzz")
        assert (fast.as_json(True), fast.lines) == (ref.as_json(True), ref.lines), (fast, ref)
    stream.DECODED = True


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
