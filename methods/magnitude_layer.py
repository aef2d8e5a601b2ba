"""Layer-wise magnitude pruning: keep the largest |w| within each layer (ShrinkBench LayerMagWeight).

Han, Pool, Tran, Dally, "Learning both Weights and Connections for Efficient Neural Networks", NeurIPS 2015.
"""

from bench import PruneContext
from bench.scores import magnitude
from bench.select import layer_topk


def prune(model, compression: float, ctx: PruneContext) -> dict:
    """Masks keeping the ctx.keep_fraction largest-magnitude weights of every prunable layer."""
    return layer_topk(magnitude(ctx), ctx.keep_fraction)
