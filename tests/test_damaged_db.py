"""A damaged results database is refused before any case runs; refused rows are kept, then taken in."""

from __future__ import annotations

import errno
import json
import textwrap
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest
from inprocess import run_pytest

from bench.cli import main
from bench.plugin.writer import ROW_PROPERTY, ResultWriter
from bench.results import pending
from bench.results.health import DamagedDatabaseError
from bench.results.store import Store

REPO = Path(__file__).resolve().parents[1]

SUITE = '''
from pathlib import Path

import pytest

from bench.harness import grid


@pytest.mark.parametrize("case", grid.cases(methods=["magnitude_global"], datasets=["digits"],
                                            archs=["mlp"], ratios=[2], seeds=[0]))
def test_prune(case, bench_case):
    Path(__file__).with_name("a_case_ran").touch()
    bench_case(case)
'''


@pytest.fixture
def truncated(make_results_db, case_row) -> Path:
    """A database of 30 cases, its last 1% cut off (it still opens: the damage shows on use)."""
    path = make_results_db("cut.duckdb", {"r1": [case_row("m", 2 ** (i % 6), i, 0.5)
                                                 for i in range(30)]})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 99 // 100])
    return path


@pytest.mark.parametrize("keep", [10, 50, 95, 99.99])
def test_a_truncated_database_is_refused_on_open(make_results_db, case_row, keep):
    path = make_results_db("t.duckdb", {"r1": [case_row("m", 2, i, 0.5) for i in range(30)]})
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep / 100)])
    with pytest.raises(DamagedDatabaseError, match=f"{path}.*damaged.*mv {path}"):
        Store(path)


def test_an_intact_database_passes_the_check(make_results_db, case_row):
    path = make_results_db("ok.duckdb", {"r1": [case_row("m", 2, 0, 0.5)]})
    Store(path).close()


def test_the_suite_stops_before_its_first_case(tmp_path, truncated, shared_cache, monkeypatch, capsys):
    folder = tmp_path / "suite"
    folder.mkdir()
    (folder / "suite_tiny.py").write_text(textwrap.dedent(SUITE))
    code, out = run_pytest(folder, [  # refused at the door: no process of its own needed
        "suite_tiny.py", "-p", "bench.plugin", "-p", "no:cacheprovider", "--rootdir", str(folder),
        "--bench-db", str(truncated), "--bench-cache", str(shared_cache),
        "--bench-methods", str(REPO / "methods"), "-q"], monkeypatch, capsys)
    assert code == pytest.ExitCode.USAGE_ERROR, out
    assert "INTERNALERROR" not in out and "Traceback" not in out, out
    assert f"results database {truncated} is damaged" in out and "mv " in out
    assert not (folder / "a_case_ran").exists()


@pytest.mark.parametrize("argv", [["report"], ["export", "-o", "{tmp}/x.csv"], ["plot", "-o", "{tmp}/x.png"]])
def test_read_commands_print_one_line(truncated, tmp_path, capsys, argv):
    argv = [a.format(tmp=tmp_path) for a in argv]
    assert main([*argv, "--db", str(truncated)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: results database {truncated} is damaged")
    assert "--db PATH" in err


def test_merge_refuses_a_damaged_source_in_one_line(truncated, tmp_path, capsys):
    assert main(["merge", str(truncated), "-o", str(tmp_path / "all.duckdb")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"results database {truncated} is damaged" in err


def test_a_file_that_is_not_a_database_is_one_line(tmp_path, capsys):
    path = tmp_path / "notes.duckdb"
    path.write_text("not a database\n" * 100)
    assert main(["report", "--db", str(path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def _report(row: dict) -> SimpleNamespace:
    return SimpleNamespace(user_properties=[(ROW_PROPERTY, json.dumps(row))], failed=False,
                           when="call", nodeid=row["nodeid"])


class _RefusingStore(Store):
    def write_case(self, row: dict) -> None:
        raise duckdb.IOException("IO Error: disk full (simulated)")


def test_a_refused_row_is_kept_beside_the_database_and_taken_in_next_run(tmp_path, case_row):
    db = tmp_path / "r.duckdb"
    run = {"run_id": "run-1", "started_at": "2024-01-01T00:00:00", "host": "h"}
    writer = ResultWriter(_RefusingStore(db), run, created=True)
    writer.pytest_runtest_logreport(_report(case_row("m", 4, 0, 0.7)))
    writer.pytest_runtest_logreport(_report(case_row("m", 8, 0, 0.6)))
    writer.pytest_unconfigure(None)
    kept = pending.pending_path(db)
    assert writer.kept == 2 and writer.written == 0 and len(kept.read_text().splitlines()) == 2
    with kept.open("a") as f:
        f.write('{"run": {"run_id": "run-1"}, "row": {"nod')  # a torn last line: skipped

    later = ResultWriter(Store(db), {"run_id": "run-2"}, created=False)
    assert (later.taken_in, later.still_pending) == (2, 0) and not kept.exists()
    later.pytest_unconfigure(None)
    con = duckdb.connect(str(db), read_only=True)
    try:
        got = con.execute("SELECT run_id, ratio, top1 FROM results ORDER BY ratio").fetchall()
        runs = con.execute("SELECT run_id, host FROM runs").fetchall()
        layers = con.execute("SELECT count(*) FROM layers").fetchone()[0]
    finally:
        con.close()
    assert got == [("run-1", 4.0, 0.7), ("run-1", 8.0, 0.6)] and runs == [("run-1", "h")]
    assert layers == 2


def test_rows_still_refused_stay_kept(tmp_path, case_row):
    db = tmp_path / "r.duckdb"
    Store(db).close()
    pending.keep(db, {"run_id": "run-1"}, case_row("m", 2, 0, 0.5) | {"run_id": "run-1",
                                                                      "no_such_column": 1})
    store = Store(db)
    assert pending.take_in(store) == (0, 1)
    store.close()
    assert len(pending.read(db)) == 1


ROW_SUITE = '''
import pytest

from bench.harness import grid


@pytest.mark.parametrize("case", grid.cases(methods=["magnitude_global"], datasets=["digits"],
                                            archs=["mlp"], ratios=[2], seeds=[0]))
def test_prune(case):
    pass  # the plugin writes the case's row (its identity, status passed)
'''


CASE_ID = "magnitude_global-digits-mlp-r2-s0"


def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("pending_too", [False, True])
def test_a_full_disk_is_one_line_and_the_row_is_kept_or_printed(pending_too, tmp_path, shared_cache,
                                                                 monkeypatch, capsys):
    (tmp_path / "suite_full.py").write_text(ROW_SUITE)
    db = tmp_path / "full.duckdb"
    monkeypatch.setattr(Store, "write_case", _no_space)
    if pending_too:
        monkeypatch.setattr(pending, "keep", _no_space)
    code, out = run_pytest(tmp_path, ["suite_full.py", "-p", "bench.plugin", "-p", "no:cacheprovider",
                                      "--rootdir", str(tmp_path), "--bench-db", str(db),
                                      "--bench-cache", str(shared_cache), "-q"], monkeypatch, capsys)
    assert "INTERNALERROR" not in out and "Traceback" not in out and code == 0, out
    told = [line for line in out.splitlines() if "no space left" in line]
    assert len(told) == 1 and str(db) in told[0] and "--bench-db" in told[0], out
    if pending_too:  # nowhere on that disk: the row is printed, a line of the pending file
        printed = [json.loads(line) for line in out.splitlines() if line.startswith('{"run"')]
        assert [p["row"]["case_id"] for p in printed] == [CASE_ID] and "printed above" in told[0]
    else:
        assert [e["row"]["case_id"] for e in pending.read(db)] == [CASE_ID] and "1 rows kept" in told[0]
        monkeypatch.undo()
        later = ResultWriter(Store(db), {"run_id": "run-2"}, created=False)
        assert (later.taken_in, later.still_pending) == (1, 0)
        later.pytest_unconfigure(None)
