"""Importance scores that methods select from: weight magnitude, |w * grad| and activations."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from bench.context import PruneContext


@torch.no_grad()
def magnitude(ctx: PruneContext) -> dict[str, Tensor]:
    """|w| of every prunable weight."""
    return {name: p.detach().abs() for name, p in ctx.prunable.items()}


def gradient(ctx: PruneContext) -> dict[str, Tensor]:
    """|w * dL/dw| on the calibration batch (one batch, ctx.batch)."""
    model = ctx.model
    was_training = model.training
    model.eval()
    params = list(ctx.prunable.values())
    x, y = ctx.batch
    grads = torch.autograd.grad(ctx.loss_fn(model(x), y), params)
    model.train(was_training)
    return {name: (p.detach() * g).abs() for (name, p), g in zip(ctx.prunable.items(), grads, strict=True)}


@torch.no_grad()
def activation(ctx: PruneContext) -> dict[str, Tensor]:
    """|w| times the mean absolute input activation of the weight's input channel, on ctx.batch."""
    modules = {f"{n}.weight": m for n, m in ctx.model.named_modules()}
    means: dict[str, Tensor] = {}

    def hook(name: str):
        def record(_module: nn.Module, inputs: tuple[Tensor, ...], _out: Tensor) -> None:
            a = inputs[0].detach().abs()
            dims = [d for d in range(a.dim()) if d != 1] if a.dim() > 2 else [0]
            means[name] = a.mean(dim=dims)
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
    out = {}
    for name, p in ctx.prunable.items():
        w = p.detach()
        act = means[name]
        module = modules[name]
        groups = getattr(module, "groups", 1)
        if groups > 1:  # grouped conv: weight dim 1 indexes channels within the group
            act = act.view(groups, -1).repeat_interleave(w.shape[0] // groups, dim=0)
            out[name] = w.abs() * act.view(w.shape[0], w.shape[1], *([1] * (w.dim() - 2)))
        else:
            out[name] = w.abs() * act.view(1, -1, *([1] * (w.dim() - 2)))
    return out
