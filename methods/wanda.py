"""Wanda: keep the weights of largest |W| times input L2 norm, compared within each output row.

Sun, Liu, Bair, Kolter, "A Simple and Effective Pruning Approach for Large Language Models",
ICLR 2024 (locuslab/wanda). Calibrated block by block: each layer's input norms come from the
calibration windows run through the blocks before it, already pruned. Unstructured: exactly
round(keep_fraction * in) weights kept per output row; with an N:M pattern, N of every M inputs.
Ties (frequent on weights dequantized from 4 bits) are broken by the case's seed.
"""

from bench import PruneContext
from bench.select import row_select

CALIBRATION = "norms"
TASKS = ("lm",)  # it needs the inputs of transformer blocks


def prune(model, compression: float, ctx: PruneContext) -> dict:
    """Masks from |W_ij| * ||X_j||_2 per output row (or per group of M inputs)."""
    scores = {name: w.detach().abs() * ctx.inputs.norm(name.removesuffix(".weight")).to(w.device)
              for name, w in ctx.prunable.items()}
    return row_select(scores, ctx)
