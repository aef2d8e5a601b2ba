"""GraSP: keep the weights whose removal least reduces gradient flow, scored by -w * Hg, at initialisation.

Wang, Zhang, Grosse, "Picking Winning Tickets Before Training by Preserving Gradient Flow", ICLR 2020.
The score of a weight is S(-w) = -w * (H g), with g the gradient of the loss and H its Hessian,
on the calibration batch (ctx.batch) with the logits divided by TEMPERATURE as in the authors'
code. Following their sign convention, the weights of *largest* S are removed: the kept ones are
those of smallest -w * Hg (largest w * Hg), pooled over all layers. Meant for the at_init protocol.
"""

import torch

from bench import PruneContext
from bench.scores import only_kept
from bench.select import global_topk

ALLOW_EMPTY_LAYERS = True  # a pooled score can empty a layer at extreme sparsity (collapse)
TEMPERATURE = 200.0  # the authors' code divides the logits by T = 200


def prune(model, compression: float, ctx: PruneContext) -> dict:
    """Masks keeping the ctx.keep_fraction weights of smallest -w * Hg, pooled over layers."""
    weights = list(ctx.prunable.values())
    x, y = ctx.batch
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            g = torch.autograd.grad(ctx.loss_fn(model(x) / TEMPERATURE, y), weights,
                                    allow_unused=True)
            g = [d.detach() if d is not None else torch.zeros_like(w) for d, w in zip(g, weights,
                                                                                      strict=True)]
            grad = torch.autograd.grad(ctx.loss_fn(model(x) / TEMPERATURE, y), weights,
                                       create_graph=True, allow_unused=True)
            z = sum((d * v).sum() for d, v in zip(grad, g, strict=True) if d is not None)
            hg = torch.autograd.grad(z, weights, allow_unused=True)
    finally:
        model.train(was_training)
    # keep the largest w * Hg, i.e. remove the largest -w * Hg (Wang et al.'s S(-w))
    scores = {name: w.detach() * h if h is not None else torch.zeros_like(w.detach())
              for (name, w), h in zip(ctx.prunable.items(), hg, strict=True)}
    return global_topk(only_kept(ctx, scores), ctx.keep_fraction)
