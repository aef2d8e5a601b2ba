"""Uniform per-layer random channel pruning: every layer loses the same random fraction.

Blalock et al., "What is the State of Neural Network Pruning?", MLSys 2020 (random
baselines); Liu et al., "Rethinking the Value of Network Pruning", ICLR 2019.
The bench pools the scores over coupled layers and removes the channels physically.
On a language model: one random score per MLP channel and key/value head group.
"""

from bench import PruneContext
from bench.channels import random

KIND = "channel"
SCOPE = "layer"


def prune(model, compression: float, ctx: PruneContext) -> dict:
    """One score per output channel of each prunable layer (higher = keep)."""
    return random(ctx)
