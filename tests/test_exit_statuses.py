"""Exit statuses are a contract: 0 good, 1 non-conformant or failed, 2 unusable input or usage.
Every path a command writes is checked before it starts, and a mistake is one line and exit 2,
never a traceback and exit 1 (which would read as "non-conformant"). And the demo leaves no
temporary directory behind unless --keep asks for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from exovoice.reference.sip.endpoint import HAVE_PJSUA2, IMPORT_ERROR
from exovoice.spec.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "exovoice.spec", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    f = tmp_path / "a-file"
    f.write_text("not a directory")
    return f


@pytest.mark.parametrize("where", ["is", "under"])
def test_demo_keep_on_a_file_is_exit_2(where: str, a_file: Path) -> None:
    keep = a_file if where == "is" else a_file / "traces"
    done = run("demo", "--keep", str(keep), timeout=30)
    assert done.returncode == 2
    assert one_line(done.stderr).startswith(f"exovoice demo: --keep {keep}: ")


@pytest.mark.parametrize("where", ["is", "under"])
def test_diagrams_out_on_a_file_is_exit_2(where: str, a_file: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = a_file if where == "is" else a_file / "diagrams"
    assert main(["diagrams", "--out", str(out)]) == 2
    assert one_line(capsys.readouterr().err).startswith(f"exovoice: --out {out}: ")


def test_validate_report_under_a_file_is_exit_2_before_any_judging(
        a_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = a_file / "r.html"
    assert main(["validate", "--report", str(report), str(a_file)]) == 2
    assert one_line(capsys.readouterr().err) == \
        f"exovoice: --report {report}: {a_file} is a file, not a directory"


def test_conform_junit_under_a_file_is_exit_2_as_a_subprocess(a_file: Path) -> None:
    done = run("conform", "--junit-xml", str(a_file / "j.xml"), timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert one_line(done.stderr).startswith("exovoice conform: --junit-xml ")


@pytest.mark.skipif(not HAVE_PJSUA2, reason=f"pjsua2 not importable: {IMPORT_ERROR}")
def test_the_demo_removes_its_temporary_directory_unless_kept() -> None:
    done = run("demo", "--format", "json", "--talk", "0", timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    where = Path(out["setup"]["dir"])
    assert where.name.startswith("exovoice-demo-")
    assert not where.exists(), f"{where} left behind"
    assert not os.path.exists(out["traces"]["alice"])
