"""Layer-wise magnitude pruning: keep the largest |w| within each layer (ShrinkBench LayerMagWeight).

Han, Pool, Tran, Dally, "Learning both Weights and Connections for Efficient Neural Networks", NeurIPS 2015.
"""

from bench import PruneContext
from bench.scores import magnitude
from bench.select import layer_select


def prune(model, compression: float, ctx: PruneContext) -> dict:
    """Masks keeping the ctx.keep_fraction largest-magnitude weights of every prunable layer (or
    the case's N:M pattern); ties broken by ctx.generator."""
    return layer_select(magnitude(ctx), ctx)
