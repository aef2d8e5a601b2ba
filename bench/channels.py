"""Channel scores for KIND = "channel" methods: one score per output channel of each prunable
conv/linear weight (higher = keep). The bench pools them over coupled layers and removes the
lowest channels physically (bench.structured). On a language model (ctx.structures set) the
scores are one per unit of each coupled structure instead: MLP channels and key/value head
groups (bench.lm.scores)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from bench.context import PruneContext, weight_name

NORM_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def _filters(p: Tensor) -> Tensor:
    """A weight (out, ...) as one row per output channel."""
    return p.detach().reshape(p.shape[0], -1)


@torch.no_grad()
def filter_l1(ctx: PruneContext) -> dict[str, Tensor]:
    """Sum of |w| of each output channel's filter (Li et al., ICLR 2017)."""
    return {name: _filters(p).abs().sum(1) for name, p in ctx.prunable.items()}


@torch.no_grad()
def fpgm(ctx: PruneContext) -> dict[str, Tensor]:
    """Sum of L2 distances from each filter to the other filters of its layer: filters near the
    geometric median (small sums) are the most replaceable (He et al., CVPR 2019)."""
    return {name: torch.cdist(_filters(p)[None], _filters(p)[None])[0].sum(1)
            for name, p in ctx.prunable.items()}


@torch.no_grad()
def following_norms(ctx: PruneContext) -> dict[str, nn.Module]:
    """The batch norm that directly reads each prunable layer's output (found by running one
    calibration input in eval mode: a norm whose input is that layer's output tensor)."""
    modules = dict(ctx.model.named_modules())
    by_output: dict[int, str] = {}
    found: dict[str, nn.Module] = {}
    layers = {name[: -len(".weight")] if name != "weight" else "": name for name in ctx.prunable}
    handles = [modules[m].register_forward_hook(
        lambda _mod, _inp, out, name=n: by_output.__setitem__(id(out), name))
        for m, n in layers.items()]

    def reads(norm: nn.Module, inputs: tuple) -> None:  # a pre-hook must return None
        if id(inputs[0]) in by_output:
            found.setdefault(by_output[id(inputs[0])], norm)

    handles += [m.register_forward_pre_hook(reads) for m in ctx.model.modules()
                if isinstance(m, NORM_TYPES)]
    was_training = ctx.model.training
    ctx.model.eval()
    try:
        ctx.model(ctx.batch[0][:1])
    finally:
        for h in handles:
            h.remove()
        ctx.model.train(was_training)
    return found


@torch.no_grad()
def bn_scale(ctx: PruneContext) -> dict[str, Tensor]:
    """|gamma| of the batch norm after each prunable layer (network slimming, Liu et al., ICCV
    2017, without its sparsity training); layers with no batch norm after them get no score."""
    return {name: norm.weight.detach().abs() for name, norm in following_norms(ctx).items()
            if getattr(norm, "weight", None) is not None}


@torch.no_grad()
def magnitude(ctx: PruneContext) -> dict[str, Tensor]:
    """L2 norm of each output channel's filter; on a language model, of each structure unit's
    coupled rows and columns together."""
    if ctx.structures is not None:
        from bench.lm import scores

        return scores.magnitude(ctx)
    return {name: _filters(p).norm(dim=1) for name, p in ctx.prunable.items()}


def activation(ctx: PruneContext) -> dict[str, Tensor]:
    """Language models only: |W| times the input norm of each weight's column (Wanda's score),
    summed over each structure unit's coupled rows and columns (declare CALIBRATION = "norms")."""
    if ctx.structures is None:
        from bench.errors import InvalidValueError

        raise InvalidValueError("activation channel scores are built for language models only "
                                "(declare TASKS = ('lm',))")
    from bench.lm import scores

    return scores.activation(ctx)


def taylor(ctx: PruneContext) -> dict[str, Tensor]:
    """First-order Taylor importance of each output channel, (sum over its filter and bias of
    w * dL/dw)^2, on ctx.batch with the model in eval mode, so batch-norm statistics are not used
    from the batch nor moved (Molchanov et al., CVPR 2019); no .grad is left behind. On a language
    model, |w * dL/dw| summed over each structure unit (bench.lm.scores.taylor)."""
    if ctx.structures is not None:
        from bench.lm import scores

        return scores.taylor(ctx)
    modules = {weight_name(n): m for n, m in ctx.model.named_modules()}
    params = list(ctx.prunable.values())
    biases = [getattr(modules[n], "bias", None) for n in ctx.prunable]
    extra = [b for b in biases if b is not None]
    was_training = ctx.model.training
    ctx.model.eval()
    try:
        with torch.enable_grad():
            x, y = ctx.batch
            grads = torch.autograd.grad(ctx.loss_fn(ctx.model(x), y), params + extra,
                                        allow_unused=True)
    finally:
        ctx.model.train(was_training)
    bias_grads = iter(grads[len(params):])
    out = {}
    for (name, p), g, b in zip(ctx.prunable.items(), grads[:len(params)], biases, strict=True):
        total = (_filters(p) * _filters(g)).sum(1) if g is not None else p.new_zeros(p.shape[0])
        if b is not None:
            gb = next(bias_grads)
            if gb is not None:
                total = total + b.detach() * gb
        out[name] = total.detach() ** 2
    return out


def random(ctx: PruneContext) -> dict[str, Tensor]:
    """Uniform random scores from the seeded ctx.generator (the baseline every criterion must beat);
    one per structure unit on a language model."""
    if ctx.structures is not None:
        from bench.lm import scores

        return scores.random(ctx)
    return {name: torch.rand(p.shape[0], generator=ctx.generator, device=ctx.generator.device)
            for name, p in ctx.prunable.items()}


def normalized(scores: dict[str, Tensor]) -> dict[str, Tensor]:
    """Each layer's scores divided by their mean, so that layers of different sizes and scales
    compare in a global ranking (torch-pruning's "mean" normalizer)."""
    return {name: s / s.mean().clamp(min=torch.finfo(s.dtype).tiny) for name, s in scores.items()}
