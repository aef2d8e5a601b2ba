"""SparseGPT: prune each layer and reconstruct it with second-order (OBS) updates of the kept weights.

Frantar and Alistarh, "SparseGPT: Massive Language Models Can Be Accurately Pruned in One-Shot",
ICML 2023 (IST-DASLab/sparsegpt). For each layer, with H = 2/n X^T X of its calibration inputs
(1% of its mean diagonal added), columns are processed in blocks of 128: within a block the
weights with the lowest w^2 / [H^-1]_jj^2 are pruned (exactly round(sparsity * size) of the block;
with an N:M pattern, M - N of every M inputs), and each pruned column's error is spread over the
columns after it. The kept weights change (UPDATES_WEIGHTS); the pruned ones are exactly zero.
Ties are broken by the case's seed.
"""

import torch

from bench import PruneContext
from bench.select import keep_count, top_per_group, top_per_row

CALIBRATION = "gram"
TASKS = ("lm",)  # it needs the inputs of transformer blocks
UPDATES_WEIGHTS = True
BLOCK = 128
DAMP = 0.01


def prune(model, compression: float, ctx: PruneContext) -> dict:
    """Masks of every layer of ctx.prunable; their kept weights are updated in place."""
    masks = {}
    for name, weight in ctx.prunable.items():
        module = name.removesuffix(".weight")
        hessian = 2 * ctx.inputs.gram(module) / ctx.inputs.tokens[module]
        new, keep = _reconstruct(weight.detach().float(), hessian.to(weight.device).float(), ctx)
        weight.data.copy_(new.to(weight.dtype))
        masks[name] = keep
    return masks


def _reconstruct(W: torch.Tensor, H: torch.Tensor, ctx: PruneContext):
    """(updated weights, keep mask) of one layer: SparseGPT's fasterprune."""
    W, H = W.clone(), H.clone()
    columns = W.shape[1]
    dead = torch.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    H.diagonal().add_(DAMP * torch.mean(torch.diag(H)))
    Hinv = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)), upper=True)
    pruned = torch.zeros_like(W, dtype=torch.bool)
    n, m = ctx.pattern or (0, 0)
    for i1 in range(0, columns, BLOCK):
        i2 = min(i1 + BLOCK, columns)
        W1, Hinv1 = W[:, i1:i2].clone(), Hinv[i1:i2, i1:i2]
        Err1 = torch.zeros_like(W1)
        d = torch.diag(Hinv1)
        mask1 = pruned[:, i1:i2]
        if not m:
            scores = (W1 ** 2 / d.reshape(1, -1) ** 2).reshape(1, -1)
            kept = top_per_row(scores, keep_count(W1.numel(), ctx.keep_fraction), ctx.generator)
            mask1 |= ~kept.view(W1.shape)
        for i in range(i2 - i1):
            if m and i % m == 0:
                scores = W1[:, i:i + m] ** 2 / d[i:i + m].reshape(1, -1) ** 2
                mask1[:, i:i + m] = ~top_per_group(scores, n, m, ctx.generator)
            w = W1[:, i]
            q = w.masked_fill(mask1[:, i], 0)
            err = (w - q) / Hinv1[i, i]
            W1[:, i:] -= err.unsqueeze(1) * Hinv1[i, i:].unsqueeze(0)
            W1[:, i] = q
            Err1[:, i] = err
        W[:, i1:i2] = W1
        W[:, i2:] -= Err1 @ Hinv[i1:i2, i2:]
    return W.masked_fill(pruned, 0), ~pruned
