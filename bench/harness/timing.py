"""Seconds per phase of a case, recorded in its row (seconds_pretrain ... seconds_latency), so a
long grid can say where its time went."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

# row column suffix -> the phase's name in summaries
PHASES = {"pretrain": "pretraining", "prune": "pruning", "train": "training", "eval": "evaluation",
          "count": "counting", "latency": "latency"}
COLUMNS = tuple(f"seconds_{p}" for p in PHASES)


@contextlib.contextmanager
def phase(row: dict, name: str) -> Iterator[None]:
    """Add the seconds the block takes to the row's `seconds_<name>` (also when it raises)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        row[f"seconds_{name}"] = row.get(f"seconds_{name}", 0.0) + time.perf_counter() - start


def add_seconds(row: dict, figures: dict) -> dict:
    """Move the `seconds_*` entries of `figures` into the row's totals; return `figures` without them."""
    for key in [k for k in figures if k.startswith("seconds_")]:
        row[key] = row.get(key, 0.0) + figures.pop(key)
    return figures
