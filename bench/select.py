"""Top-k mask selection over scores, global or per layer, with exact counts and stable ties."""

from __future__ import annotations

import torch
from torch import Tensor


def keep_count(size: int, fraction: float) -> int:
    """Number of entries to keep out of `size` at `fraction`, rounded to nearest."""
    return max(0, min(size, round(fraction * size)))


def topk_mask(scores: Tensor, k: int) -> Tensor:
    """Boolean mask of exactly `k` largest entries of `scores`; among equal scores the
    lower flat index wins, so the result is deterministic. NaN scores are an error."""
    flat = scores.detach().reshape(-1)
    n = flat.numel()
    if bool(torch.isnan(flat).any()):
        raise ValueError("scores contain NaN; a score must be comparable for every weight")
    if k >= n:
        return torch.ones_like(scores, dtype=torch.bool)
    if k <= 0:
        return torch.zeros_like(scores, dtype=torch.bool)
    # kthvalue runs on float32/float64 natively; half types widen to float32 exactly.
    values = flat if flat.dtype in (torch.float32, torch.float64) else flat.float()
    threshold = torch.kthvalue(values, n - k + 1).values
    mask = values > threshold
    missing = k - int(mask.sum())
    if missing > 0:  # ties at the threshold: the first `missing` of them by index
        ties = torch.nonzero(values == threshold).squeeze(1)[:missing]
        mask[ties] = True
    return mask.view(scores.shape)


def _check(scores: dict[str, Tensor]) -> None:
    """Name the layer whose scores cannot be ranked."""
    if not scores:
        raise ValueError("no scores to select from (the model has no prunable weights)")
    for name, s in scores.items():
        if not isinstance(s, Tensor):
            raise TypeError(f"scores of {name!r} must be a Tensor, got {type(s).__name__}")
        if s.is_floating_point() and bool(torch.isnan(s).any()):
            raise ValueError(f"scores of {name!r} contain NaN; a score must be comparable "
                             "for every weight")


def global_topk(scores: dict[str, Tensor], fraction: float) -> dict[str, Tensor]:
    """Keep the `fraction` of highest scores pooled over every layer (exactly
    round(fraction * total) entries; ties broken by layer order, then index)."""
    _check(scores)
    flat = torch.cat([s.detach().reshape(-1) for s in scores.values()])
    mask = topk_mask(flat, keep_count(flat.numel(), fraction))
    return dict(zip(scores, (m.view(s.shape) for m, s in
                             zip(mask.split([s.numel() for s in scores.values()]), scores.values(),
                                 strict=True)), strict=True))


def layer_topk(scores: dict[str, Tensor], fraction: float) -> dict[str, Tensor]:
    """Keep the `fraction` of highest scores within each layer separately
    (exactly round(fraction * layer size) entries per layer)."""
    _check(scores)
    return {name: topk_mask(s, keep_count(s.numel(), fraction)) for name, s in scores.items()}
