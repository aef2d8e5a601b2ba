"""Global activation pruning: keep the largest |w| * mean|input| over all layers (ShrinkBench GlobalMagAct).

Blalock, Gonzalez Ortiz, Frankle, Guttag, "What is the State of Neural Network Pruning?", MLSys 2020
(ShrinkBench's activation baseline). A weight's score is |w| times the mean absolute activation of
its input channel on one calibration batch (ctx.batch), the model in eval mode.
"""

from bench import PruneContext
from bench.scores import activation
from bench.select import global_topk

# Pooling scores over layers can empty a whole layer at high compression. That is this method's
# real outcome (accuracy falls to chance) and is measured as such, not refused: a refused case
# would drop out of the means and flatter the method.
ALLOW_EMPTY_LAYERS = True


def prune(model, compression: float, ctx: PruneContext) -> dict:
    """Masks keeping the ctx.keep_fraction prunable weights of largest |w| * mean|input|, globally."""
    return global_topk(activation(ctx), ctx.keep_fraction)
