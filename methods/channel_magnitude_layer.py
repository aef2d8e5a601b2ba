"""Uniform structured pruning of language models by weight magnitude: the same fraction of each
block's MLP channels and of its key/value head groups goes, those of lowest coupled L2 norm.

LLM-Pruner's magnitude criterion (Ma, Fang, Wang, NeurIPS 2023) with its uniform per-layer
ratio. The bench removes the units physically.
"""

from bench import PruneContext
from bench.channels import magnitude

KIND = "channel"
SCOPE = "layer"
TASKS = ("lm",)  # conv nets: channel_l1_layer


def prune(model, compression: float, ctx: PruneContext) -> dict:
    """One score per unit of each structure in ctx.structures (higher = keep)."""
    return magnitude(ctx)
