"""Run a grid as N shards, a job array through submitit (Slurm, or local processes), then merge.

    python -m bench launch --shards 4 --executor slurm --slurm-partition gpu --slurm-time 600 \\
        --slurm-gpus-per-node 1 -- suites/ -k magnitude --bench-grid paper --bench-device cuda

Shard K runs `pytest <args> --bench-shard K/N` into its own database (<db>.shard-K-of-N.duckdb
beside the database that --bench-db names, default results.duckdb); when all have finished, they
are merged into that database. Launching again resumes: each shard skips the cases that passed in
its own database or in the merged one. See docs/grids.md for what the nodes must share.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.errors import InvalidValueError
from bench.results.merge import merge
from bench.results.store import Store

OK_CODES = (0, 1, 5)  # all passed (or this shard drew no case), some cases failed (rows kept), no test


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shards", type=int, required=True, metavar="N", help="number of shards (jobs)")
    parser.add_argument("--executor", choices=["auto", "slurm", "local"], default="auto",
                        help="slurm (sbatch), local (processes on this machine), or auto: slurm "
                             "where sbatch is found (default)")
    parser.add_argument("--folder", default=None, metavar="DIR",
                        help="submitit's folder for job files and logs (default: "
                             "<db folder>/bench-launch/<time>)")
    parser.add_argument("--timeout-min", type=int, default=24 * 60, metavar="MIN",
                        help="time limit of each shard in minutes (default: 1440)")
    slurm = parser.add_argument_group("slurm (ignored by the local executor)")
    slurm.add_argument("--slurm-partition", default=None, metavar="NAME")
    slurm.add_argument("--slurm-time", type=int, default=None, metavar="MIN",
                       help="Slurm time limit in minutes (default: --timeout-min)")
    slurm.add_argument("--slurm-gpus-per-node", type=int, default=None, metavar="G")
    slurm.add_argument("--slurm-cpus-per-task", type=int, default=None, metavar="C")
    slurm.add_argument("--slurm-mem-gb", type=float, default=None, metavar="GB")
    slurm.add_argument("--slurm-array-parallelism", type=int, default=None, metavar="J",
                       help="at most this many shards at once")
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, metavar="-- PYTEST_ARGS",
                        help="arguments of pytest, after --")


def split_db(args: list[str]) -> tuple[Path, list[str]]:
    """The --bench-db of pytest arguments (default results.duckdb) and the arguments without it."""
    db, rest, i = "results.duckdb", [], 0
    while i < len(args):
        if args[i] == "--bench-db" and i + 1 < len(args):
            db, i = args[i + 1], i + 2
            continue
        if args[i].startswith("--bench-db="):
            db = args[i].split("=", 1)[1]
        else:
            rest.append(args[i])
        i += 1
    return Path(db).resolve(), rest


def shard_db(db: Path, k: int, n: int) -> Path:
    """The database shard K of N writes: <stem>.shard-K-of-N<suffix> beside `db`."""
    return db.with_name(f"{db.stem}.shard-{k}-of-{n}{db.suffix}")


def shard_args(args: list[str], db: Path, k: int, n: int) -> list[str]:
    """pytest arguments of shard K of N."""
    return [*args, "--bench-db", str(shard_db(db, k, n)), "--bench-shard", f"{k}/{n}",
            "--bench-resume-from", str(db)]


def run_shard(args: list[str], cwd: str) -> int:
    """The job: run pytest on this node with the shard's arguments; its exit code."""
    return subprocess.run([sys.executable, "-m", "pytest", *args], cwd=cwd, check=False).returncode


def executor(args: argparse.Namespace, folder: Path):
    """A submitit executor for the chosen cluster, with the time, GPU and Slurm parameters set."""
    import submitit

    cluster = args.executor
    if cluster == "auto":
        cluster = "slurm" if shutil.which("sbatch") else "local"
    if cluster == "slurm" and not shutil.which("sbatch"):
        raise InvalidValueError("--executor slurm: no sbatch on this machine; run launch on a Slurm "
                                "login node, or use --executor local")
    ex = submitit.AutoExecutor(folder=folder, cluster=cluster)
    params = {"timeout_min": args.slurm_time or args.timeout_min, "name": "bench-shard",
              "slurm_partition": args.slurm_partition, "gpus_per_node": args.slurm_gpus_per_node,
              "cpus_per_task": args.slurm_cpus_per_task, "mem_gb": args.slurm_mem_gb,
              "slurm_array_parallelism": args.slurm_array_parallelism}
    ex.update_parameters(**{k: v for k, v in params.items() if v is not None})
    return ex


def run(args: argparse.Namespace) -> int:
    if args.shards < 1:
        raise InvalidValueError(f"--shards {args.shards}: give at least 1")
    pytest_args = args.pytest_args[1:] if args.pytest_args[:1] == ["--"] else args.pytest_args
    db, rest = split_db(pytest_args)
    Store(db, hold=False).close()  # fails now if a run is writing the database (or it is newer)
    folder = Path(args.folder or db.parent / "bench-launch" / time.strftime("%Y%m%dT%H%M%S"))
    ex = executor(args, folder)
    n = args.shards
    jobs = ex.map_array(run_shard, [shard_args(rest, db, k, n) for k in range(1, n + 1)],
                        [os.getcwd()] * n)
    print(f"submitted {n} shards (job {jobs[0].job_id.split('_')[0]}, {ex.cluster}); "
          f"logs in {folder}", flush=True)
    codes = []
    for k, job in enumerate(jobs, 1):
        try:
            code = job.result()
        except Exception as exc:  # the job itself failed (killed, timed out): say so, merge the rest
            code, detail = None, str(exc).splitlines()[0]
        else:
            detail = "ok" if code in OK_CODES else "pytest failed to run"
        codes.append(code)
        print(f"shard {k}/{n}: exit {code} ({detail}); log {job.paths.stdout}", flush=True)
    sources = [p for p in (shard_db(db, k, n) for k in range(1, n + 1)) if p.exists()]
    added = merge(sources, db)
    rows = sum(per["results"] for per in added.values())
    print(f"merged {len(sources)} shard databases into {db} ({rows} new case rows)")
    if any(c not in OK_CODES for c in codes):
        return 2
    return 1 if 1 in codes else 0
