"""exovoice as a user installs it: the wheel built from this checkout, in a fresh venv, used
from a project of the user's own that has its own `spec` and `reference` packages.

The wheel must put one import package, `exovoice`, at the top of site-packages, and the
command line, the pytest plugin and the validator must work from such a project without the
user's names and ours getting in each other's way. The fresh venv gets exovoice with
`--no-deps`; its dependencies (pydantic, python-statemachine, pytest-bdd...) are the ones
this test run already has, reached through a path file, so the test needs no network and the
only exovoice it can import is the wheel's.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "spec", "reference", "features")


def _run(argv: list[str], cwd: Path, env: dict[str, str] | None = None,
         timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the checkout's sources (so the build leaves nothing in
    the checkout and proves those folders are all a build needs)."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        p = ROOT / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(p, src / name)
    out = tmp_path_factory.mktemp("dist")
    res = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                "--disable-pip-version-check", "-q", "-w", str(out), str(src)], cwd=src)
    assert res.returncode == 0, res.stderr[-3000:]
    wheels = list(out.glob("exovoice-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("venv")
    res = _run([sys.executable, "-m", "venv", str(home)], cwd=home)
    assert res.returncode == 0, res.stderr
    vpy = home / "bin" / "python"
    purelib = Path(_run([str(vpy), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                        cwd=home).stdout.strip())
    # exovoice from the wheel by the venv's own pip (a pip of this run's environment would
    # uninstall this run's exovoice first), its dependencies from this run's environment
    res = _run([str(vpy), "-m", "pip", "install", "--no-deps", "--no-index", "-q",
                "--disable-pip-version-check", str(wheel)], cwd=home)
    assert res.returncode == 0, res.stderr[-3000:]
    ours = [Path(p) for p in site.getsitepackages()] + [Path(sysconfig.get_path("purelib"))]
    (purelib / "dependencies-of-this-test.pth").write_text(
        "\n".join(sorted({str(p) for p in ours if p.is_dir()})) + "\n")
    return home


@pytest.fixture
def user_project(tmp_path: Path) -> Path:
    """A project with packages named like ours, and a test binding our features its own way."""
    proj = tmp_path / "userproj"
    for name in ("spec", "reference"):
        (proj / name).mkdir(parents=True)
        (proj / name / "__init__.py").write_text(f'OWNER = "the user\'s own {name}"\n')
    (proj / "spec" / "vocabulary.py").write_text('WORDS = ["the user\'s"]\n')
    (proj / "tests").mkdir()
    (proj / "tests" / "test_ours.py").write_text(textwrap.dedent('''
        import spec, spec.vocabulary, reference

        def test_our_packages_are_ours():
            assert spec.OWNER == "the user's own spec"
            assert reference.OWNER == "the user's own reference"
            assert spec.vocabulary.WORDS == ["the user's"]
        '''))
    (proj / "tests" / "test_exovoice_features.py").write_text(textwrap.dedent('''
        from pytest_bdd import scenarios

        from exovoice.spec.conform.plugin import features_dir, register_markers

        pytest_plugins = ["exovoice.spec.conform.plugin", "exovoice.spec.conform.steps"]
        register_markers()
        scenarios(str(features_dir()))
        '''))
    return proj


def _env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_the_wheel_installs_one_top_level_package(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        tops = {n.split("/", 1)[0] for n in z.namelist()}
        names = z.namelist()
    assert {t for t in tops if not t.endswith(".dist-info")} == {"exovoice"}
    assert "exovoice/features/pstn.feature" in names
    assert "exovoice/spec/conform/steps/calls.py" in names
    assert "exovoice/reference/sdk/client.py" in names
    assert not any(n.startswith(("exovoice/tests/", "exovoice/bench/")) for n in names)


def test_the_wheel_declares_extras_by_use(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        meta = next(z.read(n).decode() for n in z.namelist() if n.endswith("dist-info/METADATA"))
    requires = [line.split(":", 1)[1].strip() for line in meta.splitlines()
                if line.startswith("Requires-Dist:")]
    base = [r for r in requires if "extra ==" not in r]
    assert not any(r.startswith("pjsua2") for r in base), base
    assert any(r.startswith("pjsua2-python") and 'extra == "sip"' in r for r in requires)
    assert any(r.startswith("hypothesis") and 'extra == "test"' in r for r in requires)
    assert any(r.startswith("distributed") and 'extra == "dask"' in r for r in requires)
    assert not any(r.startswith(("distributed", "dask", "fsspec")) for r in base), base
    assert {"python-statemachine", "pydantic", "pytest-bdd", "msgspec"} <= {
        r.split(">")[0].split("=")[0].split("<")[0].strip() for r in base}


def test_exovoice_comes_from_the_wheel_not_the_checkout(venv: Path, user_project: Path) -> None:
    res = _run([str(venv / "bin" / "python"), "-c",
                "import exovoice.spec, exovoice.reference.sdk, spec; "
                "print(exovoice.spec.__file__); print(spec.__file__)"],
               cwd=user_project, env=_env(venv))
    assert res.returncode == 0, res.stderr
    ours, theirs = res.stdout.split()
    assert Path(ours).is_relative_to(venv), ours
    assert Path(theirs).is_relative_to(user_project), theirs


def test_conform_runs_in_the_users_project(venv: Path, user_project: Path) -> None:
    traces = user_project / "traces"
    res = _run([str(venv / "bin" / "exovoice"), "conform", "--client", "reference",
                "--tags", "guide-4.11", "--trace-dir", str(traces)],
               cwd=user_project, env=_env(venv))
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert " passed" in res.stdout and "failed" not in res.stdout.split("passed")[0][-20:]
    assert list(traces.glob("*.jsonl")), "conform wrote no trace"


def test_validate_runs_in_the_users_project(venv: Path, user_project: Path) -> None:
    trace = user_project / "call.jsonl"
    lines = [
        {"kind": "meta", "name": "trace", "args": {"version": 1, "callkit": False}},
        {"kind": "api", "name": "initialize", "args": {"subscriberName": "alice"}},
        {"kind": "callback", "name": "onInitializationSuccess"},
    ]
    trace.write_text("".join(json.dumps(line) + "\n" for line in lines))
    res = _run([str(venv / "bin" / "exovoice"), "validate", "--format", "json", str(trace)],
               cwd=user_project, env=_env(venv))
    assert res.returncode == 0, res.stdout + res.stderr
    assert json.loads(res.stdout.splitlines()[0])["conformant"] is True
    trace.write_text("".join(json.dumps(line) + "\n" for line in lines[:1] + lines[2:]))
    res = _run([str(venv / "bin" / "exovoice"), "validate", str(trace)],
               cwd=user_project, env=_env(venv))
    assert res.returncode == 1, res.stdout + res.stderr


def test_the_pytest_plugin_runs_beside_the_users_own_packages(venv: Path,
                                                              user_project: Path) -> None:
    res = _run([str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                "-k", "test_our_packages_are_ours or feedback"],
               cwd=user_project, env=_env(venv))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    summary = res.stdout.strip().splitlines()[-1]
    passed = int(summary.split(" passed")[0].split()[-1])
    assert passed >= 3, summary  # the user's own test and at least two feedback scenarios


def test_a_command_whose_extra_is_missing_names_the_extra(venv: Path, user_project: Path) -> None:
    """The fresh venv has the base install only: pjsua2 is blocked, as on a machine without
    exovoice[sip]."""
    block = user_project / "blocker"
    block.mkdir()
    (block / "pjsua2.py").write_text("raise ImportError('No module named pjsua2')\n")
    env = _env(venv) | {"PYTHONPATH": str(block)}
    for argv in (["demo"], ["conform", "--client", "reference-sip"]):
        res = _run([str(venv / "bin" / "exovoice"), *argv], cwd=user_project, env=env)
        assert res.returncode == 2, (argv, res.stdout[-500:], res.stderr[-1500:])
        err = res.stderr.strip().splitlines()
        assert len(err) == 1, err
        assert "pip install 'exovoice[sip]'" in err[0], err
