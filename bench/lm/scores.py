"""Scores of a language model's structures (MLP channels, key/value head groups) for channel
methods: one score per unit (higher = keep), each the sum over the unit's coupled rows and
columns of an element score (bench.lm.structures.pooled)."""

from __future__ import annotations

import torch
from torch import Tensor

from bench.context import PruneContext
from bench.errors import InvalidValueError
from bench.lm.structures import pooled

GRADIENT_CHUNK = 4  # calibration windows per backward pass


def magnitude(ctx: PruneContext) -> dict[str, Tensor]:
    """The L2 norm of each unit's coupled weights (its rows and columns together)."""
    squares = {n: p.detach().float().pow(2) for n, p in ctx.prunable.items()}
    return {name: s.sqrt() for name, s in pooled(ctx.structures, squares).items()}


def activation(ctx: PruneContext) -> dict[str, Tensor]:
    """Wanda's |W_ij| * ||X_j||_2 summed over each unit's rows and columns: the input norms of
    every layer on the calibration windows (needs CALIBRATION = "norms")."""
    if ctx.inputs is None:
        raise InvalidValueError("activation scores need the calibration inputs' norms: declare "
                                "CALIBRATION = 'norms' in the method")
    elements = {n: p.detach().float().abs() * ctx.inputs.norm(n.removesuffix(".weight"))[None, :]
                .to(p.device) for n, p in ctx.prunable.items()}
    return pooled(ctx.structures, elements)


def taylor(ctx: PruneContext) -> dict[str, Tensor]:
    """First-order Taylor importance |w * dL/dw| summed over each unit's weights (LLM-Pruner's
    element-wise first order, Ma et al., NeurIPS 2023), L the mean next-token loss over the
    calibration windows, model in eval mode; no .grad is left behind. Computed once per dense
    model and windows when ctx.inputs keeps it (bench.lm.calibrate.DenseCalibration)."""
    if hasattr(ctx.inputs, "memo"):
        kept = ctx.inputs.memo(("taylor", tuple(ctx.prunable)), lambda: _taylor(ctx))
        return {name: score.clone() for name, score in kept.items()}  # the kept ones unchanged
    return _taylor(ctx)


def _taylor(ctx: PruneContext) -> dict[str, Tensor]:
    names, params = list(ctx.prunable), list(ctx.prunable.values())
    windows = ctx.batch[0].to(ctx.device)
    grads = [torch.zeros_like(p, dtype=torch.float32) for p in params]
    was_training = ctx.model.training
    ctx.model.eval()
    try:
        with torch.enable_grad():
            for chunk in windows.split(GRADIENT_CHUNK):
                loss = ctx.model(input_ids=chunk, labels=chunk, use_cache=False).loss
                weight = chunk.shape[0] / windows.shape[0]
                for total, g in zip(grads, torch.autograd.grad(loss * weight, params), strict=True):
                    total += g.float()
    finally:
        ctx.model.train(was_training)
    elements = {n: (p.detach().float() * g).abs() for n, p, g in zip(names, params, grads, strict=True)}
    return pooled(ctx.structures, elements)


def random(ctx: PruneContext) -> dict[str, Tensor]:
    """Uniform random scores per unit from the seeded ctx.generator, in float64 (float32 draws
    collide among the tens of thousands of units of a model, and a tie is decided by index)."""
    return {s.name: torch.rand(s.units, generator=ctx.generator, device=ctx.generator.device,
                               dtype=torch.float64).cpu() for s in ctx.structures}
