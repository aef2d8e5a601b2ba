"""Multiply-accumulates per layer, dense and nonzero, counted with torch.utils.flop_counter.

Convention (ShrinkBench's): a layer's nonzero MACs are its dense MACs times the density of its
weight. MACs are counted for convolution and linear layers (and any matrix product inside a
module); FLOPs, where shown, are 2 x MACs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from bench.context import PRUNABLE_TYPES


@dataclass(frozen=True)
class LayerCount:
    """One conv or linear layer: weight size, nonzeros, and MACs per input."""

    name: str
    kind: str
    weight_numel: int
    weight_nonzero: int
    macs: int
    macs_nonzero: int

    @property
    def sparsity(self) -> float:
        """Fraction of the layer's weight entries that are zero."""
        return 1 - self.weight_nonzero / self.weight_numel if self.weight_numel else 0.0


@torch.no_grad()
def layer_counts(model: nn.Module, input_shape: tuple[int, ...]) -> list[LayerCount]:
    """Per-layer counts for one input of `input_shape` (C, H, W), in module order."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, *input_shape, device=device))
    model.train(was_training)
    flops = counter.get_flop_counts()
    root = type(model).__name__
    out = []
    for name, module in model.named_modules():
        if not isinstance(module, PRUNABLE_TYPES):
            continue
        macs = sum(flops.get(f"{root}.{name}", {}).values()) // 2
        numel = module.weight.numel()
        nonzero = int(torch.count_nonzero(module.weight))
        out.append(LayerCount(name, type(module).__name__, numel, nonzero, macs,
                              round(macs * nonzero / numel) if numel else 0))
    return out


def total_macs(model: nn.Module, input_shape: tuple[int, ...]) -> tuple[int, int]:
    """(dense, nonzero) MACs of `model` for one input."""
    layers = layer_counts(model, input_shape)
    return sum(c.macs for c in layers), sum(c.macs_nonzero for c in layers)
