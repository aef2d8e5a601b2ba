"""Masks: validated against the model, applied, and enforced so pruned weights stay exactly zero."""

from __future__ import annotations

import difflib
from collections.abc import Callable

import torch
from torch import Tensor, nn

from bench.errors import BenchError


class InvalidMaskError(BenchError, ValueError):
    """A method returned masks that do not fit the model; the message names method and parameter."""


def validate(masks: object, model: nn.Module, method: str, allow_empty_layers: bool = False) -> None:
    """Check that `masks` maps parameter names of `model` to boolean tensors of equal shape and
    that no layer is pruned away entirely (unless `allow_empty_layers`)."""
    if not isinstance(masks, dict):
        raise InvalidMaskError(f"method {method!r} returned {type(masks).__name__}, not a dict of "
                               "parameter name -> bool tensor (True = keep)")
    params = dict(model.named_parameters())
    for name, mask in masks.items():
        where = f"method {method!r}, parameter {name!r}"
        if not isinstance(name, str) or name not in params:
            close = difflib.get_close_matches(str(name), list(params), n=3, cutoff=0.5)
            hint = f"did you mean {close}?" if close else f"valid names: {list(params)[:6]}..."
            raise InvalidMaskError(f"{where}: the model has no such parameter; keys are names "
                                   f"as in model.named_parameters(), {hint}")
        if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
            kind = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
            raise InvalidMaskError(f"{where}: mask must be a bool tensor (True = keep), got {kind}; "
                                   "convert scores with a comparison or bench.select")
        if mask.shape != params[name].shape:
            raise InvalidMaskError(f"{where}: mask shape {tuple(mask.shape)} != parameter "
                                   f"shape {tuple(params[name].shape)}")
        if not allow_empty_layers and mask.numel() and not bool(mask.any()):
            raise InvalidMaskError(f"{where}: every weight of the layer is pruned, which "
                                   "disconnects the network; keep at least one weight or "
                                   "declare ALLOW_EMPTY_LAYERS = True in the method")


@torch.no_grad()
def apply(model: nn.Module, masks: dict[str, Tensor]) -> None:
    """Set the pruned weights of `model` to exactly zero in place."""
    params = dict(model.named_parameters())
    for name, mask in masks.items():
        params[name].masked_fill_(~mask.to(params[name].device), 0)


def enforcer(model: nn.Module, masks: dict[str, Tensor]) -> Callable[[], None]:
    """A callable that re-zeroes pruned weights; run it after every optimizer step so that
    gradients, momentum and weight decay cannot revive them. One fused multiply per step,
    over the layers that have pruned weights only."""
    params = dict(model.named_parameters())
    pruned = [(params[name], m) for name, m in masks.items() if not bool(m.all())]
    targets = [p for p, _ in pruned]
    factors = [m.to(p.device, p.dtype) for p, m in pruned]

    @torch.no_grad()
    def enforce() -> None:
        if targets:
            torch._foreach_mul_(targets, factors)

    return enforce


@torch.no_grad()
def masks_hold(model: nn.Module, masks: dict[str, Tensor]) -> bool:
    """True when every pruned weight of `model` is exactly zero."""
    params = dict(model.named_parameters())
    return all(not bool(params[name][~mask].any()) for name, mask in masks.items())
