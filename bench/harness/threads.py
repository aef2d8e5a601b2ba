"""The thread policy: intra-op threads per process, so that parallel workers never oversubscribe
the cores, and the fixed count latency is timed under."""

from __future__ import annotations

import os

from bench.errors import InvalidValueError

# Default of --bench-threads. Measured on 2 busy cores (docs/metrics.md): one thread per process
# ran the embedded suites fastest, serial and under -n 2 alike, and a serial run then gives the
# very same rows as a -n run.
DEFAULT = "1"


def cores() -> int:
    """CPU cores this process may run on (its affinity where the OS tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def per_process(requested: str | int | None, workers: int) -> int:
    """Threads for each of `workers` processes: a number, or 'auto' (cores // workers, at least
    one)."""
    text = str(requested if requested is not None else DEFAULT).strip().lower()
    if text == "auto":
        return max(1, cores() // max(1, workers))
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise InvalidValueError(f"--bench-threads must be a positive number or auto, not {requested!r}")
    return n
