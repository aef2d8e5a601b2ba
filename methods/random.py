"""Random pruning: keep a uniformly random fraction of each layer's weights (ShrinkBench RandomPruning).

Blalock, Gonzalez Ortiz, Frankle, Guttag, "What is the State of Neural Network Pruning?", MLSys 2020
(the random baseline every method should beat). Unlike ShrinkBench's Bernoulli draw, each layer
keeps exactly round(fraction * size) weights; the draw comes from the seeded ctx.generator, so the
same seed gives the same masks.
"""

import torch

from bench import PruneContext
from bench.scores import only_kept
from bench.select import layer_select


def prune(model, compression: float, ctx: PruneContext) -> dict:
    """Masks keeping a random ctx.keep_fraction of every prunable layer, drawn from ctx.generator
    among the weights still kept (ctx.masks)."""
    scores = {name: torch.rand(p.shape, generator=ctx.generator, device=ctx.generator.device)
              for name, p in ctx.prunable.items()}
    return layer_select(only_kept(ctx, scores), ctx)
