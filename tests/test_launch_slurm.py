"""`python -m bench launch --executor slurm` end to end: stand-ins for sbatch, sacct, squeue and
srun on PATH (tests/fake_slurm.py) run the array's tasks as local processes, so the job script
that submitit generates, its srun line and its environment are exercised for real."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_launch import SUITE
from test_plugin import REPO, rows

from bench.cli.launch import shard_db

FAKE = Path(__file__).with_name("fake_slurm.py")


def fake_slurm(folder: Path) -> Path:
    """A folder of sbatch, sacct, squeue, srun and scancel commands that call fake_slurm.py."""
    folder.mkdir()
    for command in ("sbatch", "sacct", "squeue", "srun", "scancel"):
        path = folder / command
        path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" {command} "$@"\n')
        path.chmod(0o755)
    return folder


@pytest.mark.slow
def test_slurm_launch_runs_the_generated_job_script_and_merges(tmp_path, shared_cache):
    (tmp_path / "suite_tiny.py").write_text(textwrap.dedent(SUITE))
    db, state = tmp_path / "grid.duckdb", tmp_path / "slurm-state"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "BENCH_", "SLURM_"))}
    env |= {"OMP_NUM_THREADS": "1", "FAKE_SLURM_DIR": str(state),
            "PATH": os.pathsep.join([str(fake_slurm(tmp_path / "bin")), env["PATH"]]),
            "PYTHONPATH": os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "bench", "launch", "--shards", "2", "--executor", "slurm",
           "--slurm-partition", "cpu", "--slurm-time", "10", "--slurm-cpus-per-task", "1",
           "--slurm-mem-gb", "2", "--slurm-array-parallelism", "2", "--folder", str(tmp_path / "jobs"),
           "--", "suite_tiny.py", "-p", "bench.plugin", "-p", "no:cacheprovider",
           "--rootdir", str(tmp_path), "--bench-db", str(db), "--bench-cache", str(shared_cache),
           "--bench-no-latency", "--bench-methods", str(REPO / "methods"), "-q"]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "submitted 2 shards (job 1000, slurm)" in out
    for k in (1, 2):  # 5: the shard drew no case
        assert re.search(rf"shard {k}/2: exit [05] \(ok\)", out), out

    script = (state / "1000.sh").read_text()  # the job script submitit generated
    for line in ("#SBATCH --array=0-1%2", "#SBATCH --partition=cpu", "#SBATCH --time=10",
                 "#SBATCH --cpus-per-task=1", "#SBATCH --mem=2GB", "#SBATCH --job-name=bench-shard"):
        assert line in script.splitlines(), script
    assert "srun --unbuffered" in script and "submitit.core._submit" in script
    # submitit's job exits 0 whatever pytest's code, which it returns as the job's result
    assert {(state / f"1000_{k}.state").read_text() for k in (0, 1)} == {"COMPLETED"}
    assert (state / "calls.log").read_text().startswith("sbatch ")

    # each shard's pytest ran inside its array task and wrote its log where the script says
    logs = sorted((tmp_path / "jobs").glob("1000_*_0_log.out"))
    assert len(logs) == 2, sorted(p.name for p in (tmp_path / "jobs").iterdir())
    for log in logs:
        text = log.read_text()
        assert re.search(r"\d+ passed", text) and "Job completed successfully" in text, text
    assert any(shard_db(db, k, 2).exists() for k in (1, 2))
    got = rows(db, "SELECT ratio, status FROM results ORDER BY ratio")
    assert [(r["ratio"], r["status"]) for r in got] == [(1, "passed"), (2, "passed"), (4, "passed")]
    assert {r["shard"] for r in rows(db, "SELECT DISTINCT shard FROM runs")} <= {"1/2", "2/2"}
