"""Shards and grids: shards 1/3..3/3 run every case once; their merge reports like one run."""

from __future__ import annotations

import json

import pytest
from test_plugin import finish, rows, start_suite

from bench.cli import main
from bench.harness.case import Case
from bench.plugin.shard import parse_shard
from bench.results.merge import merge

SUITE = '''
import pytest

from bench.harness import grid


@pytest.mark.parametrize("case", grid.cases(methods=["magnitude_global"], datasets=["digits"],
                                            archs=["mlp"], ratios=[1, 2, 4], seeds=[0, 1]))
def test_prune(case, bench_case):
    bench_case(case)
'''


def test_a_bad_shard_is_refused_with_the_form_to_use():
    assert parse_shard("2/3") == (2, 3)
    for bad in ("0/3", "4/3", "3", "a/b", "1/0"):
        with pytest.raises(pytest.UsageError, match="K/N"):
            parse_shard(bad)


def test_shards_split_by_case_key_alone():
    keys = [Case("m", "d", "a", r, s).key for r in (1, 2, 4, 8, 16, 32) for s in (0, 1, 2)]
    shards = [int(k, 16) % 3 for k in keys]
    assert set(shards) == {0, 1, 2}  # 18 cases spread over all three shards


def report_json(db, *args) -> list[dict]:
    """The summary rows of `python -m bench report --format json`."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["report", "--db", str(db), "--format", "json", *args]) == 0
    return json.loads(out.getvalue())["rows"]


@pytest.mark.slow
def test_three_shards_run_each_case_once_and_merge_to_the_report_of_one_run(tmp_path, shared_cache):
    one = start_suite(SUITE, tmp_path / "one", tmp_path / "one.duckdb", shared_cache, "--bench-grid", "g")
    parts = [start_suite(SUITE, tmp_path / f"s{k}", tmp_path / f"s{k}.duckdb", shared_cache,
                         "--bench-shard", f"{k}/3", "--bench-grid", "g") for k in (1, 2, 3)]
    code, out = finish(one)
    assert code == 0 and "6 passed" in out, out
    ran = []
    for k, proc in enumerate(parts, 1):
        code, out = finish(proc)
        assert code in (0, 5), out  # 5: this shard drew no case
        db = tmp_path / f"s{k}.duckdb"
        got = rows(db, "SELECT case_key FROM results") if db.exists() else []
        assert "deselected" in out  # the other shards' cases are reported as deselected
        assert all(int(r["case_key"], 16) % 3 == k - 1 for r in got)
        ran += [r["case_key"] for r in got]
    assert sorted(ran) == sorted(r["case_key"] for r in rows(tmp_path / "one.duckdb",
                                                             "SELECT case_key FROM results"))
    merged = tmp_path / "merged.duckdb"
    merge([p for p in (tmp_path / f"s{k}.duckdb" for k in (1, 2, 3)) if p.exists()], merged)
    assert rows(merged, "SELECT DISTINCT shard, grid FROM runs ORDER BY shard") == [
        {"shard": f"{k}/3", "grid": "g"} for k in (1, 2, 3)
        if (tmp_path / f"s{k}.duckdb").exists()]
    assert report_json(merged, "--grid", "g") == report_json(tmp_path / "one.duckdb")
    # the single run merged in too: each case still counts once (its latest row)
    merge([tmp_path / "one.duckdb"], merged)
    assert report_json(merged) == report_json(tmp_path / "one.duckdb")
    assert main(["report", "--db", str(merged), "--grid", "other"]) == 2


def _one_case_and_the_other_shard() -> tuple[str, int]:
    """A -k expression selecting one case of SUITE, and the shard (of 2) that does not draw it."""
    from bench.harness import grid

    (param,) = grid.cases(methods=["magnitude_global"], datasets=["digits"], archs=["mlp"], ratios=[4],
                          seeds=[1])
    (case,) = param.values
    return "magnitude_global and r4 and s1", 2 - int(case.key, 16) % 2


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_shard_that_draws_no_case_succeeds_and_says_so(tmp_path, shared_cache, workers):
    keyword, other = _one_case_and_the_other_shard()
    code, out = finish(start_suite(SUITE, tmp_path, tmp_path / "r.duckdb", shared_cache,
                                   "-k", keyword, "--bench-shard", f"{other}/2", *workers))
    assert code == 0, out
    assert f"bench: shard {other}/2 draws none of the 1 selected cases" in out, out
    assert "selects none" not in out and not (tmp_path / "r.duckdb").exists()
