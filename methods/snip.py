"""SNIP: keep the largest connection sensitivity |w * dL/dw| pooled over all layers, at initialisation.

Lee, Ajanthan, Torr, "SNIP: Single-shot Network Pruning based on Connection Sensitivity", ICLR 2019.
The sensitivity of a connection is |dL/dc| = |w * dL/dw| at mask c = 1, with the gradient of the
loss summed over the calibration examples (ctx.batch: `calibration_size` examples, taken in
batches of CALIBRATION_BATCH, so several batches give the gradient of all of them). Meant for the
at_init protocol; on one batch its ranking is gradient_global's.
"""

import torch

from bench import PruneContext
from bench.scores import only_kept
from bench.select import global_topk

ALLOW_EMPTY_LAYERS = True  # a pooled saliency can empty a layer at extreme sparsity (collapse)
CALIBRATION_BATCH = 128  # examples per backward pass


def prune(model, compression: float, ctx: PruneContext) -> dict:
    """Masks keeping the ctx.keep_fraction weights of largest |w * dL/dw| over ctx.batch."""
    weights = list(ctx.prunable.values())
    grads = [torch.zeros_like(w) for w in weights]
    x, y = ctx.batch
    was_training = model.training
    model.eval()  # batch-norm statistics neither used from the batch nor updated
    try:
        with torch.enable_grad():
            for xb, yb in zip(x.split(CALIBRATION_BATCH), y.split(CALIBRATION_BATCH), strict=True):
                loss = ctx.loss_fn(model(xb), yb) * len(yb) / len(y)
                for g, d in zip(grads, torch.autograd.grad(loss, weights, allow_unused=True),
                                strict=True):
                    if d is not None:
                        g += d
    finally:
        model.train(was_training)
    scores = {name: (w.detach() * g).abs() for (name, w), g in zip(ctx.prunable.items(), grads,
                                                                    strict=True)}
    return global_topk(only_kept(ctx, scores), ctx.keep_fraction)
