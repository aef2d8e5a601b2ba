"""Measured inference latency: median and IQR of repeated timed forward passes after warm-up,
and the A/A check that says whether a measured speedup is stable.

Timed with time.perf_counter around a few passes (CUDA synchronised around them), with a fixed
thread count (THREADS unless told otherwise, whatever the process uses); fast models run several
passes per timed sample so that timer overhead is negligible. (torch.utils.benchmark's Timer
runs two untimed passes before every sample, which tripled the cost of a slow model's figure.)
Each figure carries the device, the thread count and whether other workers were running. The
wall time spent per figure is bounded: about MAX_RUN_TIME seconds plus warm-up, and MIN_SAMPLES
samples at least.
"""

from __future__ import annotations

import math
import statistics
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

MIN_RUN_TIME = 0.1  # seconds of timed runs before the spread is checked
MAX_RUN_TIME = 0.3  # seconds after which timing stops (once MIN_SAMPLES are taken)
MIN_SAMPLES = 5  # a slow model is timed at least this many times, whatever the budget
MIN_SAMPLES_BATCH = 3  # ... at the evaluation batch, where one pass can take tens of ms
THRESHOLD = 0.1  # stop early once IQR / median is under this
# Seconds per sample: fast models run several passes per sample. Short, so that on a busy machine
# most samples fit between two preemptions (2 ms samples under load: 2 of 20 A/A checks passed;
# 0.5 ms: 17 of 20).
BLOCK_TIME = 0.0005
THREADS = 1  # intra-op threads latency is timed with: fixed, so serial and -n figures compare
AA_TOLERANCE = 0.1  # a speedup is stable when the dense model timed against itself is within 10%
MAX_SPREAD = 0.5  # ... and no series' IQR exceeds half its median


_SIZED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> {setting: per_run}


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
    samples: tuple[float, ...] = ()  # the timed samples, ms per forward pass


def pooled(a: Latency, b: Latency) -> Latency:
    """One figure from two series of the same model (the two halves of an A/A check)."""
    samples = (*a.samples, *b.samples)
    med, iqr = _median_iqr([t / 1e3 for t in samples])
    return Latency(med * 1e3, iqr * 1e3, a.batch_size, a.runs + b.runs, a.per_run, a.threads,
                   a.device, a.parallel, samples)


def instability(a: Latency, b: Latency, *others: Latency) -> str | None:
    """Why a speedup measured beside the A/A pair `a`, `b` (one model timed twice, alternately
    with the others) cannot be trusted, or None when it can: the A/A ratio is off 1 by more
    than AA_TOLERANCE, or a series' IQR exceeds MAX_SPREAD of its median."""
    aa = a.median_ms / b.median_ms
    low, high = 1 / (1 + AA_TOLERANCE), 1 + AA_TOLERANCE
    if not low <= aa <= high:
        return f"A/A {aa:.2f} outside [{low:.2f}, {high:.2f}]"
    spread = max(x.iqr_ms / x.median_ms for x in (a, b, *others))
    if spread > MAX_SPREAD:
        return f"IQR {spread:.0%} of the median (over {MAX_SPREAD:.0%})"
    return None


@torch.no_grad()
def measure(model: nn.Module, input_shape: tuple[int, ...], batch_size: int = 1,
            parallel: bool = False, min_run_time: float = MIN_RUN_TIME,
            max_run_time: float = MAX_RUN_TIME, threads: int | None = THREADS) -> Latency:
    """Time `model` in eval mode on a batch of zeros of `batch_size` inputs of `input_shape`.

    Two untimed passes warm up; then samples of `per_run` passes are timed until the spread is
    small (after `min_run_time`) or `max_run_time` is spent, with at least MIN_SAMPLES samples.
    """
    return measure_alternating([model], input_shape, batch_size, parallel, min_run_time,
                               max_run_time, threads)[0]


@torch.no_grad()
def measure_alternating(models: Sequence[nn.Module], input_shape: tuple[int, ...],
                        batch_size: int = 1, parallel: bool = False,
                        min_run_time: float = MIN_RUN_TIME,
                        max_run_time: float = MAX_RUN_TIME,
                        threads: int | None = THREADS,
                        min_samples: int = MIN_SAMPLES,
                        dtype: torch.dtype = torch.float32) -> list[Latency]:
    """Time several models sample by sample in turn (A, B, C, then B, C, A, then C, A, B, ...),
    so that a change of load on the machine, and the place in a round, affect each alike and
    their ratio stays fair. Budgets are per model; the
    same model may be given twice (an A/A check: it is warmed up once). `threads` None: the
    process's own count."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    device = next(models[0].parameters()).device
    threads = threads or torch.get_num_threads()
    modes = {id(m): m.training for m in models}
    x = torch.zeros(batch_size, *input_shape, device=device, dtype=dtype)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        per_run, sized = [], {}
        for model in models:
            model.eval()
            if id(model) not in sized:
                sized[id(model)] = _per_run(model, x, (batch_size, threads, str(device)))
            per_run.append(sized[id(model)])
        times: list[list[float]] = [[] for _ in models]
        start = time.perf_counter()
        series = list(zip(models, per_run, times, strict=True))
        while True:
            turn = len(times[0]) % len(series)  # each series takes each place in a round in turn
            for model, n, samples in series[turn:] + series[:turn]:
                samples.append(_timed(model, x, n))
            spent = (time.perf_counter() - start) / len(models)  # wall time, overhead included
            if len(times[0]) < min_samples:
                continue
            spreads = [_median_iqr(t) for t in times]
            if spent >= max_run_time or (spent >= min_run_time and
                                         all(iqr < THRESHOLD * med for med, iqr in spreads)):
                break
    finally:
        torch.set_num_threads(previous)
        for model in models:
            model.train(modes[id(model)])
    return [Latency(med * 1e3, iqr * 1e3, batch_size, len(t), n, threads, str(device), parallel,
                    tuple(x * 1e3 for x in t))
            for (med, iqr), t, n in zip(spreads, times, per_run, strict=True)]


def _timed(model: nn.Module, x: torch.Tensor, n: int) -> float:
    """Seconds per pass of `n` passes of `model` on `x` (CUDA synchronised around them). A fast
    model (several passes per sample) first runs one untimed pass: the first pass after another
    model ran is slower (caches), and would bias whichever series comes first in a round."""
    if n > 1:
        model(x)
    cuda = x.device.type == "cuda"
    if cuda:
        torch.cuda.synchronize(x.device)
    start = time.perf_counter()
    for _ in range(n):
        model(x)
    if cuda:
        torch.cuda.synchronize(x.device)
    return (time.perf_counter() - start) / n


def _per_run(model: nn.Module, x: torch.Tensor, setting: tuple) -> int:
    """Passes per sample of `model`, after warming it up; a model warmed up and sized before in
    this process (the dense reference of every case) is not warmed up again."""
    known = _SIZED.setdefault(model, {})
    if setting not in known:
        first = _timed(model, x, 1)  # warm-up: first-call allocations, lazy initialisation
        one = first if first > BLOCK_TIME else _timed(model, x, 1)  # slow: one pass per sample
        known[setting] = max(1, int(BLOCK_TIME / max(one, 1e-9)))
    return known[setting]


def _median_iqr(times: list[float]) -> tuple[float, float]:
    """Median and interquartile range (linear interpolation, as torch.quantile), in plain Python:
    no tensor work between two timed samples."""
    q1, median, q3 = statistics.quantiles(times, n=4, method="inclusive") if len(times) > 1 \
        else (times[0],) * 3
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
