"""A ratio in MACs for mask methods: the compression asked of the method is searched so that the
masked model has the target's fewer nonzero MACs than the dense one."""

from __future__ import annotations

import math
from collections.abc import Callable

from torch import Tensor

from bench.context import UnreachableCompressionError, weight_name
from bench.errors import BenchError
from bench.metrics.macs import LayerCount

STEPS = 30  # bisection steps over log(compression)


def mask_macs(layers: list[LayerCount], masks: dict[str, Tensor], other: int) -> float:
    """Nonzero MACs of the model with `masks` applied: each layer's MACs times its kept fraction."""
    total = float(other)
    for layer in layers:
        mask = masks.get(weight_name(layer.name))
        density = float(mask.float().mean()) if mask is not None else layer.weight_nonzero / max(
            layer.weight_numel, 1)
        total += layer.macs * density
    return total


def search(prune_at: Callable[[float], dict], macs_of: Callable[[dict], float], macs_dense: int,
           ratio: float, highest: float) -> tuple[dict, float, float]:
    """Masks whose nonzero MACs are `ratio` x fewer than `macs_dense`: bisect the compression
    asked of the method in [1, highest] (log scale). A compression the method refuses (e.g. a
    layer-wise method emptying a layer) counts as too far. Returns (masks, compression asked,
    MAC ratio reached)."""
    def reached(masks: dict) -> float:
        value = macs_of(masks)
        return macs_dense / value if value else math.inf

    def attempt(compression: float) -> dict | None:
        try:
            return prune_at(compression)
        except BenchError:
            return None

    lo, lo_masks = 1.0, prune_at(1.0)
    if reached(lo_masks) >= ratio:
        return lo_masks, lo, reached(lo_masks)
    hi, hi_masks = highest, attempt(highest)
    for _ in range(STEPS):
        if hi / lo < 1 + 1e-4:
            break
        mid = math.sqrt(lo * hi)
        masks = attempt(mid)
        if masks is None or reached(masks) >= ratio:
            hi, hi_masks = mid, masks
        else:
            lo, lo_masks = mid, masks
    if hi_masks is None or reached(hi_masks) < ratio:
        raise UnreachableCompressionError(
            f"{ratio:g}x fewer MACs is out of reach for this method: the most it reached is "
            f"{reached(lo_masks):.2f}x (at {lo:.3g}x fewer parameters); beyond that it refuses "
            "or cannot prune more")
    best = min((lo, lo_masks), (hi, hi_masks), key=lambda t: abs(reached(t[1]) / ratio - 1))
    return best[1], best[0], reached(best[1])
