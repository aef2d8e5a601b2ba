"""Global channel pruning by the L1 norm of each filter: the lowest of the whole network go.

Li, Kadav, Durdanovic, Samet, Graf, "Pruning Filters for Efficient ConvNets", ICLR 2017.
The bench pools the scores over coupled layers and removes the channels physically.
Scores are divided by their layer's mean so that layers compare in the global ranking.
"""

from bench import PruneContext
from bench.channels import filter_l1, normalized

KIND = "channel"
TASKS = ("classification",)  # scores output filters of conv nets; LMs: channel_magnitude*
SCOPE = "global"


def prune(model, compression: float, ctx: PruneContext) -> dict:
    """One score per output channel of each prunable layer (higher = keep)."""
    return normalized(filter_l1(ctx))
