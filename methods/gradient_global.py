"""Global gradient pruning: keep the largest |w * dL/dw| pooled over all layers (ShrinkBench GlobalMagGrad).

Blalock, Gonzalez Ortiz, Frankle, Guttag, "What is the State of Neural Network Pruning?", MLSys 2020
(the gradient-magnitude baseline; the same saliency as SNIP: Lee, Ajanthan, Torr, "SNIP: Single-shot
Network Pruning based on Connection Sensitivity", ICLR 2019). Gradients come from one calibration
batch (ctx.batch), the model in eval mode.
"""

from bench import PruneContext
from bench.scores import gradient
from bench.select import global_topk

# Pooling scores over layers can empty a whole layer at high compression. That is this method's
# real outcome (accuracy falls to chance) and is measured as such, not refused: a refused case
# would drop out of the means and flatter the method.
ALLOW_EMPTY_LAYERS = True


def prune(model, compression: float, ctx: PruneContext) -> dict:
    """Masks keeping the ctx.keep_fraction prunable weights of largest |w * grad|, pooled globally."""
    return global_topk(gradient(ctx), ctx.keep_fraction)
