"""python -m bench launch: shards as a submitit job array (local executor), merged; again resumes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from test_plugin import REPO, rows

from bench.cli.launch import shard_args, shard_db, split_db

SUITE = '''
import pytest

from bench.harness import grid


@pytest.mark.parametrize("case", grid.cases(methods=["magnitude_global"], datasets=["digits"],
                                            archs=["mlp"], ratios=[1, 2, 4], seeds=[0]))
def test_prune(case, bench_case):
    bench_case(case)
'''


def launch(folder, db, cache, *extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "BENCH_"))}
    env |= {"OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "bench", "launch", "--shards", "2", "--executor", "local",
           "--folder", str(folder / "jobs"), "--", "suite_tiny.py", "-p", "bench.plugin",
           "-p", "no:cacheprovider", "--rootdir", str(folder), "--bench-db", str(db),
           "--bench-cache", str(cache), "--bench-no-latency", "--bench-methods", str(REPO / "methods"),
           "-q", *extra]
    return subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_launch_runs_the_shards_merges_them_and_resumes(tmp_path, shared_cache):
    (tmp_path / "suite_tiny.py").write_text(textwrap.dedent(SUITE))
    db = tmp_path / "grid.duckdb"
    proc = launch(tmp_path, db, shared_cache, "--bench-grid", "tiny")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "shard 1/2: exit" in proc.stdout and "shard 2/2: exit" in proc.stdout
    assert all(shard_db(db, k, 2).exists() for k in (1, 2))
    got = rows(db, "SELECT ratio, status, run_id FROM results ORDER BY ratio")
    assert [(r["ratio"], r["status"]) for r in got] == [(1, "passed"), (2, "passed"), (4, "passed")]
    runs = rows(db, "SELECT run_id, shard, grid FROM runs ORDER BY shard")
    assert {r["grid"] for r in runs} == {"tiny"} and {r["run_id"] for r in got} <= {r["run_id"] for r in runs}
    again = launch(tmp_path, db, shared_cache)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "(0 new case rows)" in again.stdout
    assert rows(db, "SELECT count(*) AS n FROM results")[0]["n"] == 3


def test_the_shard_arguments(tmp_path):
    db, rest = split_db(["suites/", "--bench-db", "x/r.duckdb", "-k", "magnitude"])
    assert db.name == "r.duckdb" and rest == ["suites/", "-k", "magnitude"]
    assert split_db(["--bench-db=a.duckdb"])[0].name == "a.duckdb"
    assert split_db([])[0].name == "results.duckdb"
    args = shard_args(rest, db, 2, 3)
    assert args[-6:] == ["--bench-db", str(db.with_name("r.shard-2-of-3.duckdb")), "--bench-shard", "2/3",
                         "--bench-resume-from", str(db)]


def test_a_shard_that_draws_no_case_is_ok(tmp_path, shared_cache):
    """-k selects one case: one shard runs it, the other draws none; launch exits 0."""
    (tmp_path / "suite_tiny.py").write_text(textwrap.dedent(SUITE))
    db = tmp_path / "grid.duckdb"
    proc = launch(tmp_path, db, shared_cache, "-k", "magnitude_global and r4")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "pytest failed to run" not in proc.stdout and "(1 new case rows)" in proc.stdout, proc.stdout
