"""The pytest plugin end to end: rows under xdist, commits per case, a locked database, failures."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from inprocess import run_pytest

REPO = Path(__file__).resolve().parents[1]

# These tests start pytest processes; one worker builds the serial and -n 2 runs once for all.
pytestmark = [pytest.mark.xdist_group("plugin"), pytest.mark.slow]

SUITE = '''
import os
import signal
from pathlib import Path

import pytest

from bench.harness import grid

GRID = dict(methods=["magnitude_global"], datasets=["digits"], archs=["mlp"], seeds=[0])


@pytest.fixture
def broken_fixture():
    raise RuntimeError("fixture broke on purpose")


@pytest.mark.parametrize("case", grid.cases(ratios=[1, 4], **GRID))
def test_prune(case, bench_case, bench_record):
    Path(__file__).with_name("a_case_ran").touch()
    row = bench_case(case)
    bench_record["kept"] = row["params_nonzero"]
    bench_record["note"] = "tiny"
    assert row["compression"] == pytest.approx(case.ratio, rel=0.02)


@pytest.mark.parametrize("case", grid.cases(ratios=[2], **GRID))
def test_fails(case, bench_case):
    bench_case(case)
    raise AssertionError("deliberate failure after the case ran")


@pytest.mark.parametrize("case", grid.cases(ratios=[8], **GRID))
def test_errors(case, broken_fixture, bench_case):
    bench_case(case)


@pytest.mark.parametrize("case", grid.cases(ratios=[16], **GRID))
def test_crash(case, bench_case):
    if os.environ.get("PYTEST_XDIST_WORKER"):  # under xdist, the worker dies mid-case
        os.kill(os.getpid(), signal.SIGKILL)
    bench_case(case)
'''

KILLED_SUITE = '''
import os
import signal

import pytest

from bench.harness import grid


@pytest.mark.parametrize("case", grid.cases(methods=["magnitude_global"], datasets=["digits"],
                                            archs=["mlp"], ratios=[1, 2, 4], seeds=[0]))
def test_prune(case, bench_case):
    if case.ratio == 4:
        os.kill(os.getpid(), signal.SIGKILL)
    bench_case(case)
'''

# Columns that must agree between a run with and without xdist (latency, timing, worker aside).
SAME = ("nodeid", "case_id", "status", "method", "method_hash", "dataset", "arch", "ratio", "seed",
        "pretrained_key", "recipe_key", "keep_fraction", "top1", "top5", "top1_dense",
        "params_total", "params_nonzero", "compression", "macs_total", "macs_nonzero",
        "speedup_theoretical", "extra")


def start_suite(text: str, folder: Path, db: Path, cache: Path, *args: str) -> subprocess.Popen:
    """Start a suite file in a fresh pytest process, the bench plugin loaded, from `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    suite = folder / "suite_tiny.py"
    suite.write_text(textwrap.dedent(text))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "BENCH_"))}
    env |= {"OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "pytest", str(suite), "-p", "bench.plugin", "-p", "no:cacheprovider",
           "--rootdir", str(folder), "--bench-db", str(db), "--bench-cache", str(cache),
           "--bench-no-latency", "--bench-methods", str(REPO / "methods"), "-q", *args]
    return subprocess.Popen(cmd, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def finish(proc: subprocess.Popen) -> tuple[int, str]:
    """Wait for a started suite: its exit code and output."""
    out, _ = proc.communicate(timeout=300)
    return proc.returncode, out


def run_suite(text: str, folder: Path, db: Path, cache: Path, *args: str) -> tuple[int, str]:
    """Run a suite file to its end: exit code and output."""
    return finish(start_suite(text, folder, db, cache, *args))


def rows(db: Path, sql: str) -> list[dict]:
    """Rows of a query as dicts."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


@pytest.fixture(scope="module")
def serial_and_parallel(tmp_path_factory, shared_cache) -> tuple[Path, Path, str, str]:
    """The small suite run once without and once with `-n 2` (at the same time), into two databases."""
    tmp = tmp_path_factory.mktemp("plugin")
    one = start_suite(SUITE, tmp / "serial", tmp / "serial.duckdb", shared_cache)
    two = start_suite(SUITE, tmp / "parallel", tmp / "parallel.duckdb", shared_cache, "-n", "2")
    return tmp / "serial.duckdb", tmp / "parallel.duckdb", finish(one)[1], finish(two)[1]


def test_xdist_writes_the_same_rows_as_a_serial_run(serial_and_parallel):
    serial, parallel, out1, out2 = serial_and_parallel
    assert "3 passed" in out1 and "1 failed" in out1 and "1 error" in out1, out1
    assert "2 passed" in out2 and "2 failed" in out2 and "1 error" in out2, out2
    cols = ", ".join(SAME)
    a = rows(serial, f"SELECT {cols} FROM results WHERE nodeid NOT LIKE '%test_crash%' ORDER BY nodeid")
    b = rows(parallel, f"SELECT {cols} FROM results WHERE nodeid NOT LIKE '%test_crash%' ORDER BY nodeid")
    assert len(a) == 4
    assert a == b
    same = "WHERE nodeid NOT LIKE '%test_crash%'"
    layers = f"SELECT nodeid, layer, params, nonzero, macs_nonzero FROM layers {same} ORDER BY nodeid, layer"
    assert rows(serial, layers) == rows(parallel, layers) != []
    epochs = f"SELECT nodeid, epoch, train_loss FROM epochs {same} ORDER BY nodeid, epoch"
    ea, eb = rows(serial, epochs), rows(parallel, epochs)
    assert [(r["nodeid"], r["epoch"]) for r in ea] == [(r["nodeid"], r["epoch"]) for r in eb] != []
    assert [r["train_loss"] for r in ea] == pytest.approx([r["train_loss"] for r in eb], rel=1e-6)
    runs = rows(parallel, "SELECT workers, exit_status, finished_at FROM runs")
    assert runs[0]["workers"] == 2 and runs[0]["exit_status"] == 1 and runs[0]["finished_at"]
    workers = rows(parallel, "SELECT DISTINCT worker FROM results WHERE worker IS NOT NULL")
    # gw0 and gw1, and gw2 where xdist replaced the worker that crashed
    assert workers and all(re.fullmatch(r"gw\d+", r["worker"]) for r in workers)
    assert rows(serial, "SELECT workers FROM runs")[0]["workers"] == 0


def test_a_case_whose_xdist_worker_crashes_is_an_error_row(serial_and_parallel):
    serial, parallel = serial_and_parallel[:2]
    crash = "SELECT status, case_id, error FROM results WHERE nodeid LIKE '%test_crash%'"
    assert [r["status"] for r in rows(serial, crash)] == ["passed"]
    (row,) = rows(parallel, crash)
    assert row["status"] == "error" and row["case_id"] == "magnitude_global-digits-mlp-r16-s0"
    assert "crashed" in row["error"]


def test_failed_and_errored_cases_are_rows_with_their_error(serial_and_parallel):
    serial = serial_and_parallel[0]
    query = "SELECT * FROM results WHERE nodeid NOT LIKE '%test_crash%'"
    by_status = {r["status"]: r for r in rows(serial, query)}
    assert set(by_status) == {"passed", "failed", "error"}
    failed, errored = by_status["failed"], by_status["error"]
    assert "deliberate failure after the case ran" in failed["error"]
    assert failed["top1"] is not None and failed["method_hash"]  # the case ran before the test failed
    assert "fixture broke on purpose" in errored["error"]
    assert errored["ratio"] == 8 and errored["method"] == "magnitude_global" and errored["top1"] is None


def test_every_row_traces_back_to_its_run_and_inputs(serial_and_parallel):
    serial = serial_and_parallel[0]
    run = rows(serial, "SELECT * FROM runs")
    assert len(run) == 1
    for key in ("git_commit", "command", "host", "cpu", "torch", "torchvision", "started_at", "options"):
        assert key in run[0]
    assert run[0]["torch"] and run[0]["host"] and run[0]["cpu"] and "suite_tiny.py" in run[0]["command"]
    ran = rows(serial, "SELECT * FROM results WHERE status IN ('passed', 'failed')")
    assert ran and all(r["run_id"] == run[0]["run_id"] for r in ran)
    assert all(len(r["method_hash"]) >= 8 and r["pretrained_key"] and r["recipe_key"] for r in ran)
    assert all(len(r["case_key"]) == 12 and len(r["pretrained_sha256"]) == 64 for r in ran)


def test_suite_authors_add_fields_with_bench_record(serial_and_parallel):
    serial = serial_and_parallel[0]
    got = rows(serial, "SELECT ratio, params_nonzero, extra->>'kept' AS kept, extra->>'note' AS note "
                       "FROM results WHERE nodeid LIKE '%test_prune%' ORDER BY ratio")
    assert [r["ratio"] for r in got] == [1, 4]
    assert all(int(r["kept"]) == r["params_nonzero"] and r["note"] == "tiny" for r in got)


def test_a_killed_run_keeps_its_finished_cases(tmp_path, shared_cache):
    db = tmp_path / "killed.duckdb"
    code, out = run_suite(KILLED_SUITE, tmp_path / "suite", db, shared_cache)
    assert code == -signal.SIGKILL, out
    got = rows(db, "SELECT ratio, status, top1 FROM results ORDER BY ratio")
    assert [(r["ratio"], r["status"]) for r in got] == [(1, "passed"), (2, "passed")]
    assert all(0 < r["top1"] <= 1 for r in got)
    assert rows(db, "SELECT count(*) AS n FROM layers")[0]["n"] > 0
    run = rows(db, "SELECT finished_at, exit_status FROM runs")
    assert run == [{"finished_at": None, "exit_status": None}]  # how an interrupted run shows


def test_a_locked_database_fails_the_run_before_any_case(tmp_path, shared_cache):
    db = tmp_path / "locked.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('ready', flush=True); time.sleep(120)", str(db)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        code, out = run_suite(SUITE, tmp_path / "suite", db, shared_cache, "-n", "2")
    finally:
        holder.kill()
        holder.wait()
    assert code == pytest.ExitCode.USAGE_ERROR, out
    assert f"results database {db} is locked by another process" in out
    assert "--bench-db" in out  # the message says how to get around it
    assert not (tmp_path / "suite" / "a_case_ran").exists()
    assert "bringing up nodes" not in out  # no xdist worker started
    assert not re.search(r"\b\d+ (passed|failed)\b", out)


def test_options_are_grouped_and_help_opens_no_database(tmp_path, monkeypatch, capsys):
    code, out = run_pytest(tmp_path, ["-p", "bench.plugin", "--help"], monkeypatch, capsys)
    assert code == 0
    section = out.split("pruning benchmark:")[1].split("\n\n")[0]
    options = [line.split()[0] for line in section.splitlines() if line.strip().startswith("--")]
    assert "--bench-db=PATH" in options and len(options) >= 6
    assert all(o.startswith("--bench-") for o in options)
    assert not list(tmp_path.glob("*.duckdb"))


def test_a_row_the_database_refuses_is_kept_as_an_error(tmp_path):
    import json
    from types import SimpleNamespace

    from bench.plugin.writer import ROW_PROPERTY, ResultWriter
    from bench.results.store import Store

    store = Store(tmp_path / "w.duckdb")
    writer = ResultWriter(store, {"run_id": "run"}, created=True)
    bad = {"nodeid": "s.py::t[x]", "case_id": "x", "status": "passed", "method": "m", "seed": "NaN-seed",
           "top1": 0.5, "error": None}
    writer.pytest_runtest_logreport(SimpleNamespace(user_properties=[(ROW_PROPERTY, json.dumps(bad))],
                                                    failed=False, when="call", nodeid=bad["nodeid"]))
    got = store.con.execute("SELECT status, method, seed, top1, error FROM results").fetchall()
    store.close()
    assert len(got) == 1 and got[0][:4] == ("error", "m", None, None)
    assert got[0][4].startswith("row not storable") and writer.unwritable


def test_a_session_without_cases_leaves_no_database(tmp_path, monkeypatch, capsys):
    (tmp_path / "test_plain.py").write_text("def test_nothing():\n    assert True\n")
    code, out = run_pytest(tmp_path, ["-p", "bench.plugin", "-p", "no:cacheprovider", "-q",
                                      "--rootdir", str(tmp_path), "test_plain.py"], monkeypatch, capsys)
    assert code == 0, out
    assert "1 passed" in out
    assert not list(tmp_path.glob("*.duckdb*"))


def test_a_session_without_cases_takes_no_lock(tmp_path):
    """A run holds the results database's lock: a session that runs no case goes on regardless."""
    from filelock import FileLock

    from bench.results.store import lock_path

    (tmp_path / "test_plain.py").write_text("def test_nothing():\n    assert True\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "BENCH_"))}
    env["PYTHONPATH"] = str(REPO)
    db = tmp_path / "r.duckdb"
    with FileLock(str(lock_path(db))):
        proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "bench.plugin", "-q", "-p",
                               "no:cacheprovider", "--bench-db", str(db), "test_plain.py"],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout + proc.stderr
    assert not db.exists()


def test_the_tests_write_only_their_own_files(pytestconfig):
    """tests/conftest.py gives this session its own results database and weights cache."""
    import tempfile

    own = Path(tempfile.gettempdir()).resolve()
    assert Path(pytestconfig.getoption("bench_db")).resolve().is_relative_to(own)
    cache = Path(os.environ["BENCH_CACHE"]).resolve()
    assert cache == Path(pytestconfig.getoption("bench_cache")).resolve()
    assert cache.is_relative_to(own) or os.environ.get("BENCH_TEST_CACHE")
