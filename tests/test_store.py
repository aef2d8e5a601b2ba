"""The results database: schema, migration of older databases, committed cases, the lock."""

from __future__ import annotations

import json
import subprocess
import sys

import duckdb
import pytest

from bench.results.store import (
    RESULT_COLUMNS,
    RUN_COLUMNS,
    SCHEMA_VERSION,
    TABLES,
    SchemaError,
    Store,
    StoreLockedError,
    columns_of,
    schema_version,
)


def test_a_new_database_has_every_table_and_column(tmp_path):
    store = Store(tmp_path / "new.duckdb")
    for table, columns in TABLES.items():
        assert columns_of(store.con, table) == list(columns)
    assert schema_version(store.con) == SCHEMA_VERSION
    assert store.migrated_from == 0
    store.close()


def test_an_older_database_opens_and_gains_the_missing_columns(tmp_path):
    path = tmp_path / "v1.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    old_runs = [c for c in RUN_COLUMNS if c not in ("options", "pytest")]
    con.execute(f"CREATE TABLE runs ({', '.join(f'{c} {RUN_COLUMNS[c]}' for c in old_runs)})")
    old = [c for c in RESULT_COLUMNS if c not in ("worker", "extra")]
    con.execute(f"CREATE TABLE results ({', '.join(f'{c} {RESULT_COLUMNS[c]}' for c in old)}, "
                "PRIMARY KEY (run_id, nodeid))")
    con.execute("INSERT INTO runs (run_id, host) VALUES ('old-run', 'h')")
    con.execute("INSERT INTO results (run_id, nodeid, status, top1) VALUES ('old-run', 'n1', 'passed', 0.5)")
    con.close()

    store = Store(path)
    assert store.migrated_from == 1
    assert columns_of(store.con, "results")[-2:] == ["worker", "extra"]
    assert set(columns_of(store.con, "results")) == set(RESULT_COLUMNS)
    assert set(columns_of(store.con, "runs")) == set(RUN_COLUMNS)
    assert columns_of(store.con, "layers")  # tables it never had are created
    assert schema_version(store.con) == SCHEMA_VERSION
    assert store.con.execute("SELECT status, top1, worker FROM results").fetchall() == [("passed", 0.5, None)]
    store.write_case({"run_id": "new", "nodeid": "n2", "status": "passed", "worker": "gw1",
                      "extra": {"k": 1}})
    assert store.con.execute("SELECT worker, extra->>'k' FROM results WHERE nodeid = 'n2'").fetchone() \
        == ("gw1", "1")
    store.close()
    assert Store(path).migrated_from == SCHEMA_VERSION  # a second open has nothing to do


def test_a_database_from_a_newer_bench_is_refused(tmp_path):
    path = tmp_path / "future.duckdb"
    Store(path).close()
    con = duckdb.connect(str(path))
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)])
    con.close()
    with pytest.raises(SchemaError, match="newer than this bench"):
        Store(path)


def test_write_case_commits_a_case_with_its_layers_and_epochs(tmp_path, case_row):
    store = Store(tmp_path / "r.duckdb")
    row = case_row("m", 4, 0, 0.85, run_id="r1", extra={"note": "x", "n": 3})
    store.write_case(row)
    store.write_case(row | {"top1": 0.86})  # the same case again replaces, never duplicates
    got = store.con.execute("SELECT top1, compression, extra FROM results").fetchall()
    assert got == [(0.86, 4.0, json.dumps({"note": "x", "n": 3}))]
    assert store.con.execute("SELECT layer, params, nonzero, macs_nonzero FROM layers").fetchall() \
        == [("fc", 1000, 250, 500)]
    assert store.con.execute("SELECT epoch, train_loss FROM epochs").fetchall() == [(0, 0.5)]
    store.close()


def test_a_row_the_database_refuses_leaves_nothing_behind(tmp_path, case_row):
    store = Store(tmp_path / "r.duckdb")
    bad = case_row("m", 4, 0, 0.85, run_id="r1") | {"seed": "not a number"}
    with pytest.raises(duckdb.Error):
        store.write_case(bad)
    for table in ("results", "layers", "epochs"):
        assert store.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
    store.close()


def test_a_database_held_by_another_process_raises_a_clear_error(tmp_path):
    path = tmp_path / "held.duckdb"
    code = ("import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
            "print('ready', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreLockedError, match=r"locked by another process.*--bench-db"):
            Store(path)
    finally:
        holder.kill()
        holder.wait()


def test_a_row_key_without_a_column_is_refused_by_name(tmp_path, case_row):
    from bench.results.schema import UnknownColumnError

    store = Store(tmp_path / "r.duckdb")
    with pytest.raises(UnknownColumnError, match=r"'new_figure'.*schema\.py"):
        store.write_case(case_row("m", 2, 0, 0.8, run_id="r1", new_figure=1.0))
    layer = {"layer": "fc", "kind": "Linear", "flops_per_byte": 3}
    with pytest.raises(UnknownColumnError, match="'flops_per_byte'"):
        store.write_case(case_row("m", 2, 0, 0.8, run_id="r1", layers=[layer]))
    assert store.con.execute("SELECT count(*) FROM results").fetchone() == (0,)
    store.close()
