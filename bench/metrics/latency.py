"""Measured inference latency: median and IQR of repeated timed forward passes after warm-up.

Built on torch.utils.benchmark.Timer (it synchronises CUDA and fixes the thread count); fast
models run several passes per timed sample so that timer overhead is negligible. Each figure
carries the device, the thread count and whether other workers were running, so that figures
taken under parallel load are never mixed with clean ones. The wall time spent per figure is
bounded: about MAX_RUN_TIME seconds plus warm-up, and MIN_SAMPLES samples at least.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.utils.benchmark as tbench
from torch import nn

MIN_RUN_TIME = 0.1  # seconds of timed runs before the spread is checked
MAX_RUN_TIME = 0.3  # seconds after which timing stops (once MIN_SAMPLES are taken)
MIN_SAMPLES = 5  # a slow model is timed at least this many times, whatever the budget
THRESHOLD = 0.1  # stop early once IQR / median is under this
BLOCK_TIME = 0.002  # seconds per sample: fast models run several passes per sample


@dataclass(frozen=True)
class Latency:
    """One latency figure: median and IQR of a forward pass in milliseconds, and its conditions."""

    median_ms: float
    iqr_ms: float
    batch_size: int
    runs: int  # timed samples (each the mean of `per_run` forward passes)
    per_run: int
    threads: int
    device: str
    parallel: bool  # other workers were running on the machine at the time


@torch.no_grad()
def measure(model: nn.Module, input_shape: tuple[int, ...], batch_size: int = 1,
            parallel: bool = False, min_run_time: float = MIN_RUN_TIME,
            max_run_time: float = MAX_RUN_TIME) -> Latency:
    """Time `model` in eval mode on a batch of zeros of `batch_size` inputs of `input_shape`.

    Two untimed passes warm up; then samples of `per_run` passes are timed until the spread is
    small (after `min_run_time`) or `max_run_time` is spent, with at least MIN_SAMPLES samples.
    """
    return measure_alternating([model], input_shape, batch_size, parallel, min_run_time,
                               max_run_time)[0]


@torch.no_grad()
def measure_alternating(models: Sequence[nn.Module], input_shape: tuple[int, ...],
                        batch_size: int = 1, parallel: bool = False,
                        min_run_time: float = MIN_RUN_TIME,
                        max_run_time: float = MAX_RUN_TIME,
                        dtype: torch.dtype = torch.float32) -> list[Latency]:
    """Time several models sample by sample in turn (A, B, A, B, ...), so that a change of load
    on the machine affects each alike and their ratio stays fair. Budgets are per model."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    device = next(models[0].parameters()).device
    threads = torch.get_num_threads()
    modes = [m.training for m in models]
    x = torch.zeros(batch_size, *input_shape, device=device, dtype=dtype)
    try:
        timers, per_run = [], []
        for model in models:
            model.eval()
            timer = tbench.Timer(stmt="model(x)", globals={"model": model, "x": x},
                                 num_threads=threads)
            timer.timeit(1)  # warm-up: first-call allocations and lazy initialisation
            per_run.append(max(1, int(BLOCK_TIME / max(timer.timeit(1).raw_times[0], 1e-9))))
            timers.append(timer)
        times: list[list[float]] = [[] for _ in models]
        start = time.perf_counter()
        while True:
            for timer, n, samples in zip(timers, per_run, times, strict=True):
                samples.append(timer.timeit(n).raw_times[0] / n)
            spent = (time.perf_counter() - start) / len(models)  # wall time, overhead included
            if len(times[0]) < MIN_SAMPLES:
                continue
            spreads = [_median_iqr(t) for t in times]
            if spent >= max_run_time or (spent >= min_run_time and
                                         all(iqr < THRESHOLD * med for med, iqr in spreads)):
                break
    finally:
        for model, mode in zip(models, modes, strict=True):
            model.train(mode)
    return [Latency(med * 1e3, iqr * 1e3, batch_size, len(t), n, threads, str(device), parallel)
            for (med, iqr), t, n in zip(spreads, times, per_run, strict=True)]


def _median_iqr(times: list[float]) -> tuple[float, float]:
    q1, median, q3 = torch.quantile(torch.tensor(times, dtype=torch.float64),
                                    torch.tensor([0.25, 0.5, 0.75], dtype=torch.float64)).tolist()
    return median, q3 - q1


def figures(lat: Latency, prefix: str) -> dict:
    """Row fields of one figure: `<prefix>_ms`, `<prefix>_iqr_ms`, `<prefix>_runs`."""
    return {f"{prefix}_ms": lat.median_ms, f"{prefix}_iqr_ms": lat.iqr_ms,
            f"{prefix}_runs": lat.runs}


SWEEP = {"cpu": (1, 32, 256), "cuda": (1, 256, 1024)}  # batch sizes timed, by device type


def sweep_batches(device: str | torch.device) -> tuple[int, ...]:
    """The batch sizes of the latency sweep on `device` (the last is the headline batch figure)."""
    return SWEEP.get(torch.device(device).type, SWEEP["cpu"])


def speedups(row: dict) -> dict:
    """speedup_measured (batch 1) and speedup_measured_batch: dense / pruned median latency."""
    out = {}
    for suffix in ("", "_batch"):
        dense, pruned = row.get(f"latency_dense{suffix}_ms"), row.get(f"latency{suffix}_ms")
        if dense and pruned and math.isfinite(dense) and math.isfinite(pruned):
            out[f"speedup_measured{suffix}"] = dense / pruned
    return out
