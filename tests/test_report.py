"""Reports: rows selected by run, method and dataset; mean and std over seeds; the report command."""

from __future__ import annotations

import csv
import io
import json
import statistics

import pytest

from bench.analysis import aggregate
from bench.cli import main
from bench.results import read as report

TOP1 = {  # (method, ratio) -> top-1 over seeds 0, 1, 2
    ("global", 1): [0.90, 0.90, 0.90], ("global", 4): [0.88, 0.86, 0.87],
    ("layer", 1): [0.90, 0.90, 0.90], ("layer", 4): [0.80, 0.84, 0.79],
}


@pytest.fixture
def db(make_results_db, case_row):
    """Two runs: three seeds of two methods, then a rerun of one case and a failure."""
    first = [case_row(m, r, s, top1) for (m, r), values in TOP1.items() for s, top1 in enumerate(values)]
    second = [case_row("global", 4, 0, 0.70),  # supersedes seed 0 of the first run
              case_row("global", 8, 0, None, status="failed", error="AssertionError: boom")]
    return make_results_db("r.duckdb", {"run-a": first, "run-b": second})


def load(path, **kwargs):
    con = report.open_db(path)
    try:
        return report.load_rows(con, **kwargs)
    finally:
        con.close()


def test_mean_and_std_over_seeds(db):
    lines = aggregate.aggregate(load(db, run="run-a"))
    assert [(x["method"], x["ratio"], x["n"]) for x in lines] == [
        ("global", 1, 3), ("global", 4, 3), ("layer", 1, 3), ("layer", 4, 3)]
    layer4 = lines[3]
    assert layer4["top1_mean"] == pytest.approx(statistics.mean(TOP1["layer", 4]))
    assert layer4["top1_std"] == pytest.approx(statistics.stdev(TOP1["layer", 4]))
    assert layer4["delta_top1_mean"] == pytest.approx(statistics.mean(TOP1["layer", 4]) - 0.9)
    assert layer4["compression_mean"] == 4 and layer4["compression_std"] == 0
    assert layer4["speedup_theoretical_mean"] == 2.5
    assert layer4["speedup_measured_mean"] is None  # no latency measured: blank, not zero
    assert lines[0]["top1_std"] == 0


def test_a_later_run_of_a_case_supersedes_the_earlier_one(db):
    rows = load(db)
    global4 = sorted(r["top1"] for r in rows if r["method"] == "global" and r["ratio"] == 4)
    assert global4 == [0.70, 0.86, 0.87]
    every = load(db, latest_per_case=False)
    assert len(every) == len(rows) + 1


def test_failures_are_counted_but_not_averaged(db):
    lines = {(x["method"], x["ratio"]): x for x in aggregate.aggregate(load(db))}
    assert lines["global", 8]["n"] == 0 and lines["global", 8]["failed"] == 1
    assert lines["global", 8]["top1_mean"] is None
    assert lines["global", 4]["failed"] == 0


def test_filters_by_run_method_and_dataset(db):
    assert {r["run_id"] for r in load(db, run="latest")} == {"run-b"}
    assert {r["run_id"] for r in load(db, run="run-a")} == {"run-a"}
    assert {r["method"] for r in load(db, method="layer")} == {"layer"}
    assert {r["method"] for r in load(db, method=["layer,global"])} == {"layer", "global"}
    assert load(db, dataset="other") == []
    assert {r["status"] for r in load(db, status="failed")} == {"failed"}
    with pytest.raises(ValueError, match="matches no run"):
        load(db, run="nope")
    with pytest.raises(ValueError, match="ambiguous"):
        load(db, run="run-")


def test_conditions_that_vary_become_columns(make_results_db, case_row):
    rows = [case_row("global", 4, 0, 0.8), case_row("global", 4, 0, 0.7, finetune_recipe="long",
                                                    case_id="global-toy-net-r4-s0-ft=long",
                                                    nodeid="x::long")]
    path = make_results_db("c.duckdb", {"run": rows})
    got = load(path)
    assert aggregate.report_keys(got) == ("dataset", "arch", "finetune_recipe", "method", "ratio")
    lines = aggregate.aggregate(got, aggregate.report_keys(got))
    assert [(x["finetune_recipe"], x["top1_mean"]) for x in lines] == [
        ("finetune-small", 0.8), ("long", 0.7)]


def test_an_older_database_without_newer_columns_still_reports(tmp_path):
    import duckdb

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE runs (run_id VARCHAR, started_at TIMESTAMP)")
    con.execute("CREATE TABLE results (run_id VARCHAR, nodeid VARCHAR, case_id VARCHAR, status VARCHAR, "
                "method VARCHAR, dataset VARCHAR, arch VARCHAR, ratio DOUBLE, seed INTEGER, top1 DOUBLE)")
    con.execute("INSERT INTO runs VALUES ('r', '2024-01-01')")
    con.execute("INSERT INTO results VALUES ('r', 'n', 'c', 'passed', 'm', 'd', 'a', 2, 0, 0.5)")
    con.close()
    lines = aggregate.aggregate(load(path))
    assert lines[0]["top1_mean"] == 0.5 and lines[0]["compression_mean"] is None


def test_unfinished_runs_are_named(tmp_path, case_row, capsys):
    from bench.results.store import Store

    store = Store(tmp_path / "u.duckdb")
    store.start_run({"run_id": "killed", "started_at": "2024-01-01"})
    store.write_case(case_row("a", 2, 0, 0.8) | {"run_id": "killed"})
    store.close()
    assert aggregate.summary(load(tmp_path / "u.duckdb"))["unfinished_runs"] == ["killed"]
    assert main(["report", "--db", str(tmp_path / "u.duckdb")]) == 0
    assert "from 1 run(s), 1 of them unfinished" in capsys.readouterr().out


def test_the_report_command_in_each_format(db, capsys):
    assert main(["report", "--db", str(db)]) == 0
    table = capsys.readouterr().out
    assert "13 cases (1 failed, 12 passed)" in table
    assert "81.00 ± 2.65" in table  # layer at 4x: mean ± std of 80, 84, 79 in %
    assert main(["report", "--db", str(db), "--format", "markdown", "--method", "layer"]) == 0
    markdown = capsys.readouterr().out
    assert "| dataset" in markdown and "global" not in markdown
    assert main(["report", "--db", str(db), "--format", "csv"]) == 0
    parsed = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(parsed) == 5 and float(parsed[1]["top1_mean"]) == pytest.approx(0.81)
    assert main(["report", "--db", str(db), "--format", "json", "--run", "run-b"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["summary"]["runs"] == ["run-b"] and len(payload["rows"]) == 2


def test_the_report_command_names_a_missing_database(tmp_path, capsys):
    assert main(["report", "--db", str(tmp_path / "none.duckdb")]) == 2
    assert "no results database" in capsys.readouterr().err


def test_the_example_queries_of_the_schema_document_run(db):
    import re
    from pathlib import Path

    import duckdb

    text = (Path(__file__).resolve().parents[1] / "docs" / "results.md").read_text()
    queries = re.findall(r"```sql\n(.*?)```", text, flags=re.S)
    assert len(queries) >= 5
    con = duckdb.connect(str(db), read_only=True)
    try:
        for sql in queries:
            con.execute(sql).fetchall()
        top = con.execute(queries[0].replace("'mnist5k'", "'toy'")).fetchall()
        assert top and top[0][3] == 3  # three seeds
    finally:
        con.close()
