"""Perplexity of a causal LM over token windows: exp of the mean next-token loss over every
predicted token of every window (each window scored on its own, as the papers do)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

CHUNK = 4  # windows per forward pass


@dataclass(frozen=True)
class Perplexity:
    """A perplexity and what it was taken over."""

    value: float
    loss: float  # mean next-token cross-entropy, nats
    tokens: int  # predicted tokens counted
    windows: int


@torch.no_grad()
def perplexity(model: nn.Module, windows: Tensor) -> Perplexity:
    """exp(mean next-token cross-entropy) of `model` over `windows` (n x length token ids),
    summed exactly over every predicted token, whatever the chunking."""
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for chunk in windows.split(CHUNK):
        ids = chunk.to(device)
        logits = model(input_ids=ids, use_cache=False).logits[:, :-1].float()
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1),
                               reduction="sum")
        total += float(loss)
        count += ids[:, 1:].numel()
    mean = total / count
    return Perplexity(math.exp(mean), mean, count, len(windows))
