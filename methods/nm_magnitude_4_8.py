"""N:M magnitude pruning (4:8): keep the 4 largest |w| of every 8 consecutive input channels.

nm_magnitude with a wider group (same references); layers whose input channels are not a
multiple of 8 keep every weight, and the case's ratio is not used.
"""

from bench import PruneContext
from bench.nm import pattern_masks
from bench.scores import magnitude

KIND = "nm"
N, M = 4, 8


def prune(model, compression: float, ctx: PruneContext) -> dict:
    """N:M masks along the input channels by weight magnitude."""
    return pattern_masks(magnitude(ctx), N, M)
