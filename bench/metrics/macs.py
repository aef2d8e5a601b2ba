"""Multiply-accumulates per layer, dense and nonzero, counted with torch.utils.flop_counter.

Conventions (docs/metrics.md): a MAC is one multiply-accumulate; FLOPs, where shown, are 2 x MACs.
torch.utils.flop_counter counts every convolution (groups, stride, padding and dilation included)
and every matrix product (mm, addmm, bmm, attention) that runs in the forward pass, on the real
shapes; biases, normalisation, pooling and activations are not counted. A product is attributed to
the layer whose weight it multiplies (followed through views such as the transpose of F.linear),
so a layer gets its MACs whether its module is called or only its weight is used, as
nn.MultiheadAttention does with `out_proj.weight` and Swin with `qkv.weight`; the input projection
of nn.MultiheadAttention (`in_proj_weight`) counts for the attention module itself. Products of
two activations (attention scores) are kept apart as `other` and are part of the total. PyTorch's
fused attention fast path runs as one kernel the counter cannot see, so it is switched off while
counting. A layer's nonzero MACs are its dense MACs times the density of its weight (ShrinkBench's
convention).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.flop_counter import FlopCounterMode, flop_registry, sdpa_flop_count

# every conv (incl. transposed) and linear, and attention modules that hold their own projection
COUNTED_TYPES = (nn.modules.conv._ConvNd, nn.Linear, nn.MultiheadAttention)


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


def load_counter() -> None:
    """Import now what the first counted forward pass would import (torch._dynamo, about 1 s of CPU:
    torch imports it lazily on the first call of a function it keeps dynamo away from), so that a
    process pays it once at its start and no case's `seconds_count` carries it."""
    import torch._dynamo  # noqa: F401


def counted_layers(model: nn.Module) -> dict[str, nn.Module]:
    """Every counted module by name, in module order (a shared module under its first name)."""
    return {name: m for name, m in model.named_modules() if isinstance(m, COUNTED_TYPES)}


def layer_weights(module: nn.Module) -> list[torch.Tensor]:
    """The weights whose products count for `module`: its weight, or an attention module's input
    projection (packed, or one per query, key and value)."""
    if isinstance(module, nn.MultiheadAttention):
        names = ("in_proj_weight",) if module.in_proj_weight is not None else (
            "q_proj_weight", "k_proj_weight", "v_proj_weight")
        return [getattr(module, n) for n in names]
    return [module.weight]


def nonzero(t: torch.Tensor) -> int:
    """Nonzero entries of `t`; a tensor without data (meta device) counts as dense."""
    return t.numel() if t.is_meta else int(torch.count_nonzero(t))


class _Attribution(TorchDispatchMode):
    """Runs above a FlopCounterMode: adds each op's FLOPs to the layer whose weight is an operand.

    A tensor made from a weight by ops that count nothing (transpose, view, split, copy) stands
    for that weight; such tensors are kept alive while counting so that their ids stay unique."""

    def __init__(self, counter: FlopCounterMode, owners: dict[int, str]) -> None:
        super().__init__()
        self.counter, self.owners, self.flops = counter, owners, dict.fromkeys(owners.values(), 0)
        self.derived: list[torch.Tensor] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        before = self.counter.get_total_flops()
        out = func(*args, **(kwargs or {}))
        spent = self.counter.get_total_flops() - before
        inputs = [t for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)]
        found = {self.owners[id(t)] for t in inputs if id(t) in self.owners}
        if spent and found:
            self.flops[min(found)] += spent
        elif not spent and len(found) == 1 and all(id(t) in self.owners for t in inputs):
            for t in tree_leaves(out):  # a view or copy of one weight only: stands for it
                if isinstance(t, torch.Tensor):
                    self.owners[id(t)] = next(iter(found))
                    self.derived.append(t)
        return out


@contextmanager
def exact_attention() -> Iterator[None]:
    """Switch off PyTorch's fused attention fast path (one kernel that no counter sees)."""
    mha = getattr(torch.backends, "mha", None)
    if mha is None:
        yield
        return
    was = mha.get_fastpath_enabled()
    mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        mha.set_fastpath_enabled(was)


def _sdpa_flops(query_shape, key_shape, value_shape, *_args, out_shape=None, **_kwargs) -> int:
    return sdpa_flop_count(query_shape, key_shape, value_shape)


# Attention kernels the counter knows the formula of but not by this name (CPU's flash kernel).
EXTRA_FORMULAS = {op: _sdpa_flops for op in (
    getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None),)
    if op is not None and op not in flop_registry}


@contextmanager
def count_macs(layers: dict[str, nn.Module]) -> Iterator[dict[str, int]]:
    """Count FLOPs while active; yields {layer name: FLOPs, "": total}, filled when it exits.

    Each product goes to the layer whose weight it multiplies, so the count is tied to the
    weights: reuse, names and calls that bypass a module's forward do not matter.
    """
    owners: dict[int, str] = {}
    for name, module in layers.items():
        for weight in layer_weights(module):
            owners.setdefault(id(weight), name)  # a weight shared by two layers counts for the first
    counter = FlopCounterMode(display=False, custom_mapping=EXTRA_FORMULAS)
    flops: dict[str, int] = dict.fromkeys(layers, 0)
    with exact_attention(), counter:
        attribution = _Attribution(counter, owners)
        with attribution:
            yield flops
    flops.update(attribution.flops)
    flops[""] = counter.get_total_flops()
