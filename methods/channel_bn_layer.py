"""Uniform per-layer channel pruning by batch-norm scale |gamma|.

Liu, Li, Shen, Huang, Yan, Zhang, "Learning Efficient Convolutional Networks through Network
Slimming", ICCV 2017. Here without the L1 sparsity training on gamma, on the pretrained model.
Layers with no batch norm after them are not scored, so they keep every channel.
The bench pools the scores over coupled layers and removes the channels physically.
"""

from bench import PruneContext
from bench.channels import bn_scale

KIND = "channel"
TASKS = ("classification",)  # scores output filters of conv nets; LMs: channel_magnitude*
SCOPE = "layer"


def prune(model, compression: float, ctx: PruneContext) -> dict:
    """One score per output channel of each prunable layer (higher = keep)."""
    return bn_scale(ctx)
