"""Reading while a run writes: report works mid-run; a second writer still fails at once."""

from __future__ import annotations

import contextlib
import io
import time

import pytest
from test_plugin import finish, run_suite, start_suite

from bench.cli import main
from bench.results.read import open_db
from bench.results.store import Store, StoreLockedError

SUITE = '''
import time
from pathlib import Path

import pytest

from bench.harness import grid


@pytest.mark.parametrize("case", grid.cases(methods=["magnitude_global"], datasets=["digits"],
                                            archs=["mlp"], ratios=[1, 2], seeds=[0]))
def test_prune(case, bench_case):
    bench_case(case)
    if case.ratio == 2:  # the slow case: waits until the test has read the database
        go = Path(__file__).with_name("go")
        deadline = time.monotonic() + 240
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
'''


def cases_in(db) -> int:
    con = open_db(db)
    try:
        return con.execute("SELECT count(*) FROM results").fetchone()[0]
    finally:
        con.close()


@pytest.mark.slow
def test_report_reads_while_a_suite_writes_and_a_second_writer_fails_fast(tmp_path, shared_cache):
    db = tmp_path / "live.duckdb"
    proc = start_suite(SUITE, tmp_path / "s", db, shared_cache)
    try:
        deadline = time.monotonic() + 240
        while not (db.exists() and cases_in(db) >= 1):  # the first case is written
            assert proc.poll() is None and time.monotonic() < deadline, finish(proc)[1]
            time.sleep(0.2)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(["report", "--db", str(db)]) == 0
        assert "1 cases (1 passed)" in out.getvalue() and "1 of them unfinished" in out.getvalue()
        assert main(["export", "--db", str(db), "-o", str(tmp_path / "live.csv")]) == 0
        with pytest.raises(StoreLockedError, match=r"locked by another process.*--bench-db"):
            Store(db)  # in-process writer: refused by the lock file at once
        start = time.monotonic()
        code, out = run_suite(SUITE, tmp_path / "other", db, shared_cache)
        took = time.monotonic() - start
        assert code == pytest.ExitCode.USAGE_ERROR and "is locked by another process" in out, out
        assert proc.poll() is None  # the first run is still going
    finally:
        (tmp_path / "s" / "go").touch()
    code, out = finish(proc)
    assert code == 0 and "2 passed" in out, out
    assert cases_in(db) == 2
    assert took < 60  # process start and imports included; no case ran
