"""Coverage-guided fuzzing of the trace reader and the validator with atheris (libFuzzer).

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
    from exovoice.spec.validate.compiled import FastJudge

_TABLES: dict = {}


def one_input(data: bytes) -> None:
    judge = FastJudge(_TABLES, callkit=False, complete=True)
    for lineno, d in iter_raw(io.BytesIO(data), name="fuzz", max_line=4096):
        if isinstance(d, Unusable):
            assert "\n" not in str(d) and str(d).startswith("fuzz:")
            continue
        if not judge.feed(lineno, d):
            break
    judge.finish()


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
