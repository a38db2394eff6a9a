"""Fleet validation: the interned loop against the line-by-line path, work split by bytes, the
fleet report, memory on a corpus larger than what the validator holds, and a real Dask cluster
(a scheduler and two workers on loopback, one killed mid-run) giving the local run's bytes."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exovoice.spec.cli import main
from exovoice.spec.validate import compiled, shapes, stream
from exovoice.spec.validate.run import Options, Progress, batches, judge_file, judge_lines
from exovoice.spec.validate.summary import ProgressLine
from exovoice.spec.check.alphabet import alphabet

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import corpus, corpus_unusual  # noqa: E402

EXOVOICE = [sys.executable, "-m", "exovoice.spec"]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both generators' traces, with planted faults: 24 + 16 files."""
    d = tmp_path_factory.mktemp("fleet")
    corpus.generate(d, 24, 300, seed=7, bad_share=0.3)
    corpus_unusual.generate(d, 16, 300, seed=8, bad_share=0.3, pool=8)
    return d


def _same(src: Path | bytes, opts: Options) -> None:
    if isinstance(src, bytes):
        fast = judge_file(io.BytesIO(src), opts, label="t")
        ref = judge_lines(io.BytesIO(src), opts, label="t")
    else:
        fast, ref = judge_file(src, opts), judge_lines(src, opts)
    assert (fast.as_json(True), fast.lines, fast.unusable) == \
        (ref.as_json(True), ref.lines, ref.unusable)


@pytest.mark.parametrize("decoded", [True, False], ids=["decoded-blocks", "interned-lines"])
@pytest.mark.parametrize("opts", [Options(), Options(complete=True), Options(coverage=True),
                                  Options(callkit=True, complete=True)], ids=str)
def test_the_interned_loop_gives_the_line_by_line_verdicts(fleet: Path, opts: Options,
                                                           decoded: bool,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """Every file of both corpora, in blocks that cut lines anywhere: the same verdict,
    violation, line numbers and coverage as the reference reader fed to FastJudge.feed,
    whether blocks are decoded whole or judged line by line on interned shapes."""
    monkeypatch.setattr(shapes, "BLOCK", 997)
    monkeypatch.setattr(stream, "DECODED", decoded)
    files = sorted(fleet.glob("*.jsonl"))
    for f in files:
        _same(f, opts)
    assert any(judge_file(f, opts).conformant is False for f in files)


# lines of both corpora, then changed the ways a shape could be fooled: values with escapes,
# non-ASCII or invalid UTF-8, numbers where strings were, a ts that goes back, overflows or is
# a string, keys repeated or nested, whitespace, blank lines
_MUTATIONS = [
    (b'"call":"', b'"call":"\\u00e9'), (b'"call":"', b'"call":"\xc3\xa9'),
    (b'"call":"', b'"call":"\xff'), (b'"call":"', b'"call":1,"x":"'),
    (b'"ts":', b'"ts":1e999,"y":'), (b'"ts":1', b'"ts":-1'), (b'"ts":', b'"ts":"1",'),
    (b'"ts":', b'"ts":10000000000000000000000000000.5,"z":'), (b'"uuid":"', b'"uuid":"\\"'),
    (b'"args":{', b'"args":{"call":"zz",'), (b'"kind"', b'"call":"q","kind"'),
    (b'"name":"', b'"name":"on'), (b"}", b"} "), (b"{", b"\xef\xbb\xbf{"), (b"}", b"}\r"),
    (b'"message":"', b'"message":"hi there '), (b'"subscriberName":"', b'"subscriberName":"\\t'),
    # what a typed decoder accepts but the format refuses: the decoded loop must hand these
    # lines to the reference reader (a result off an api line, a result that is no ErrorType,
    # a meta line after the first, a name of another kind, a null call, a kind in capitals)
    (b'"name":"', b'"result":"ok","name":"'), (b'"name":"', b'"result":"fine","name":"'),
    (b'"name":"', b'"result":{"error":"NOPE"},"name":"'),
    (b'"name":"', b'"result":{"error":"SYSTEM_BUSY","why":1},"name":"'),
    (b'"kind":"api"', b'"kind":"meta"'), (b'"kind":"callback"', b'"kind":"api"'),
    (b'"call":"', b'"call":null,"c":"'), (b'"kind":"api"', b'"kind":"API"'),
    (b'"args":{', b'"args":{"uuid":"other",'), (b'"ts":', b'"ts":1,"ts":'),
    # bytes a decoder could skip unchecked in a key it does not read: bad UTF-8, a bad escape
    (b'"args"', b'"arg\x8b"'), (b'"name":"', b'"x":"\\q","name":"'),
    (b'"name":"', b'"x":{"y":[1,"\xc3"]},"name":"'),
    # a line cut inside its object, two objects on one line: as many values as lines, but
    # not one per line
    (b'"}', b'"\n}'), (b'}}', b'}\n}'), (b'"}', b'"}{"kind":"api","name":"mute"}'),
]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_lines_get_the_reference_verdict_and_line_number(fleet: Path,
                                                                 data: st.DataObject) -> None:
    files = sorted(fleet.glob("*.jsonl"))
    decoded = data.draw(st.booleans(), label="decoded blocks")
    f = data.draw(st.sampled_from(files))
    lines = f.read_bytes().split(b"\n")[:120]
    judge_file(f, Options())  # the trace's shapes learned first, so mutants hit them
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(lines) - 1))
        old, new = data.draw(st.sampled_from(_MUTATIONS))
        if data.draw(st.booleans()):
            lines[i] = lines[i].replace(old, new, 1)
        else:
            lines.insert(i, data.draw(st.sampled_from([b"", b"  ", lines[i], lines[-2]])))
    stream.DECODED = decoded
    try:
        _same(b"\n".join(lines), Options(complete=data.draw(st.booleans())))
    finally:
        stream.DECODED = True


@pytest.mark.parametrize("bad", [b'"\xff"', b'"\\q"', b"7", b"null", b"[1]"],
                         ids=["bad-utf8", "bad-escape", "a-number", "null", "a-list"])
def test_an_argument_text_met_before_is_judged_again_and_a_bad_one_is_still_refused(
        bad: bytes) -> None:
    """The decoded-block loop keeps, per name, the letters of argument texts it has decoded
    (msgspec's Raw: the text is not checked for UTF-8 until decoded); a text met again is
    one lookup, a new one is decoded strictly, so a bad one still gets the reference
    reader's verdict and line number, and true is never taken for 1."""
    head = [b'{"kind":"meta","name":"trace","args":{"version":1}}',
            b'{"kind":"api","name":"initialize","args":{"subscriberName":"u1"}}',
            b'{"kind":"callback","name":"onInitializationSuccess"}',
            b'{"kind":"api","name":"dial","call":"c1","args":{"remoteId":"0804"}}',
            b'{"kind":"callback","name":"onCallInitiated","call":"c1"}',
            b'{"kind":"api","name":"hangup","call":"c1"}',
            b'{"kind":"callback","name":"onCallEnded","call":"c1","args":{"endReason":"LOCAL_HANGUP"}}']
    good = b'{"kind":"api","name":"postFeedback","call":"c1","args":{"rating":1,"issue":"ECHO"}}'
    odd = good.replace(b"1,", b"true,")
    wrong = good.replace(b'"ECHO"', bad)
    for tail in ([good, good, odd], [good, wrong, good], [good, good, wrong]):
        src = b"\n".join(head + tail) + b"\n"
        _same(src, Options())
    src = b"\n".join(head + [good, wrong]) + b"\n"
    v = judge_file(io.BytesIO(src), Options(), label="t")
    if bad in (b'"\xff"', b'"\\q"'):
        assert v.conformant is None and v.unusable is not None and ":9:" in v.unusable
    else:
        assert v.conformant is False and v.violations[0].line == 9


def test_the_tables_are_compiled_on_the_step_memo(fleet: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A cold run compiles each configuration's step on a letter through spec.charts.step's
    memo: python-statemachine fires once per situation the letter meets (what the step
    read), not once per configuration and letter, and the verdicts are the reference's."""
    from exovoice.spec.validate import run as run_module

    monkeypatch.setattr(compiled, "_STEPPERS", [])
    monkeypatch.setattr(run_module, "_TABLES", {})
    for f in sorted(fleet.glob("*.jsonl"))[::4]:
        _same(f, Options(complete=True))
    memo = compiled.step_memo()
    assert memo.steps > 200 and memo.fires * 4 < memo.steps, (memo.fires, memo.steps)


def test_work_is_split_by_bytes_not_by_file_count() -> None:
    """One huge trace among small ones: it opens the first batch alone (largest first), the
    small ones travel together, and every trace is in exactly one batch."""
    items = [(i, f"t{i}", 1_000) for i in range(200)] + [(200, "huge", 10_000_000)]
    out = batches(items, 2)
    assert out[0] == [(200, "huge")]
    assert sorted(i for b in out for i, _p in b) == list(range(201))
    assert max(len(b) for b in out) > 1


def test_the_pool_gives_the_verdicts_in_the_traces_order(fleet: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Judged largest first, in windows (7 traces here), by two processes: given back in the
    order of the traces, the same as one process judging them one after another."""
    from exovoice.spec.validate import run

    serial = [v.as_json(True) for v in run.validate([str(fleet)], Options(), jobs=1)]
    monkeypatch.setattr(run, "WINDOW", 7)
    pooled = [v.as_json(True) for v in run.validate([str(fleet)], Options(), jobs=2)]
    assert pooled == serial and len(serial) == 40


def test_progress_line_shows_rate_and_eta_after_a_few_seconds() -> None:
    now = [0.0]
    buf = io.StringIO()
    line = ProgressLine(buf, after=2.0, clock=lambda: now[0])
    p = Progress(traces=1, total_traces=4, bytes=100, total_bytes=400, lines=1000)
    line(p)
    assert buf.getvalue() == ""  # a short run shows nothing
    now[0] = 10.0
    line(p)
    assert "1/4 traces, 1000 lines, 100 lines/s, ETA 30 s" in buf.getvalue()
    line.done()
    assert buf.getvalue().endswith("\r\x1b[K")


def _cli(*argv: str, cwd: Path = ROOT, env: dict | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EXOVOICE, *argv], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=300)


def test_the_fleet_report_accounts_for_every_trace(fleet: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--format", "json", str(fleet)]) == 1
    per = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert main(["validate", "--summary", "--format", "json", str(fleet)]) == 1
    s = json.loads(capsys.readouterr().out)["summary"]
    bad = [v for v in per if v["conformant"] is False]
    assert s["traces"] == len(per) == 40
    assert (s["conformant"], s["non_conformant"], s["unusable"]) == \
        (len(per) - len(bad), len(bad), 0)
    by_rule: dict[str, set[tuple[str, int]]] = {}
    for v in bad:
        for x in v["violations"]:
            by_rule.setdefault(x["rule"], set()).add((v["trace"], x["line"]))
    assert {r["rule"]: r["traces"] for r in s["violations_by_rule"]} == \
        {r: len(t) for r, t in by_rule.items()}
    for r in s["violations_by_rule"]:
        assert (r["sample"]["trace"], r["sample"]["line"]) in by_rule[r["rule"]]
        assert r["section"]
    # clients from the meta lines: corpus.py's "bench", corpus_unusual's four
    clients = {(c["client"], c["sdkVersion"]): c["traces"] for c in s["by_client"]}
    assert clients[("bench", "-")] == 24 and sum(clients.values()) == 40
    assert ("fleet-ios", "1.9.3") in clients
    per_client: dict[str, int] = {}
    for c in s["by_client"]:
        assert sum(c["rules"].values()) == c["non-conformant"]
        for r, k in c["rules"].items():
            per_client[r] = per_client.get(r, 0) + k
    assert per_client == {r["rule"]: r["traces"] for r in s["violations_by_rule"]}
    cov = s["coverage"]
    assert cov["rules"]["never_on_a_transition"] and cov["rules"]["exercised"]
    assert "CALL-DIAL:no_call->outgoing_initiated" in cov["transitions"]["exercised"]
    assert main(["schema", "validate"]) == 0
    jsonschema.validate({"summary": s}, json.loads(capsys.readouterr().out))
    assert main(["validate", "--summary", str(fleet)]) == 1
    text = capsys.readouterr().out
    assert text.startswith(f"fleet: 40 traces judged ({s['lines']} lines): "
                           f"{s['conformant']} conformant, {len(bad)} non-conformant, 0 unusable")
    top = s["violations_by_rule"][0]
    assert f"{top['sample']['trace']}:{top['sample']['line']}" in text
    assert "fleet-ios 1.9.3: " in text and "rules exercised on transitions; never: " in text


def _peak_rss(*argv: str) -> tuple[int, int]:
    """(exit status, peak resident bytes) of one `exovoice` child, from its own rusage."""
    p = subprocess.Popen([*EXOVOICE, *argv], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, cwd=ROOT)
    _pid, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, usage.ru_maxrss * 1024


def test_memory_stays_bounded_on_a_trace_larger_than_it_holds(tmp_path: Path) -> None:
    """One 100 MB trace (a device's very long life, a million lines): the validator's peak
    memory is within 40 MB of what it needs for a trace of three lines, so the trace is
    streamed, never held (memory does not grow with the corpus)."""
    one = tmp_path / "one"
    corpus.generate(one, 1, 2000, seed=3, bad_share=0.0)
    lines = (one / "device-00000.jsonl").read_bytes().split(b"\n")
    head, calls = b"\n".join(lines[:3]) + b"\n", b"\n".join(lines[3:]).strip() + b"\n"
    big, small = tmp_path / "big.jsonl", tmp_path / "small.jsonl"
    small.write_bytes(head)
    with open(big, "wb") as f:
        f.write(head)
        n = 0
        while f.tell() < 100 << 20:
            n += 1  # the same calls again, with call ids of their own
            f.write(calls.replace(b'"d0c', b'"r%dc' % n).replace(b":d0c", b":r%dc" % n))
    rc_small, rss_small = _peak_rss("validate", "--jobs", "1", str(small))
    rc_big, rss_big = _peak_rss("validate", "--jobs", "1", str(big))
    assert rc_small == 0 and rc_big == 0
    assert rss_big - rss_small < 40 << 20, (rss_small, rss_big, big.stat().st_size)


def test_nothing_of_dask_is_imported_without_dask(fleet: Path) -> None:
    code = ("import sys; from exovoice.spec.cli import main; "
            f"rc = main(['validate', '--summary', {str(fleet)!r}]); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('dask', 'distributed', 'fsspec')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout[-300:]


def test_dask_without_the_extra_names_it(fleet: Path, tmp_path: Path) -> None:
    block = tmp_path / "blocker"
    block.mkdir()
    (block / "distributed.py").write_text("raise ImportError('No module named distributed')\n")
    env = dict(os.environ, PYTHONPATH=str(block))
    out = _cli("validate", "--dask", "local:1", str(fleet), env=env)
    assert out.returncode == 2
    assert out.stderr.strip() == ("exovoice: --dask needs Dask distributed: "
                                  "pip install 'exovoice[dask]'")


def _spawn(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=open(log, "wb"),
                            start_new_session=True)


def _stop(p: subprocess.Popen[bytes]) -> None:
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def test_a_dask_cluster_gives_the_local_verdicts_byte_for_byte_even_losing_a_worker(
        fleet: Path, tmp_path: Path) -> None:
    """`dask scheduler` and two `dask worker` processes on 127.0.0.1; the run's --format json
    equals the local run's, with and without a worker killed while the run is under way."""
    pytest.importorskip("distributed")
    big = tmp_path / "fleet"
    big.mkdir()
    for i in range(6):  # enough work that a worker dies holding some: 240 traces
        for f in fleet.glob("*.jsonl"):
            (big / f"{i}-{f.name}").write_bytes(f.read_bytes())
    dask = str(Path(sys.executable).with_name("dask"))
    sched_file = tmp_path / "scheduler.json"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(_spawn([dask, "scheduler", "--host", "127.0.0.1", "--port", "0",
                             "--no-dashboard", "--scheduler-file", str(sched_file)],
                            tmp_path / "scheduler.log"))
        for i in range(2):
            procs.append(_spawn([dask, "worker", "--scheduler-file", str(sched_file),
                                 "--host", "127.0.0.1", "--nthreads", "1", "--nworkers", "1",
                                 "--no-dashboard", "--name", f"w{i}"], tmp_path / f"w{i}.log"))
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        from distributed import Client

        with Client(address, timeout=30) as c:
            c.wait_for_workers(2, timeout=60)

        local = _cli("validate", "--format", "json", str(big))
        assert local.returncode == 1 and local.stdout.count("\n") == 240
        remote = _cli("validate", "--format", "json", "--dask", address, str(big))
        assert remote.returncode == local.returncode, remote.stderr[-1000:]
        assert remote.stdout == local.stdout

        # a worker killed mid-run: its tasks run again on the other, nothing lost or doubled
        run = subprocess.Popen([*EXOVOICE, "validate", "--format", "json", "--dask", address,
                                str(big)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               cwd=ROOT)
        first = run.stdout.readline()  # type: ignore[union-attr]
        assert first and run.poll() is None  # under way
        os.killpg(procs[1].pid, signal.SIGKILL)
        rest, err = run.communicate(timeout=240)
        assert run.returncode == local.returncode, err[-1500:]
        assert (first + rest).decode() == local.stdout
        log = (tmp_path / "scheduler.log").read_text()
        assert "Remove worker" in log and "name: w0" in log.split("Remove worker", 1)[1]
    finally:
        for p in reversed(procs):
            _stop(p)


def test_dask_reads_fsspec_urls_and_judges_on_a_local_cluster(fleet: Path) -> None:
    pytest.importorskip("distributed")
    local = _cli("validate", "--summary", "--format", "json", str(fleet))
    url = _cli("validate", "--summary", "--format", "json", "--dask", "local:2",
               f"file://{fleet}/")
    assert url.returncode == local.returncode == 1, url.stderr[-800:]
    a, b = json.loads(local.stdout)["summary"], json.loads(url.stdout)["summary"]
    for k in ("traces", "conformant", "non_conformant", "unusable", "lines", "coverage"):
        assert a[k] == b[k], k
    assert [r["traces"] for r in a["violations_by_rule"]] == \
        [r["traces"] for r in b["violations_by_rule"]]
    assert all(r["sample"]["trace"].startswith("file://") for r in b["violations_by_rule"])


def test_the_cache_keeps_compiled_tables_between_runs_without_changing_a_verdict(
        fleet: Path, tmp_path: Path) -> None:
    """--cache-dir: the first run writes the tables, a second process reads them and says the
    same bytes; a cache file that is not one (truncated, foreign) is compiled around."""
    cache = tmp_path / "cache"
    cold = _cli("validate", "--format", "json", "--coverage", "--cache-dir", str(cache),
                str(fleet))
    files = list(cache.glob("tables-*.pickle"))
    assert len(files) == 1 and files[0].stat().st_size > 10_000
    warm = _cli("validate", "--format", "json", "--coverage", "--cache-dir", str(cache),
                str(fleet))
    plain = _cli("validate", "--format", "json", "--coverage", "--no-cache", str(fleet))
    assert cold.returncode == warm.returncode == plain.returncode == 1
    assert cold.stdout == warm.stdout == plain.stdout
    files[0].write_bytes(files[0].read_bytes()[:1000])
    broken = _cli("validate", "--format", "json", "--coverage", "--cache-dir", str(cache),
                  str(fleet))
    assert broken.stdout == plain.stdout and broken.stderr == plain.stderr


def test_what_two_processes_compiled_reaches_the_next_run_whole(
        fleet: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two processes of one run, each judging half the fleet, each writing the cache: the
    second writer merges what the first wrote, so a third process judges the whole fleet
    without compiling anything (the statechart runs only to explain a finding, as ever),
    and says what a run without the cache says."""
    from exovoice.spec.validate import cache, compiled, run as run_module

    files = sorted(fleet.glob("*.jsonl"))
    opts = Options(coverage=True, complete=True)
    expected = [judge_lines(f, opts).as_json(True) for f in files]
    for half in (files[::2], files[1::2]):  # two processes: tables of their own
        monkeypatch.setattr(run_module, "_TABLES", {})
        for f in half:
            judge_file(f, opts)
        cache.save(tmp_path, run_module._TABLES)
    tables: dict = {}
    assert cache.load(tmp_path, tables)
    monkeypatch.setattr(run_module, "_TABLES", tables)

    def no_statechart(*_a: object, **_k: object) -> None:
        raise AssertionError("the statechart was run for a step the cache holds")

    monkeypatch.setattr(compiled.Tables, "_step_one", no_statechart)

    def sizes() -> dict:
        return {mode: (len(t._reach), len(t.steps), len(t.state_filter), len(t._covered))
                for mode, t in tables.items()}

    before = sizes()
    assert [judge_file(f, opts).as_json(True) for f in files] == expected
    assert sizes() == before  # no closure run, and every set's step, filter and coverage
    # was there already, renumbered from the process that compiled it


def _new_process(monkeypatch: pytest.MonkeyPatch) -> dict:
    """What a new process starts with: no tables, no allowed events, an empty step memo."""
    from exovoice.spec.charts import model
    from exovoice.spec.validate import cache, run as run_module

    tables: dict = {}
    monkeypatch.setattr(run_module, "_TABLES", tables)
    monkeypatch.setattr(model, "_ALLOWED", {})
    monkeypatch.setattr(compiled, "_STEPPERS", [])
    monkeypatch.setattr(cache, "_ALLOWED_KEPT", [0])
    monkeypatch.setattr(cache, "_MEMO_KEPT", [0])
    return tables


def test_a_run_that_compiles_little_writes_a_delta_and_the_next_reads_it_whole(
        fleet: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process that read the cache and compiled a few more entries writes only those,
    beside the file (which it leaves alone); the next process reads both and judges the
    whole fleet without running the statechart, the step memo included; when the deltas
    pile up a writer folds them into the file, and what the next run reads is the same."""
    from exovoice.spec.validate import cache

    files = sorted(fleet.glob("*.jsonl"))
    opts = Options(coverage=True, complete=True)
    expected = [judge_lines(f, opts).as_json(True) for f in files]
    tables = _new_process(monkeypatch)
    for f in files[::2]:
        judge_file(f, opts)
    cache.save(tmp_path, tables)  # nothing read before: the file, whole
    base = cache.cache_file(tmp_path)
    written = base.read_bytes()
    assert not cache._deltas(tmp_path)

    tables = _new_process(monkeypatch)
    assert cache.load(tmp_path, tables)
    kept = cache.size(tables)
    assert compiled.step_memo().learned  # the memo came with the tables
    for f in files[1::2]:  # until a trace meets something new
        judge_file(f, opts)
        if cache.size(tables) > kept:
            break
    assert kept < cache.size(tables) < kept * 1.25
    compiled_here = cache.size(tables)
    cache.save(tmp_path, tables)
    deltas = cache._deltas(tmp_path)
    assert len(deltas) == 1 and base.read_bytes() == written
    assert deltas[0].stat().st_size * 4 < len(written)

    tables = _new_process(monkeypatch)
    assert cache.load(tmp_path, tables)
    assert cache.size(tables) == compiled_here  # the file and the delta: all of it
    assert [judge_file(f, opts).as_json(True) for f in files] == expected

    monkeypatch.setattr(cache, "COMPACT_AT", 1)  # one delta is a pile: fold it in
    cache.save(tmp_path, tables)
    assert not cache._deltas(tmp_path) and base.read_bytes() != written

    tables = _new_process(monkeypatch)
    assert cache.load(tmp_path, tables)

    def no_statechart(*_a: object, **_k: object) -> None:
        raise AssertionError("the statechart was run for a step the cache holds")

    monkeypatch.setattr(compiled.Tables, "_step_one", no_statechart)
    assert [judge_file(f, opts).as_json(True) for f in files] == expected
    assert compiled.step_memo().fires == 0


def test_the_cache_is_named_by_what_the_tables_are_made_of() -> None:
    """Every module the charts import is in the cache's hash: a change there is a new file."""
    from exovoice.spec.validate import cache

    spec = ROOT / "spec"
    hashed = {p for pattern in cache._SOURCES for p in spec.glob(pattern)}
    for p in sorted((spec / "charts").glob("*.py")):
        for line in p.read_text(encoding="utf-8").splitlines():
            if line.startswith("from ..") and not line.startswith("from .. import"):
                mod = line.split()[1][2:].split(".")[0]
                assert spec / f"{mod}.py" in hashed, (p.name, line)
            elif line.startswith("from .. import"):
                for mod in line.split("import", 1)[1].replace(" as R", "").split(","):
                    assert spec / f"{mod.strip()}.py" in hashed, (p.name, line)


_ARG_KEYS = sorted(compiled.FACT_KEYS | {"payload", "payloadVersion", "time", "tag", "x"})
_ARG_VALUES = st.one_of(st.booleans(), st.integers(-2, 12), st.floats(0, 10), st.none(),
                        st.sampled_from(["ERROR", "LOCAL_HANGUP", "SYSTEM_BUSY", "1", "#",
                                         "2020-01-02", "u1", "sip:0804", "hi there", "ECHO"]),
                        st.lists(st.integers(), max_size=2))


@settings(max_examples=300, deadline=None)
@given(args=st.dictionaries(st.sampled_from(_ARG_KEYS), _ARG_VALUES, max_size=4))
def test_argument_facts_from_a_kept_plan_are_the_facts_read_fresh(args: dict) -> None:
    """canon_args keeps, per list of argument names, which ones a guard reads; on any
    arguments (any order, unknown ones, odd values) it gives what arg_fact gives, sorted."""
    fresh = tuple((k, f) for k in sorted(args)
                  if (f := compiled.arg_fact(k, args[k], args, compiled.TraceContext()))
                  is not compiled._DROP)
    assert compiled.canon_args(args, compiled.TraceContext()) == fresh
    assert compiled.canon_args(args, compiled.TraceContext()) == fresh  # from what it kept


_ARGUMENTS = sorted({(x.kind, x.name, k) for ck in (False, True) for x in alphabet(ck)
                     if x.kind not in ("internal", "meta") for k, _v in x.args})
"""Every (kind, name, argument) a letter of the spec's alphabet carries."""
_ODD = st.sampled_from([["x"], {"a": 1}, 2.5, True, None, ""])


@pytest.mark.parametrize("arg", _ARGUMENTS, ids="-".join)
@settings(max_examples=6, deadline=None)
@given(callkit=st.booleans(), live=st.booleans(), others=st.booleans(),
       odd=st.one_of(st.just([]), _ODD), twice=st.booleans())
def test_any_argument_with_an_odd_value_gets_a_verdict_never_a_crash(
        arg: tuple[str, str, str], callkit: bool, live: bool, odd: object, others: bool,
        twice: bool) -> None:
    """A list, an object, a number or a bool where the guide has a string (an endReason, a
    route, an error, an action...): the line is judged (explained by the reference judge when
    refused), as the line-by-line path judges it; no guard trips over the value's type."""
    kind, name, key = arg
    args = {key: odd}
    if others:  # the letter's other arguments valid, so the odd one is what is judged
        valid = next(x for x in alphabet(callkit or kind == "callkit")
                     if (x.kind, x.name) == (kind, name) and key in x.params)
        args = {**valid.params, key: odd}
    head = [{"kind": "meta", "name": "trace", "args": {"version": 1, "callkit": callkit}},
            {"kind": "api", "name": "initialize", "args": {"subscriberName": "u1"}},
            {"kind": "callback", "name": "onInitializationSuccess"}]
    if live:
        head += [{"kind": "api", "name": "dial", "call": "c1", "args": {"remoteId": "0804"}},
                 {"kind": "callback", "name": "onCallInitiated", "call": "c1"}]
    last: dict = {"kind": kind, "name": name, "args": args}
    if live and kind != "state":
        last["call"] = "c1"
    # twice: what the first one left (a bound UUID, a chosen route) is what the second meets
    src = "\n".join(json.dumps(x) for x in [*head, last, *([last] if twice else [])]
                    ).encode() + b"\n"
    _same(src, Options(complete=True))
    assert judge_file(io.BytesIO(src), Options(), label="t").conformant is not None


def test_allowed_events_skip_only_events_no_edge_could_take(fleet: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """What a violation says the spec expected: events with no edge leaving any active state
    are left out without firing them, and that leaves out nothing firing would allow; the
    probes taken on the step memo answer what firing each one on the configuration answers
    (every configuration the fleet reached, both modes)."""
    from exovoice.spec.charts import model as charts_model
    from exovoice.spec.validate import run as run_module

    monkeypatch.setattr(run_module, "_TABLES", {})
    for f in sorted(fleet.glob("*.jsonl")):
        judge_file(f, Options(callkit=False))
        judge_file(f, Options(callkit=True))
    checked = 0
    for t in run_module._TABLES.values():
        for k in list(t.snaps)[:120]:
            m = t.load(k)
            monkeypatch.setattr(charts_model, "_ALLOWED", {})
            quick = m.allowed_events()
            assert m.probe_allowed() == quick, k  # fired, not on the memo
            monkeypatch.setattr(charts_model, "_ALLOWED", {})
            monkeypatch.setitem(charts_model._SOURCES, type(m), None)  # fire every event
            assert m.allowed_events() == quick, k
            monkeypatch.delitem(charts_model._SOURCES, type(m))
            checked += 1
    assert checked > 150
