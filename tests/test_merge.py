"""Merging results databases from several machines: each run once, merging again adds nothing."""

from __future__ import annotations

import duckdb
import pytest

from bench.cli import main
from bench.results.merge import merge
from bench.results.store import Store


def counts(path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("runs", "results", "layers", "epochs", "retimes")}
    finally:
        con.close()


@pytest.fixture
def machines(make_results_db, case_row):
    """Two machines' databases; the second also holds a copy of the first machine's run."""
    run_a = [case_row("a", r, 0, 0.8) for r in (1, 2)]
    a = make_results_db("a.duckdb", {"run-a": run_a})
    store = Store(a)  # one of its kept models timed again afterwards
    store.write_retime({"retime_id": "t1", "run_id": "run-a", "nodeid": run_a[0]["nodeid"],
                        "pass": 0, "speedup_measured_batch": 1.5})
    store.close()
    b = make_results_db("b.duckdb", {"run-a": run_a, "run-b": [case_row("b", 4, 1, 0.7)]})
    return a, b


def test_merge_keeps_each_run_once_and_merging_again_adds_nothing(machines, tmp_path):
    a, b = machines
    out = tmp_path / "all.duckdb"
    added = merge([a, b], out)
    assert added[str(a)] == {"runs": 1, "results": 2, "layers": 2, "epochs": 2, "retimes": 1}
    assert added[str(b)] == {"runs": 1, "results": 1, "layers": 1, "epochs": 1, "retimes": 0}
    assert counts(out) == {"runs": 2, "results": 3, "layers": 3, "epochs": 3, "retimes": 1}
    again = merge([a, b], out)
    assert all(n == 0 for per in again.values() for n in per.values())
    assert counts(out) == {"runs": 2, "results": 3, "layers": 3, "epochs": 3, "retimes": 1}


def test_an_interrupted_run_is_completed_by_a_copy_that_saw_it_finish(tmp_path, case_row):
    early, late = tmp_path / "early.duckdb", tmp_path / "late.duckdb"
    for path, rows, finished in ((early, [case_row("a", 1, 0, 0.8)], False),
                                 (late, [case_row("a", 1, 0, 0.8), case_row("a", 2, 0, 0.7)], True)):
        store = Store(path)
        store.start_run({"run_id": "r", "started_at": "2024-01-01"})
        for row in rows:
            store.write_case(row | {"run_id": "r"})
        if finished:
            store.finish_run("r", "2024-01-02", 0)
        store.close()
    out = tmp_path / "all.duckdb"
    merge([early, late], out)
    con = duckdb.connect(str(out), read_only=True)
    assert con.execute("SELECT exit_status FROM runs").fetchall() == [(0,)]
    assert con.execute("SELECT count(*) FROM results").fetchone()[0] == 2
    con.close()


def test_an_older_database_merges(tmp_path, machines):
    old = tmp_path / "old.duckdb"
    con = duckdb.connect(str(old))
    con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    con.execute("CREATE TABLE runs (run_id VARCHAR PRIMARY KEY, started_at TIMESTAMP, host VARCHAR)")
    con.execute("CREATE TABLE results (run_id VARCHAR, nodeid VARCHAR, status VARCHAR, top1 DOUBLE, "
                "PRIMARY KEY (run_id, nodeid))")
    con.execute("INSERT INTO runs VALUES ('old', '2023-01-01', 'h')")
    con.execute("INSERT INTO results VALUES ('old', 'n', 'passed', 0.5)")
    con.close()
    added = merge([machines[0], old], tmp_path / "all.duckdb")
    assert added[str(old)] == {"runs": 1, "results": 1, "layers": 0, "epochs": 0, "retimes": 0}


def test_the_merge_command_and_a_missing_source(machines, tmp_path, capsys):
    out = tmp_path / "all.duckdb"
    assert main(["merge", str(machines[0]), str(machines[1]), "-o", str(out)]) == 0
    assert "rows added" in capsys.readouterr().out
    assert main(["merge", str(out), str(machines[0]), "-o", str(out), "--json"]) == 0  # self skipped
    assert '"results": 0' in capsys.readouterr().out
    assert main(["merge", str(tmp_path / "none.duckdb"), "-o", str(out)]) == 2
    assert "no results database" in capsys.readouterr().err
