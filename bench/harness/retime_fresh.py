"""Retiming in fresh processes: one child process per pass, and the spread of a figure across them.

Speedups differ more between processes (memory layout, thread placement, the allocator's state)
than within one, so a pass in a fresh process is the unit a citable figure is the median over.
Run as `python -m bench.harness.retime_fresh`: reads {rows, cache, device} as JSON on stdin, times
every row once, prints the timings as a JSON list."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bench.errors import BenchError
from bench.metrics.latency import MAX_SPREAD


class RetimeProcessError(BenchError, RuntimeError):
    """A retiming process failed: its last line of error output says why."""


def spread(values: list[float | None]) -> float | None:
    """(max - min) / median of the values across processes (None if any is missing)."""
    if not values or None in values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return (ordered[-1] - ordered[0]) / median if median else None


def unstable_across(values: list[float | None]) -> str:
    """Why a figure moves too much across processes ('' when it does not): its spread is over
    the latency's MAX_SPREAD (the IQR limit a series is held to within one process)."""
    s = spread(values)
    if s is not None and s > MAX_SPREAD:
        return f"spread {s:.0%} across processes (over {MAX_SPREAD:.0%})"
    return ""


def one_pass(rows: list[dict], cache: str | None, device: str) -> list[dict]:
    """Time every row once in a fresh process; its timings, in the order of `rows`."""
    payload = json.dumps({"rows": rows, "cache": cache, "device": device}, default=str)
    done = subprocess.run([sys.executable, "-m", "bench.harness.retime_fresh"], input=payload,
                          capture_output=True, text=True, env=os.environ.copy())
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no error output"])[-1]
        raise RetimeProcessError(f"a retiming process failed ({last}); run python -m bench retime "
                                 "--repeat 1 to see the whole error")
    return json.loads(done.stdout)


def _main() -> None:
    """The child: time the rows given on stdin once each, print their timings as JSON."""
    import torch

    from bench.harness.env import BenchEnv
    from bench.harness.retime import retime
    from bench.training.zoo import Zoo

    given = json.loads(sys.stdin.read())
    torch.set_num_threads(1)
    env = BenchEnv(zoo=Zoo(given["cache"], device=given["device"]), device=given["device"])
    out = [retime(row, env) | {"process": os.getpid()} for row in given["rows"]]
    sys.stdout.write(json.dumps(out, default=str))


if __name__ == "__main__":
    _main()
