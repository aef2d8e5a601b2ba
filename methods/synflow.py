"""SynFlow: iterative synaptic flow pruning, data-free, avoiding layer collapse (100 rounds).

Tanaka, Kunin, Yamins, Ganguli, "Pruning neural networks without any data by iteratively
conserving synaptic flow", NeurIPS 2020. On a copy of the model whose parameters are replaced by
their absolute values (in double precision, eval mode), R = sum(f(1)) for an all-ones input; a
weight's score is |w * dR/dw|. Over ROUNDS rounds the kept fraction falls exponentially from what
ctx.masks keeps to ctx.keep_fraction, each round re-scoring the masked copy. No data is used.
"""

import copy
import math

import torch

from bench import PruneContext
from bench.select import global_topk

ALLOW_EMPTY_LAYERS = True  # never expected (that is the point of SynFlow), measured if it happens
ROUNDS = 100


def prune(model, compression: float, ctx: PruneContext) -> dict:
    """Masks keeping the ctx.keep_fraction weights of largest synaptic flow, after ROUNDS rounds."""
    net = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    params = dict(net.named_parameters())
    weights = [params[name] for name in ctx.prunable]
    originals = [w.detach().clone() for w in weights]
    ones = torch.ones((1, *ctx.batch[0].shape[1:]), dtype=torch.float64, device=ctx.device)
    masks = {name: m.clone() for name, m in ctx.masks.items() if name in ctx.prunable}
    total = sum(p.numel() for p in ctx.prunable.values())
    start = sum(int(m.sum()) for m in masks.values()) / total
    for k in range(1, ROUNDS + 1):
        with torch.no_grad():
            for w, w0, m in zip(weights, originals, masks.values(), strict=True):
                w.copy_(w0 * m)
        with torch.enable_grad():
            grads = torch.autograd.grad(net(ones).sum(), weights, allow_unused=True)
        scores = {name: ((w.detach() * g).abs() if g is not None else torch.zeros_like(w))
                  .masked_fill(~m, -math.inf)  # what is pruned stays pruned
                  for (name, m), w, g in zip(masks.items(), weights, grads, strict=True)}
        fraction = start * (ctx.keep_fraction / start) ** (k / ROUNDS)
        masks = global_topk(scores, fraction)
    return masks
