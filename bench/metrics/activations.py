"""Activation elements at the conv and linear layers: total and nonzero, per input.

The tensor counted is each conv or linear module's output, as the module returns it: before any
bias-free normalisation or nonlinearity that follows it (docs/metrics.md). Counts are per input:
totals are exact, nonzeros are the mean over the inputs of the batch that was run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass
class ActivationCount:
    """Output elements of one layer over a batch, summed over the layer's calls."""

    calls: int = 0
    elements: int = 0  # over the whole batch
    nonzero: int | None = 0  # None where the outputs hold no data (meta device)
    output_shape: tuple[int, ...] = field(default_factory=tuple)  # of one input, last call


@contextmanager
def record_activations(layers: dict[str, nn.Module]) -> Iterator[dict[str, ActivationCount]]:
    """Record the output size and nonzeros of each of `layers` while active."""
    counts = {name: ActivationCount() for name in layers}
    names = {id(m): name for name, m in layers.items()}

    def hook(module, _inputs, output):
        c = counts[names[id(module)]]
        c.calls += 1
        if not isinstance(output, torch.Tensor):  # e.g. attention's (output, weights): counted
            return  # by the layers that made it
        c.elements += output.numel()
        c.output_shape = tuple(output.shape[1:])
        if output.is_meta or c.nonzero is None:
            c.nonzero = None
        else:
            c.nonzero += int(torch.count_nonzero(output))

    handles = [m.register_forward_hook(hook) for m in layers.values()]
    try:
        yield counts
    finally:
        for h in handles:
            h.remove()
