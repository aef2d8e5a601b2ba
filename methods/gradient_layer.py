"""Layer-wise gradient pruning: keep the largest |w * dL/dw| within each layer (ShrinkBench LayerMagGrad).

Blalock, Gonzalez Ortiz, Frankle, Guttag, "What is the State of Neural Network Pruning?", MLSys 2020
(the gradient-magnitude baseline; the same saliency as SNIP: Lee, Ajanthan, Torr, "SNIP: Single-shot
Network Pruning based on Connection Sensitivity", ICLR 2019). Gradients come from one calibration
batch (ctx.batch), the model in eval mode.
"""

from bench import PruneContext
from bench.scores import gradient
from bench.select import layer_topk


def prune(model, compression: float, ctx: PruneContext) -> dict:
    """Masks keeping the ctx.keep_fraction weights of largest |w * grad| in every prunable layer."""
    return layer_topk(gradient(ctx), ctx.keep_fraction)
