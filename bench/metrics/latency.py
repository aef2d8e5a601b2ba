"""Measured inference latency: median of repeated timed runs after warm-up."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.utils.benchmark as tbench
from torch import nn


@dataclass(frozen=True)
class Latency:
    """Median and interquartile range of one forward pass, in milliseconds."""

    median_ms: float
    iqr_ms: float
    batch_size: int
    runs: int
    threads: int
    device: str


@torch.no_grad()
def measure(model: nn.Module, input_shape: tuple[int, ...], batch_size: int = 1,
            min_run_time: float = 0.2) -> Latency:
    """Time `model` on a batch of zeros: torch.utils.benchmark handles warm-up and sync."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    x = torch.zeros(batch_size, *input_shape, device=device)
    timer = tbench.Timer(stmt="model(x)", globals={"model": model, "x": x},
                         num_threads=torch.get_num_threads())
    result = timer.blocked_autorange(min_run_time=min_run_time)
    model.train(was_training)
    return Latency(result.median * 1e3, result.iqr * 1e3, batch_size, len(result.times),
                   torch.get_num_threads(), str(device))
