"""One forward pass that yields every per-layer count: MACs, weight nonzeros and activations."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from bench.metrics.activations import record_activations
from bench.metrics.macs import LayerCount, count_macs, counted_layers, layer_weights, nonzero


@dataclass(frozen=True)
class Profile:
    """Counts per input of one model: its conv/linear layers and the MACs outside them."""

    layers: list[LayerCount]
    macs_other: int  # products of no layer's weight, e.g. attention scores (counted as dense)
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
    """Count, per input, what `model` does in eval mode. MACs and activation sizes are counted on
    the first input of the batch `inputs` alone, so work that does not grow with the batch (Swin
    V2's position-bias MLP) counts whole, as for one input at inference; the fraction of nonzero
    activations is taken over the whole batch."""
    if inputs.dim() < 2 or inputs.shape[0] < 1:
        raise ValueError(f"profile needs a batch of at least one input, got shape {tuple(inputs.shape)}")
    layers = counted_layers(model)
    was_training = model.training
    model.eval()
    try:
        with count_macs(layers) as flops, record_activations(layers) as acts:
            model(inputs[:1])
        batch = acts
        if inputs.shape[0] > 1:
            with record_activations(layers) as batch:
                model(inputs)
    finally:
        model.train(was_training)
    out = []
    for name, module in layers.items():
        weights = layer_weights(module)
        numel, nz = sum(w.numel() for w in weights), sum(nonzero(w) for w in weights)
        macs = flops[name] // 2
        act, over_batch = acts[name], batch[name]
        out.append(LayerCount(
            name=name, kind=type(module).__name__, weight_numel=numel, weight_nonzero=nz,
            macs=macs, macs_nonzero=round(macs * nz / numel) if numel else 0,
            params=sum(p.numel() for p in module.parameters()), calls=act.calls,
            output_shape=act.output_shape, activations=act.elements,
            activations_nonzero=None if over_batch.nonzero is None else (
                over_batch.nonzero * act.elements / over_batch.elements if over_batch.elements
                else 0.0)))
    other = flops[""] // 2 - sum(c.macs for c in out)
    return Profile(out, other, inputs.shape[0])


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
