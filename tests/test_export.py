"""Export of a results table to Parquet and CSV."""

from __future__ import annotations

import csv

import pyarrow.parquet as pq
import pytest

from bench.cli import main
from bench.results.export import export
from bench.results.schema import RESULT_COLUMNS


@pytest.fixture
def db(make_results_db, case_row):
    return make_results_db("e.duckdb", {"r1": [case_row("a", 2, 0, 0.8)],
                                        "r2": [case_row("a", 4, 0, 0.7), case_row("b", 4, 0, 0.6)]})


def test_parquet_holds_every_row_and_column(db, tmp_path):
    out = tmp_path / "x.parquet"
    assert export(db, out, table="results") == 3
    table = pq.read_table(out)
    assert table.num_rows == 3 and table.column_names == list(RESULT_COLUMNS)
    assert sorted(table.column("top1").to_pylist()) == [0.6, 0.7, 0.8]


def test_csv_of_another_table_and_one_run(db, tmp_path, capsys):
    out = tmp_path / "layers.csv"
    assert main(["export", "--db", str(db), "-o", str(out), "--table", "layers", "--run", "r2"]) == 0
    assert "wrote 2 rows of layers" in capsys.readouterr().out
    rows = list(csv.DictReader(out.open()))
    assert [r["run_id"] for r in rows] == ["r2", "r2"] and rows[0]["nonzero"] == "250"


def test_bad_output_or_table_is_named(db, tmp_path):
    with pytest.raises(ValueError, match=r"\.parquet or \.csv"):
        export(db, tmp_path / "x.xlsx")
    with pytest.raises(ValueError, match="unknown table"):
        export(db, tmp_path / "x.csv", table="secrets; drop table results")
