"""Global structured pruning of language models by weight magnitude: the MLP channels and
key/value head groups whose coupled weights have the lowest L2 norm go, ranked over the whole
model (each structure's scores divided by their mean).

The magnitude criterion of LLM-Pruner (Ma, Fang, Wang, "LLM-Pruner: On the Structural Pruning
of Large Language Models", NeurIPS 2023) and Torch-Pruning's group L2 importance: a unit's rows
of the up/gate (or q/k/v) projections and its columns of the down (or output) projection
together. The bench removes the units physically.
"""

from bench import PruneContext
from bench.channels import magnitude

KIND = "channel"
SCOPE = "global"
TASKS = ("lm",)  # conv nets: channel_l1


def prune(model, compression: float, ctx: PruneContext) -> dict:
    """One score per unit of each structure in ctx.structures (higher = keep)."""
    return magnitude(ctx)
