"""Top-k mask selection over scores, global or per layer, with exact counts and stable ties."""

from __future__ import annotations

import torch
from torch import Tensor


def keep_count(size: int, fraction: float) -> int:
    """Number of entries to keep out of `size` at `fraction`, rounded to nearest."""
    return max(0, min(size, round(fraction * size)))


def topk_mask(scores: Tensor, k: int) -> Tensor:
    """Boolean mask of exactly `k` largest entries of `scores`; among equal scores the
    lower flat index wins, so the result is deterministic."""
    flat = scores.reshape(-1)
    n = flat.numel()
    if torch.isnan(flat).any():
        raise ValueError("scores contain NaN")
    if k >= n:
        return torch.ones_like(scores, dtype=torch.bool)
    if k <= 0:
        return torch.zeros_like(scores, dtype=torch.bool)
    threshold = torch.kthvalue(flat.float(), n - k + 1).values.to(flat.dtype)
    mask = flat > threshold
    missing = k - int(mask.sum())
    if missing > 0:
        ties = torch.nonzero(flat == threshold).squeeze(1)[:missing]
        mask[ties] = True
    return mask.view_as(scores)


def global_topk(scores: dict[str, Tensor], fraction: float) -> dict[str, Tensor]:
    """Keep the `fraction` of highest scores pooled over every layer."""
    flat = torch.cat([s.reshape(-1) for s in scores.values()])
    mask = topk_mask(flat, keep_count(flat.numel(), fraction))
    out, start = {}, 0
    for name, s in scores.items():
        out[name] = mask[start:start + s.numel()].view_as(s)
        start += s.numel()
    return out


def layer_topk(scores: dict[str, Tensor], fraction: float) -> dict[str, Tensor]:
    """Keep the `fraction` of highest scores within each layer separately."""
    return {name: topk_mask(s, keep_count(s.numel(), fraction)) for name, s in scores.items()}
