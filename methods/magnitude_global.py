"""Global magnitude pruning: keep the largest |w| pooled over all layers (ShrinkBench GlobalMagWeight).

Han, Pool, Tran, Dally, "Learning both Weights and Connections for Efficient Neural Networks", NeurIPS 2015.
"""

from bench import PruneContext
from bench.scores import magnitude
from bench.select import global_topk

# Pooling scores over layers can empty a whole layer at high compression. That is this method's
# real outcome (accuracy falls to chance) and is measured as such, not refused: a refused case
# would drop out of the means and flatter the method.
ALLOW_EMPTY_LAYERS = True


def prune(model, compression: float, ctx: PruneContext) -> dict:
    """Masks keeping the ctx.keep_fraction largest-magnitude prunable weights, pooled globally."""
    return global_topk(magnitude(ctx), ctx.keep_fraction)
