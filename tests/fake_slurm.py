"""Stand-ins for Slurm's sbatch, sacct, squeue, srun and scancel that run a job array's tasks as
local processes, so that the job script submitit generates is run for real (tests/test_launch_slurm.py
puts them on PATH). Their state, the scripts submitted and a log of calls are kept in $FAKE_SLURM_DIR.

    fake_slurm.py sbatch SCRIPT      submit: prints "Submitted batch job ID", starts every task
    fake_slurm.py sacct -j ID ...    JobID|State|NodeList of the tasks of the given jobs
    fake_slurm.py squeue             the tasks still pending or running
    fake_slurm.py srun [--output F] [--error F] [--unbuffered] CMD...   runs CMD, output into F
    fake_slurm.py scancel ID         marks the job's tasks CANCELLED
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

STATE = Path(os.environ.get("FAKE_SLURM_DIR", ".fake-slurm"))
NODE = "localhost"


def _log(*args: str) -> None:
    with open(STATE / "calls.log", "a") as f:
        f.write(" ".join(args) + "\n")


def _options(text: str) -> dict[str, str]:
    """The `#SBATCH --name=value` lines of a job script."""
    return dict(re.findall(r"^#SBATCH --([\w-]+)=(.*)$", text, re.MULTILINE))


def _expand(pattern: str, job: str, task: str) -> str:
    """A Slurm file name pattern for one array task: %A job, %a task, %j job_task, %t rank 0."""
    return (pattern.replace("%A", job).replace("%a", task).replace("%j", f"{job}_{task}")
            .replace("%t", "0"))


def sbatch(args: list[str]) -> int:
    script = Path(args[-1])
    text = script.read_text()
    counter = STATE / "next-job-id"
    job = int(counter.read_text()) if counter.exists() else 1000
    counter.write_text(str(job + 1))
    (STATE / f"{job}.sh").write_text(text)  # what was submitted, for the test to read
    first, last = map(int, re.match(r"(\d+)-(\d+)", _options(text).get("array", "0-0")).groups())
    for task in range(first, last + 1):
        (STATE / f"{job}_{task}.state").write_text("PENDING")
        subprocess.Popen([sys.executable, __file__, "_task", str(script), str(job), str(task)],
                         start_new_session=True, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"Submitted batch job {job}")
    return 0


def task(script: str, job: str, task: str) -> int:
    """One array task: the job script under bash, with the variables Slurm sets for it."""
    options = _options(Path(script).read_text())
    env = os.environ | {
        "SLURM_JOB_ID": str(int(job) + 1 + int(task)), "SLURM_ARRAY_JOB_ID": job,
        "SLURM_ARRAY_TASK_ID": task, "SLURM_NTASKS": "1", "SLURM_JOB_NUM_NODES": "1",
        "SLURM_NODEID": "0", "SLURM_PROCID": "0", "SLURM_LOCALID": "0", "SLURM_JOB_NODELIST": NODE}
    out, err = (Path(_expand(options[k], job, task)) for k in ("output", "error"))
    out.parent.mkdir(parents=True, exist_ok=True)
    state = STATE / f"{job}_{task}.state"
    state.write_text("RUNNING")
    with open(out, "a") as stdout, open(err, "a") as stderr:
        code = subprocess.call(["bash", script], env=env, stdout=stdout, stderr=stderr)
    state.write_text("COMPLETED" if code == 0 else "FAILED")
    return code


def srun(args: list[str]) -> int:
    files, i = {}, 0
    while i < len(args) and args[i].startswith("--"):
        if args[i] in ("--output", "--error"):
            files[args[i]], i = args[i + 1], i + 2
        else:
            i += 1
    job, task = os.environ["SLURM_ARRAY_JOB_ID"], os.environ["SLURM_ARRAY_TASK_ID"]
    paths = {k: Path(_expand(v, job, task)) for k, v in files.items()}
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    with open(paths.get("--output", os.devnull), "a") as stdout, \
            open(paths.get("--error", os.devnull), "a") as stderr:
        return subprocess.call(args[i:], stdout=stdout, stderr=stderr)


def _tasks(jobs: set[str] | None = None) -> list[tuple[str, str]]:
    found = sorted(STATE.glob("*.state"))
    return [(p.stem, p.read_text()) for p in found if jobs is None or p.stem.split("_")[0] in jobs]


def sacct(args: list[str]) -> int:
    jobs = {args[i + 1] for i, a in enumerate(args) if a == "-j"}
    print("JobID|State|NodeList")
    for task_id, state in _tasks(jobs):
        print(f"{task_id}|{state}|{NODE}")
    return 0


def squeue(args: list[str]) -> int:
    print("JOBID STATE")
    for task_id, state in _tasks():
        if state in ("PENDING", "RUNNING"):
            print(f"{task_id} {state}")
    return 0


def scancel(args: list[str]) -> int:
    jobs = {a.split("_")[0] for a in args if not a.startswith("-")}
    for task_id, state in _tasks(jobs):
        if state in ("PENDING", "RUNNING"):
            (STATE / f"{task_id}.state").write_text("CANCELLED")
    return 0


def main(argv: list[str]) -> int:
    """Dispatch on the command name given first."""
    STATE.mkdir(parents=True, exist_ok=True)
    command, args = argv[0], argv[1:]
    if command == "_task":
        return task(*args)
    _log(command, *args)
    return {"sbatch": sbatch, "sacct": sacct, "squeue": squeue, "srun": srun,
            "scancel": scancel}[command](args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
