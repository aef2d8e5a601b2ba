"""Resume: a second run skips the cases that passed, writes no row for them, reruns the rest."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_plugin import rows, run_suite

from bench.harness.case import Case
from bench.harness.identity import expected
from bench.methods import discover
from bench.results.finished import finished_cases, merge_finished, standing_run
from bench.results.read import load_rows, open_db
from bench.training.cache import WeightsCache

SUITE = '''
import pytest

from bench.harness import grid

GRID = dict(methods=["magnitude_global"], datasets=["digits"], archs=["mlp"], seeds=[0])


@pytest.mark.parametrize("case", grid.cases(ratios=[1, 2], **GRID))
def test_prune(case, bench_case):
    bench_case(case)


@pytest.mark.parametrize("case", grid.cases(ratios=[4], **GRID))
def test_fails(case, bench_case):
    bench_case(case)
    raise AssertionError("fails every time")
'''


# The two tests below share the first run of the suite: one worker runs them, the run once.
pytestmark = pytest.mark.xdist_group("resume")


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, shared_cache) -> tuple[Path, Path, int, str]:
    """The suite run once into a new database: its folder, the database, exit code and output."""
    tmp = tmp_path_factory.mktemp("resume")
    code, out = run_suite(SUITE, tmp / "s", tmp / "r.duckdb", shared_cache)
    return tmp / "s", tmp / "r.duckdb", code, out


@pytest.mark.slow
def test_a_second_run_skips_passed_cases_and_reruns_failed_ones(first_run, shared_cache):
    folder, db, code, out = first_run
    assert code == 1 and "2 passed" in out and "1 failed" in out, out
    first = rows(db, "SELECT run_id FROM runs")[0]["run_id"]
    # under xdist: the controller hands the finished cases to the workers in workerinput
    code, out = run_suite(SUITE, folder, db, shared_cache, "-n", "2", "-rs")
    assert code == 1 and "2 skipped" in out and "1 failed" in out, out
    assert f"resume: passed in run {first}" in out
    assert "2 cases skipped by resume" in out
    got = rows(db, "SELECT r.run_id, x.status, x.ratio FROM results x JOIN runs r USING (run_id) "
                   "ORDER BY r.started_at, x.ratio")
    assert [(g["status"], g["ratio"]) for g in got] == [("passed", 1), ("passed", 2), ("failed", 4),
                                                        ("failed", 4)]  # no row for a skipped case
    con = open_db(db)
    latest = {r["ratio"]: (r["status"], r["run_id"]) for r in load_rows(con)}
    con.close()
    assert latest[1] == ("passed", first) and latest[2] == ("passed", first)
    code, out = run_suite(SUITE, folder, db, shared_cache, "--bench-rerun")
    assert "2 passed" in out and "1 failed" in out and "skipped" not in out, out
    assert rows(db, "SELECT count(*) AS n FROM results")[0]["n"] == 7


def test_only_the_latest_passed_row_of_the_same_identity_counts(make_results_db, case_row):
    ident = dict(case_key="k1", method_hash="m1", pretrained_sha256="s1", pretrain_recipe_key="p1",
                 recipe_key="f1")
    db = make_results_db("f.duckdb", {
        "run-1": [case_row("a", 2, 0, 0.8, **ident), case_row("a", 4, 0, 0.8, **ident | {"case_key": "k2"})],
        "run-2": [case_row("a", 4, 0, 0.1, status="failed", **ident | {"case_key": "k2"}),
                  case_row("a", 8, 0, 0.1, **ident | {"case_key": "k3", "method_hash": None})],
    })
    con = open_db(db)
    found = finished_cases(con)
    con.close()
    assert found == {"k1": [["m1", "s1", "p1", "f1", "run-1"]]}  # k2 failed last; k3 lacks a hash
    assert standing_run(found, ("k1", "m1", "s1", "p1", "f1")) == "run-1"
    assert standing_run(found, ("k1", "m2", "s1", "p1", "f1")) is None  # the method changed
    assert standing_run(found, ("k1", "m1", "s2", "p1", "f1")) is None  # other pretrained weights
    assert standing_run(found, None) is None
    assert merge_finished(found, found, {"k9": [["x", "y", "z", "w", "r"]]}) == found | {
        "k9": [["x", "y", "z", "w", "r"]]}


def test_the_identity_before_running_needs_the_cached_weights(tmp_path):
    case = Case("magnitude_global", "digits", "mlp", 2)
    methods = discover(None)
    assert expected(case, methods, WeightsCache(tmp_path / "empty")) is None
    assert expected(Case("no_such_method", "digits", "mlp", 2), methods, WeightsCache(tmp_path)) is None
    assert expected(Case("magnitude_global", "no_such_data", "mlp", 2), methods,
                    WeightsCache(tmp_path)) is None


@pytest.mark.slow
def test_the_identity_matches_what_a_run_records(first_run, shared_cache):
    db = first_run[1]
    first = "(SELECT run_id FROM runs ORDER BY started_at LIMIT 1)"  # later runs may follow
    (row,) = rows(db, f"SELECT * FROM results WHERE ratio = 2 AND run_id = {first}")
    assert row["status"] == "passed"
    ident = expected(Case("magnitude_global", "digits", "mlp", 2), discover(None),
                     WeightsCache(shared_cache))
    assert ident == (row["case_key"], row["method_hash"], row["pretrained_sha256"],
                     row["pretrain_recipe_key"], row["recipe_key"])
