"""Layer-wise activation pruning: keep the largest |w| * mean|input| in each layer (ShrinkBench LayerMagAct).

Blalock, Gonzalez Ortiz, Frankle, Guttag, "What is the State of Neural Network Pruning?", MLSys 2020
(ShrinkBench's activation baseline). A weight's score is |w| times the mean absolute activation of
its input channel on one calibration batch (ctx.batch), the model in eval mode.
"""

from bench import PruneContext
from bench.scores import activation
from bench.select import layer_topk


def prune(model, compression: float, ctx: PruneContext) -> dict:
    """Masks keeping the ctx.keep_fraction weights of largest |w| * mean|input| in every layer."""
    return layer_topk(activation(ctx), ctx.keep_fraction)
