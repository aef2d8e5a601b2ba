"""Uniform per-layer channel pruning by the L1 norm of each filter (Li et al.).

Li, Kadav, Durdanovic, Samet, Graf, "Pruning Filters for Efficient ConvNets", ICLR 2017.
The bench pools the scores over coupled layers and removes the channels physically.
"""

from bench import PruneContext
from bench.channels import filter_l1

KIND = "channel"
TASKS = ("classification",)  # scores output filters of conv nets; LMs: channel_magnitude*
SCOPE = "layer"


def prune(model, compression: float, ctx: PruneContext) -> dict:
    """One score per output channel of each prunable layer (higher = keep)."""
    return filter_l1(ctx)
