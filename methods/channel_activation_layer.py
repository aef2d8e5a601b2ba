"""Uniform structured pruning of language models by activation-weighted magnitude: the same
fraction of each block's MLP channels and key/value head groups goes, those of lowest
|W_ij| * ||X_j||_2 summed over their coupled weights.

Sun, Liu, Bair, Kolter, ICLR 2024 (Wanda's score, structured); input norms from the calibration
windows through the dense model. The bench removes the units physically.
"""

from bench import PruneContext
from bench.channels import activation

KIND = "channel"
SCOPE = "layer"
TASKS = ("lm",)
CALIBRATION = "norms"


def prune(model, compression: float, ctx: PruneContext) -> dict:
    """One score per unit of each structure in ctx.structures (higher = keep)."""
    return activation(ctx)
