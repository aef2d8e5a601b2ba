"""Multiply-accumulates per layer, dense and nonzero, counted with torch.utils.flop_counter.

Conventions (docs/metrics.md): a MAC is one multiply-accumulate; FLOPs, where shown, are 2 x MACs.
torch.utils.flop_counter counts every convolution (groups, stride, padding and dilation included)
and every matrix product (mm, addmm, bmm, attention) that runs in the forward pass, on the real
shapes; biases, normalisation, pooling and activations are not counted. Each convolution or linear
module gets the MACs of its own calls (summed over calls when it is reused); products that run
outside such modules are kept apart as `other` and are part of the total. A layer's nonzero MACs
are its dense MACs times the density of its weight (ShrinkBench's convention).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

COUNTED_TYPES = (nn.modules.conv._ConvNd, nn.Linear)  # every conv (incl. transposed) and linear


@dataclass(frozen=True)
class LayerCount:
    """One conv or linear layer: weight size and nonzeros, MACs and activations per input."""

    name: str
    kind: str
    weight_numel: int
    weight_nonzero: int
    macs: int
    macs_nonzero: int
    params: int = 0  # every parameter of the module (weight and bias)
    calls: int = 0  # forward calls in one pass (0: the layer did not run)
    output_shape: tuple[int, ...] = ()  # of one input, at the last call
    activations: int = 0  # output elements per input, summed over calls
    activations_nonzero: float | None = None  # nonzero output elements per input (mean)

    @property
    def sparsity(self) -> float:
        """Fraction of the layer's weight entries that are zero."""
        return 1 - self.weight_nonzero / self.weight_numel if self.weight_numel else 0.0


def counted_layers(model: nn.Module) -> dict[str, nn.Module]:
    """Every conv and linear module by name, in module order (a shared module under its first name)."""
    return {name: m for name, m in model.named_modules() if isinstance(m, COUNTED_TYPES)}


def nonzero(t: torch.Tensor) -> int:
    """Nonzero entries of `t`; a tensor without data (meta device) counts as dense."""
    return t.numel() if t.is_meta else int(torch.count_nonzero(t))


@contextmanager
def count_macs(layers: dict[str, nn.Module]) -> Iterator[dict[str, int]]:
    """Count FLOPs while active; yields {layer name: FLOPs, "": total}, filled when it exits.

    Hooks read the counter's running total before and after each layer's call, so the count
    is tied to the module object: reuse and names do not matter.
    """
    flops: dict[str, int] = {name: 0 for name in layers}
    names = {id(m): name for name, m in layers.items()}
    started: dict[int, list[int]] = {}
    counter = FlopCounterMode(display=False)

    def before(module, _inputs):
        started.setdefault(id(module), []).append(counter.get_total_flops())

    def after(module, _inputs, _output):
        flops[names[id(module)]] += counter.get_total_flops() - started[id(module)].pop()

    handles = [h for m in layers.values()
               for h in (m.register_forward_pre_hook(before), m.register_forward_hook(after))]
    try:
        with counter:
            yield flops
        flops[""] = counter.get_total_flops()
    finally:
        for h in handles:
            h.remove()
