"""The case_results view: one meaning of a case's result for the report, export and SQL."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from bench.cli import main
from bench.results import read
from bench.results.case_results import VIEW
from bench.results.export import export

DOCS = Path(__file__).resolve().parents[1] / "docs" / "results.md"


@pytest.fixture
def db(make_results_db, case_row):
    """Method m at version h1 (ratios 1 and 4, three seeds), re-run once; method o, whose later
    re-run of a passed case fails; then a second version h2 of m at ratio 4 (two seeds)."""
    v1 = {"method_hash": "h1h1h1h1h1h1"}
    first = ([case_row("m", r, s, 0.9 - 0.01 * r - 0.001 * s, **v1) for r in (1, 4) for s in range(3)]
             + [case_row("o", 4, s, 0.8, method_hash="o1o1o1o1o1o1") for s in range(3)])
    rerun = [case_row("m", 4, 0, 0.5, **v1)]  # supersedes (m, 4, 0) of the first run
    failed = [case_row("o", 4, 1, None, status="failed", error="RuntimeError: killed",
                       method_hash="o1o1o1o1o1o1")]
    v2 = [case_row("m", 4, s, 0.6, method_hash="h2h2h2h2h2h2") for s in range(2)]
    return make_results_db("v.duckdb", {"a": first, "b": rerun, "c": failed, "d": v2})


def _report(db, capsys, *more) -> dict:
    assert main(["report", "--db", str(db), "--format", "json", *more]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_view_holds_each_case_once_per_version_with_a_later_failure_beside_it(db):
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(f"SELECT method, method_hash, ratio, seed, status, top1, later_status, "
                           f"current_version FROM {VIEW} ORDER BY ALL").fetchall()
    finally:
        con.close()
    m1 = [r for r in rows if r[1] == "h1h1h1h1h1h1"]
    assert len(m1) == 6 and not any(r[7] for r in m1)  # one row per case; not current any more
    assert [r[5] for r in m1 if (r[2], r[3]) == (4, 0)] == [0.5]  # the re-run, counted once
    assert [r[7] for r in rows if r[1] == "h2h2h2h2h2h2"] == [True, True]
    o = [r for r in rows if r[0] == "o"]
    assert [(r[3], r[4], r[6]) for r in o] == [(0, "passed", None), (1, "passed", "failed"),
                                               (2, "passed", None)]  # shown beside, not instead


def test_report_shows_the_current_version_and_counts_the_rest(db, capsys):
    out = _report(db, capsys)
    lines = {(x["method"], x["ratio"]): x for x in out["rows"]}
    assert set(lines) == {("m", 4), ("o", 4)}
    assert lines["m", 4]["n"] == 2 and lines["m", 4]["top1_mean"] == pytest.approx(0.6)
    assert (lines["o", 4]["n"], lines["o", 4]["failed"], lines["o", 4]["failed_later"]) == (3, 0, 1)
    assert out["summary"]["left_out_versions"] == 6 and out["summary"]["runs_in_file"] == 4
    assert main(["report", "--db", str(db)]) == 0
    text = capsys.readouterr().out
    assert "of the 4 run(s) read" in text and "left out: 6 case(s)" in text
    assert "+1 after passing" in text


def test_every_version_on_its_own_line(db, capsys):
    lines = _report(db, capsys, "--versions", "all")["rows"]
    m4 = sorted((x["version"].split("|")[0], x["n"], round(x["top1_mean"], 4))
                for x in lines if (x["method"], x["ratio"]) == ("m", 4))
    assert m4 == [("h1h1h1h1h1h1", 3, round((0.5 + 0.859 + 0.858) / 3, 4)),
                  ("h2h2h2h2h2h2", 2, 0.6)]  # never averaged together
    assert main(["report", "--db", str(db), "--versions", "all"]) == 0
    assert "h1h1h1h" in capsys.readouterr().out


def test_report_documented_sql_and_export_agree_on_every_count(db, capsys, tmp_path):
    report = {(x["method"], x["ratio"]): x["n"] for x in _report(db, capsys)["rows"]}
    sql = re.findall(r"```sql\n(.*?)```", DOCS.read_text(), flags=re.S)[0]
    con = duckdb.connect(str(db), read_only=True)
    try:
        documented = {(m, r): n for _, m, r, n, *_ in
                      con.execute(sql.replace("'mnist5k'", "'toy'")).fetchall()}
    finally:
        con.close()
    out = tmp_path / "cases.parquet"
    assert export(db, out) == 6 + 2 + 3
    table = pq.read_table(out).to_pylist()
    exported: dict = {}
    for r in table:
        if r["current_version"] and r["status"] == "passed":
            exported[r["method"], r["ratio"]] = exported.get((r["method"], r["ratio"]), 0) + 1
    assert report == documented == exported == {("m", 4): 2, ("o", 4): 3}


def test_the_view_and_the_readers_own_sql_agree(db):
    con = read.open_db(db)
    try:
        from_view = read.load_rows(con)
        from_sql = read.load_rows(con, run="a")  # one run: the same SQL, inlined
    finally:
        con.close()
    assert len(from_view) == 11 and len(from_sql) == 9
    assert all(r["current_version"] for r in from_sql)  # one version in run a alone


def test_accuracy_intervals_stay_within_bounds(db, capsys):
    lines = _report(db, capsys, "--versions", "all")["rows"]
    wide = next(x for x in lines if x["version"].startswith("h1") and x["ratio"] == 4)
    assert wide["top1_ci95_high"] <= 1 and wide["top1_ci95_low"] >= 0 and wide["top1_ci95_clipped"]
    assert main(["report", "--db", str(db), "--versions", "all"]) == 0
    text = capsys.readouterr().out
    assert "100.00]*" in text and "clipped to [0, 100]%" in text


def test_a_later_failure_before_the_weights_were_loaded_hides_nothing(make_results_db, case_row):
    """A re-run of the same method that failed before loading the weights has no sha256 and so
    another version string; the passed rows stay current, the failure shows beside them."""
    sha = {"pretrained_sha256": "s" * 64}
    db = make_results_db("f.duckdb", {
        "a": [case_row("m", r, 0, 0.8, **sha) for r in (1, 2)],
        "b": [case_row("m", 2, 0, None, status="failed", error="killed while pretraining"),
              case_row("m", 4, 0, None, status="failed", error="killed while pretraining")]})
    con = read.open_db(db)
    try:
        rows = {(r["ratio"], r["status"]): r for r in read.load_rows(con)}
    finally:
        con.close()
    assert set(rows) == {(1, "passed"), (2, "passed"), (4, "failed")}
    assert all(r["current_version"] for r in rows.values())
    assert rows[2, "passed"]["later_status"] == "failed" and rows[1, "passed"]["later_status"] is None
