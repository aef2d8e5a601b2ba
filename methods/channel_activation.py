"""Global structured pruning of language models by activation-weighted magnitude: Wanda's
|W_ij| * ||X_j||_2 summed over each MLP channel's and key/value head group's coupled weights,
ranked over the whole model (each structure's scores divided by their mean).

Sun, Liu, Bair, Kolter, "A Simple and Effective Pruning Approach for Large Language Models",
ICLR 2024 (its structured variant); the input norms come from the calibration windows through
the dense model. The bench removes the units physically.
"""

from bench import PruneContext
from bench.channels import activation

KIND = "channel"
SCOPE = "global"
TASKS = ("lm",)
CALIBRATION = "norms"


def prune(model, compression: float, ctx: PruneContext) -> dict:
    """One score per unit of each structure in ctx.structures (higher = keep)."""
    return activation(ctx)
