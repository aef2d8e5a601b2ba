"""Figures of a model as evaluated: accuracy, size and MACs against the dense model, latency."""

from __future__ import annotations

import time

import torch
from torch import nn

from bench.harness import row as rows
from bench.metrics import latency as latency_metric
from bench.metrics.profile import profile as layer_profile
from bench.metrics.size import count_params
from bench.training.loop import evaluate

ACTIVATION_EXAMPLES = 64  # evaluation inputs over which nonzero activations are averaged
# Seconds of timed runs per case (3 series each), warm-up aside: at batch 1, and at the evaluation
# batch (where MIN_SAMPLES_BATCH passes of each series usually spend it already).
LATENCY_BUDGET = 0.15
LATENCY_BUDGET_BATCH = 0.06


def sample(test_loader, device) -> torch.Tensor:
    """The first evaluation inputs (a fixed batch: the loader does not shuffle)."""
    x, _ = next(iter(test_loader))
    return x[:ACTIVATION_EXAMPLES].to(device)


def dense_figures(model: nn.Module, test_loader, device) -> dict:
    """Accuracy, parameters and MACs of the dense model (the reference of every ratio), with the
    seconds spent evaluating and counting (seconds_eval, seconds_count)."""
    start = time.perf_counter()
    result = evaluate(model, test_loader, device)
    evaluated = time.perf_counter()
    params, _ = count_params(model)
    return {"top1_dense": result.top1, "top5_dense": result.top5, "params_dense": params,
            "macs_dense": layer_profile(model, sample(test_loader, device)).macs_total,
            "seconds_eval": evaluated - start, "seconds_count": time.perf_counter() - evaluated}


def model_figures(model: nn.Module, test_loader, device, masks: dict, dense: dict) -> dict:
    """Every metric of the model as evaluated. Compression and theoretical speedup are taken
    against the dense model's counts, so a physically smaller model reports its real savings."""
    start = time.perf_counter()
    result = evaluate(model, test_loader, device)
    evaluated = time.perf_counter()
    total, nonzero = count_params(model)
    prof = layer_profile(model, sample(test_loader, device))
    return {
        "seconds_eval": evaluated - start, "seconds_count": time.perf_counter() - evaluated,
        "top1": result.top1, "top5": result.top5, "loss": result.loss,
        "eval_examples": result.examples,
        "params_total": total, "params_nonzero": nonzero,
        "compression": dense["params_dense"] / nonzero if nonzero else float("inf"),
        "sparsity": 1 - nonzero / total,
        "macs_total": prof.macs_total, "macs_nonzero": prof.macs_nonzero,
        "macs_other": prof.macs_other,
        "speedup_theoretical": (dense["macs_dense"] / prof.macs_nonzero if prof.macs_nonzero
                                else float("inf")),
        "activations_total": prof.activations_total,
        "activations_nonzero": prof.activations_nonzero,
        "layers": rows.layer_entries(prof.layers, masks),
        "device": str(device), "threads": torch.get_num_threads(),
    }


def latencies(dense: nn.Module, pruned: nn.Module, input_shape, parallel: bool,
              backend: str = "dense-masked", batches: tuple[int, ...] | None = None) -> dict:
    """Latency of the dense and the pruned model over a sweep of batch sizes (1, 32, 256 on CPU):
    batch 1 into `latency[_dense]_*`, the largest batch into `latency[_dense]_batch_*`, every
    batch into `latency_sweep`; the speedups, and the dtype, threads and backend that ran. Each
    batch has its A/A check: the dense model is timed twice, alternately with the pruned one
    (dense, pruned, dense, ...), so that all three see the same load; their ratio
    (`latency_aa[_batch]`) decides `latency_stable` (batch 1) and `latency_batch_stable`. Timed
    with latency.THREADS threads, within LATENCY_BUDGET (batch 1) and LATENCY_BUDGET_BATCH
    seconds per batch size."""
    device = next(pruned.parameters()).device
    batches = batches or latency_metric.sweep_batches(device)
    largest = max(batches)
    out = {"latency_batch_size": largest, "latency_parallel": parallel,
           "latency_dtype": str(next(pruned.parameters()).dtype).removeprefix("torch."),
           "latency_threads": latency_metric.THREADS, "latency_backend": backend}
    reasons, sweep = [], []
    for batch in batches:
        least, budget = ((latency_metric.MIN_SAMPLES, LATENCY_BUDGET) if batch == 1 else
                         (latency_metric.MIN_SAMPLES_BATCH, LATENCY_BUDGET_BATCH))
        a, p, b = latency_metric.measure_alternating(
            [dense, pruned, dense], input_shape, batch, parallel,
            min_run_time=budget / 6, max_run_time=budget / 3, min_samples=least)
        d = latency_metric.pooled(a, b)
        reason = latency_metric.instability(a, b, p)
        sweep.append({"batch": batch, "dense_ms": d.median_ms, "dense_iqr_ms": d.iqr_ms,
                      "ms": p.median_ms, "iqr_ms": p.iqr_ms, "speedup": d.median_ms / p.median_ms,
                      "aa": a.median_ms / b.median_ms, "stable": reason is None})
        for suffix, wanted in (("", 1), ("_batch", largest)):
            if batch == wanted:
                out |= (latency_metric.figures(d, f"latency_dense{suffix}")
                        | latency_metric.figures(p, f"latency{suffix}"))
                out[f"latency_aa{suffix}"] = a.median_ms / b.median_ms
                out[f"latency{suffix}_stable"] = reason is None
                if reason:
                    reasons.append(f"batch {batch}: {reason}")
    out["latency_sweep"] = sweep
    out["latency_unstable_reason"] = "; ".join(reasons) or None
    return out | latency_metric.speedups(out)


def realisation(row: dict) -> dict:
    """Measured over theoretical speedup, at batch 1 and at the largest batch (1: all of the
    promised speedup was delivered; below 1: part of it was lost)."""
    theory = row.get("speedup_theoretical")
    out = {}
    for suffix in ("", "_batch"):
        measured = row.get(f"speedup_measured{suffix}")
        if measured and theory:
            out[f"realisation_gap{suffix}"] = measured / theory
    return out
