"""One forward pass that yields every per-layer count: MACs, weight nonzeros and activations."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from bench.metrics.activations import record_activations
from bench.metrics.macs import LayerCount, count_macs, counted_layers, nonzero


@dataclass(frozen=True)
class Profile:
    """Counts per input of one model: its conv/linear layers and the MACs outside them."""

    layers: list[LayerCount]
    macs_other: int  # matrix products that ran outside conv/linear modules (counted as dense)
    examples: int  # inputs in the batch that was run

    @property
    def macs_total(self) -> int:
        """Dense MACs: every layer's, plus those outside conv/linear modules."""
        return sum(c.macs for c in self.layers) + self.macs_other

    @property
    def macs_nonzero(self) -> int:
        """Nonzero MACs: each layer's dense MACs times its weight density, plus the others."""
        return sum(c.macs_nonzero for c in self.layers) + self.macs_other

    @property
    def activations_total(self) -> int:
        """Output elements of the conv and linear layers per input."""
        return sum(c.activations for c in self.layers)

    @property
    def activations_nonzero(self) -> float | None:
        """Nonzero output elements of the conv and linear layers per input (mean over inputs)."""
        values = [c.activations_nonzero for c in self.layers]
        return None if any(v is None for v in values) else float(sum(values))


@torch.no_grad()
def profile(model: nn.Module, inputs: torch.Tensor) -> Profile:
    """Run `model` once in eval mode on the batch `inputs` and count, per input, what it did."""
    if inputs.dim() < 2 or inputs.shape[0] < 1:
        raise ValueError(f"profile needs a batch of at least one input, got shape {tuple(inputs.shape)}")
    layers = counted_layers(model)
    n = inputs.shape[0]
    was_training = model.training
    model.eval()
    try:
        with count_macs(layers) as flops, record_activations(layers) as acts:
            model(inputs)
    finally:
        model.train(was_training)
    out = []
    for name, module in layers.items():
        weight = module.weight
        numel, nz = weight.numel(), nonzero(weight)
        macs = flops[name] // (2 * n)
        act = acts[name]
        out.append(LayerCount(
            name=name, kind=type(module).__name__, weight_numel=numel, weight_nonzero=nz,
            macs=macs, macs_nonzero=round(macs * nz / numel) if numel else 0,
            params=sum(p.numel() for p in module.parameters()), calls=act.calls,
            output_shape=act.output_shape, activations=act.elements // n,
            activations_nonzero=None if act.nonzero is None else act.nonzero / n))
    other = flops[""] // (2 * n) - sum(c.macs for c in out)
    return Profile(out, other, n)


def layer_counts(model: nn.Module, input_shape: tuple[int, ...]) -> list[LayerCount]:
    """Per-layer counts for one input of `input_shape` (C, H, W), in module order."""
    device = next(model.parameters()).device
    return profile(model, torch.zeros(1, *input_shape, device=device)).layers


def total_macs(model: nn.Module, input_shape: tuple[int, ...]) -> tuple[int, int]:
    """(dense, nonzero) MACs of `model` for one input, MACs outside conv/linear layers included."""
    device = next(model.parameters()).device
    result = profile(model, torch.zeros(1, *input_shape, device=device))
    return result.macs_total, result.macs_nonzero


def count_activations(model: nn.Module, inputs: torch.Tensor) -> tuple[int, float | None]:
    """(total, nonzero) activation elements per input at the conv and linear layers of `model`."""
    result = profile(model, inputs)
    return result.activations_total, result.activations_nonzero
