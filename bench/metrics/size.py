"""Parameter counts: total and nonzero, over the whole model and per prunable layer."""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def count_params(model: nn.Module) -> tuple[int, int]:
    """(total, nonzero) over every parameter of `model`, nonzeros counted on the weights."""
    params = list(model.parameters())
    total = sum(p.numel() for p in params)
    nonzero = int(sum(torch.count_nonzero(p) for p in params)) if params else 0
    return total, nonzero


def compression(total: int, nonzero: int) -> float:
    """total / nonzero (inf for a model with no nonzero parameter)."""
    return total / nonzero if nonzero else float("inf")
