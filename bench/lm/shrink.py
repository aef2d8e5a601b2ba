"""Removing structures of a causal LM physically: the rows and columns of their units cut out of
the linear layers with torch-pruning's layer pruners, and the attention modules' head counts
set to what is left; and the widths of a smaller model written down and applied again, so that it
can be saved and loaded."""

from __future__ import annotations

import torch
import torch_pruning as tp
from torch import nn

from bench.lm.structures import HEADS, Structure

# attention attributes that hold a head count or a width derived from it, by block family
_HEAD_COUNTS = ("num_heads", "num_attention_heads")
_KV_COUNTS = ("num_key_value_heads",)


def remove(model: nn.Module, found: list[Structure], plan: dict[str, list[int]]) -> None:
    """Remove, in place, the units `plan[structure name]` of each structure (and every row and
    column coupled to them); attention modules learn their new head counts."""
    modules = dict(model.named_modules())
    for s in found:
        units = sorted(set(plan.get(s.name, ())))
        if not units:
            continue
        if len(units) >= s.units:
            raise ValueError(f"{s.name}: removing all {s.units} units would leave nothing")
        chosen = torch.tensor(units, dtype=torch.long)
        for weight, (dim, idx) in s.members.items():
            layer = modules[weight.removesuffix(".weight")]
            lines = sorted(idx[chosen].reshape(-1).tolist())
            if dim == 0:
                tp.prune_linear_out_channels(layer, lines)
            else:
                tp.prune_linear_in_channels(layer, lines)
        if s.kind == HEADS:
            _set_heads(modules[s.attention], s, s.units - len(units))


def _set_heads(attn: nn.Module, s: Structure, kv_groups: int) -> None:
    """Give an attention module the head counts of `kv_groups` key/value groups."""
    for attr in _HEAD_COUNTS:
        if isinstance(getattr(attn, attr, None), int):
            setattr(attn, attr, kv_groups * s.heads_per_unit)
    for attr in _KV_COUNTS:
        if isinstance(getattr(attn, attr, None), int):
            setattr(attn, attr, kv_groups)
    if isinstance(getattr(attn, "split_size", None), int):  # GPT-2's fused q|k|v split
        attn.split_size = kv_groups * s.head_dim
    if isinstance(getattr(attn, "embed_dim", None), int) and hasattr(attn, "split_size"):
        attn.embed_dim = kv_groups * s.head_dim


def widths(model: nn.Module, found: list[Structure]) -> dict[str, int]:
    """Units left in each structure, by name (what a saved smaller model is narrowed to)."""
    modules = dict(model.named_modules())
    out = {}
    for s in found:
        weight, (dim, idx) = next(iter(s.members.items()))
        layer = modules[weight.removesuffix(".weight")]
        out[s.name] = layer.weight.shape[dim] // idx.shape[1]
    return out


def narrow(model: nn.Module, found: list[Structure], kept: dict[str, int]) -> None:
    """Make the dense `model` as wide as a smaller one with `kept` units per structure (the
    last units removed: the weights are loaded afterwards)."""
    for s in found:
        left = kept.get(s.name, s.units)
        if not 0 < left <= s.units:
            raise ValueError(f"{s.name}: {left} units asked of a structure of {s.units}")
        remove(model, [s], {s.name: list(range(left, s.units))})
