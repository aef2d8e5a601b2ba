"""Importance scores that methods select from: weight magnitude, |w * grad| and activations."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from bench.context import PruneContext, weight_name


@torch.no_grad()
def only_kept(ctx: PruneContext, scores: dict[str, Tensor]) -> dict[str, Tensor]:
    """`scores` with the weights that ctx.masks already prunes at -inf, so that selection never
    keeps them again (iterative protocols call methods with the current masks)."""
    return {name: s.masked_fill(~ctx.masks[name], -math.inf) if name in ctx.masks
            and not bool(ctx.masks[name].all()) else s for name, s in scores.items()}


@torch.no_grad()
def magnitude(ctx: PruneContext) -> dict[str, Tensor]:
    """|w| of every prunable weight (-inf where ctx.masks already prunes)."""
    return only_kept(ctx, {name: p.detach().abs() for name, p in ctx.prunable.items()})


def gradient(ctx: PruneContext) -> dict[str, Tensor]:
    """|w * dL/dw| on the calibration batch (one batch, ctx.batch), the model in eval mode so
    that batch-norm statistics are neither used from the batch nor updated; no .grad is left;
    -inf where ctx.masks already prunes."""
    model = ctx.model
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            x, y = ctx.batch
            grads = torch.autograd.grad(ctx.loss_fn(model(x), y), list(ctx.prunable.values()),
                                        allow_unused=True)
    finally:
        model.train(was_training)
    out = {}
    for (name, p), g in zip(ctx.prunable.items(), grads, strict=True):
        out[name] = (p.detach() * g).abs() if g is not None else torch.zeros_like(p.detach())
    return only_kept(ctx, out)


def _modules_by_weight(model: nn.Module) -> dict[str, nn.Module]:
    return {weight_name(n): m for n, m in model.named_modules()}


def _input_channel_means(module: nn.Module, x: Tensor) -> tuple[Tensor, int]:
    """Sum of |x| per input feature (Linear: last dim; conv: dim 1) and the count summed over."""
    a = x.detach().abs()
    if isinstance(module, nn.Linear):
        a = a.reshape(-1, a.shape[-1])
        return a.sum(dim=0), a.shape[0]
    if a.dim() == module.weight.dim() - 1:  # unbatched conv input
        a = a.unsqueeze(0)
    a = a.transpose(0, 1).reshape(a.shape[1], -1)
    return a.sum(dim=1), a.shape[1]


@torch.no_grad()
def activation(ctx: PruneContext) -> dict[str, Tensor]:
    """|w| times the mean absolute input activation of the weight's input channel, on ctx.batch
    (averaged over batch, positions and repeated calls; grouped convolutions respected)."""
    modules = _modules_by_weight(ctx.model)
    sums: dict[str, Tensor] = {}
    counts: dict[str, int] = {}

    def hook(name: str):
        def record(module: nn.Module, inputs: tuple[Tensor, ...], _out: Tensor) -> None:
            s, c = _input_channel_means(module, inputs[0])
            sums[name] = sums[name] + s if name in sums else s
            counts[name] = counts.get(name, 0) + c
        return record

    handles = [modules[name].register_forward_hook(hook(name)) for name in ctx.prunable]
    was_training = ctx.model.training
    ctx.model.eval()
    try:
        ctx.model(ctx.batch[0])
    finally:
        for h in handles:
            h.remove()
        ctx.model.train(was_training)
    missing = [name for name in ctx.prunable if name not in sums]
    if missing:
        raise RuntimeError(f"activation scores: layers {missing} were not called by the model's "
                           "forward on the calibration batch, so they have no input activations")
    out = {}
    for name, p in ctx.prunable.items():
        w = p.detach()
        act = (sums[name] / counts[name]).to(w.dtype)
        groups = getattr(modules[name], "groups", 1)
        if groups > 1:  # weight dim 1 indexes the channels of the output channel's group
            act = act.view(groups, -1).repeat_interleave(w.shape[0] // groups, dim=0)
            out[name] = w.abs() * act.view(w.shape[0], w.shape[1], *([1] * (w.dim() - 2)))
        else:
            out[name] = w.abs() * act.view(1, -1, *([1] * (w.dim() - 2)))
    return only_kept(ctx, out)
