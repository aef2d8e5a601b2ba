"""End to end: `pytest suites/ -k magnitude` as a user runs it, checked through the database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from bench.harness.grid import DEFAULT_RATIOS, DEFAULT_SEEDS

REPO = Path(__file__).resolve().parents[1]
MAGNITUDE = ("magnitude_global", "magnitude_layer")

# One worker builds the module's fixture (the 36 cases) once; started first, as the longest.
pytestmark = [pytest.mark.xdist_group("main_job"), pytest.mark.slow]


def run_suite(db: Path, cache: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the suites in a fresh process, as a user would from the repository root. Latency is not
    timed (--bench-no-latency): no test here reads it, and it was a third of the run."""
    env = dict(os.environ, BENCH_CACHE=str(cache))
    cmd = [sys.executable, "-m", "pytest", "suites/", "-q",
           "--bench-db", str(db), "--bench-no-latency", *args]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def main_job(tmp_path_factory, shared_cache):
    db = tmp_path_factory.mktemp("main-job") / "results.duckdb"
    proc = run_suite(db, shared_cache, "-k", "magnitude_global or magnitude_layer")  # not nm_magnitude
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return db, proc


def test_one_passed_case_per_method_ratio_seed(main_job):
    db, proc = main_job
    expected = len(MAGNITUDE) * len(DEFAULT_RATIOS) * len(DEFAULT_SEEDS)
    assert f"{expected} passed" in proc.stdout
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("SELECT method, ratio, seed, status FROM results").fetchall()
    assert sorted(rows) == sorted((m, float(r), s, "passed") for m in MAGNITUDE
                                  for r in DEFAULT_RATIOS for s in DEFAULT_SEEDS)
    assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 1


def test_rows_are_honest(main_job):
    db, _ = main_job
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("""SELECT ratio, top1, top5, top1_dense, compression, params_total,
                                 params_nonzero, pruned_weights_zero, dataset, arch
                          FROM results""").fetchall()
    for ratio, top1, top5, dense, comp, total, nonzero, zero, dataset, arch in rows:
        assert (dataset, arch) == ("mnist5k", "lenet5")
        assert 0 <= top1 <= top5 <= 1 and 0 <= dense <= 1
        assert comp == pytest.approx(total / nonzero)
        assert comp == pytest.approx(ratio, rel=0.02)
        assert zero is True
        if ratio == 1:
            assert top1 == dense and nonzero == total
    assert min(r[3] for r in rows) > 0.9  # LeNet-5 learns MNIST-5k


def _of_main_job(weights: Path) -> bool:
    """Whether a cached weights file is an MNIST-5k LeNet-5 model, the main job's."""
    try:
        meta = json.loads((weights.parent / "meta.json").read_text())
    except (OSError, ValueError):  # an entry another test is writing right now
        return False
    return (meta.get("dataset"), meta.get("arch")) == ("mnist5k", "lenet5")


def _main_job_weights(cache: Path) -> list[Path]:
    """The cached weights of MNIST-5k LeNet-5 models (tests on the other xdist worker add entries
    of other models to the shared cache meanwhile)."""
    return sorted(p for p in cache.glob("*/weights.pt") if _of_main_job(p))


def test_second_run_trains_nothing(main_job, shared_cache):
    db, _ = main_job
    weights = _main_job_weights(Path(shared_cache))
    assert weights, "the first run cached no pretrained model"
    before = {p: p.stat().st_mtime_ns for p in weights}
    # --bench-rerun: without it the cases, passed already, are skipped by resume
    proc = run_suite(db, shared_cache, "-k", "magnitude_global and r2", "--bench-rerun")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert {p: p.stat().st_mtime_ns for p in weights} == before
    assert _main_job_weights(Path(shared_cache)) == weights
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 2
