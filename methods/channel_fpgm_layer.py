"""Uniform per-layer channel pruning by FPGM (filters nearest the geometric median go).

He, Liu, Wang, Hu, Yang, "Filter Pruning via Geometric Median for Deep Convolutional
Neural Networks Acceleration", CVPR 2019.
The bench pools the scores over coupled layers and removes the channels physically.
"""

from bench import PruneContext
from bench.channels import fpgm

KIND = "channel"
TASKS = ("classification",)  # scores output filters of conv nets; LMs: channel_magnitude*
SCOPE = "layer"


def prune(model, compression: float, ctx: PruneContext) -> dict:
    """One score per output channel of each prunable layer (higher = keep)."""
    return fpgm(ctx)
