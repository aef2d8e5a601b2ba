"""The coupled channel groups of a model, from torch-pruning's DependencyGraph.

A group is a set of output channels that must go together (a conv, its batch norm, the layers
that read it, every layer added to it through a residual connection). Its root is a conv or
linear layer; the classifier is never a root, so its outputs are never removed (its inputs are).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch_pruning as tp
from torch import nn

from bench.context import weight_name
from bench.models import classifier_name
from bench.structured.shortcut import CUSTOM_PRUNERS

ROOT_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


@dataclass
class ChannelGroup:
    """One group of coupled channels: its root layer, size, and the out-pruned weights in it."""

    root: str  # module name of the root layer
    channels: int
    # weight name -> (channel indices of that weight, the root channels they belong to)
    members: dict[str, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)


def dependency_graph(model: nn.Module, example: torch.Tensor) -> tp.DependencyGraph:
    """torch-pruning's DependencyGraph of `model` traced on `example` (the option-A shortcut of
    the CIFAR ResNets registered with its own pruner)."""
    was_training = model.training
    with torch.enable_grad():
        graph = tp.DependencyGraph().build_dependency(model, example_inputs=example,
                                                      customized_pruners=CUSTOM_PRUNERS,
                                                      verbose=False)
    model.train(was_training)
    return graph


def channel_groups(model: nn.Module, graph: tp.DependencyGraph) -> list[ChannelGroup]:
    """Every prunable group of output channels, in module order; the classifier's outputs and
    groups of a single channel are left out."""
    modules = dict(model.named_modules())
    names = {id(m): n for n, m in modules.items()}
    classifier = modules[classifier_name(model)]
    out = []
    for group in graph.get_all_groups(ignored_layers=[classifier], root_module_types=ROOT_TYPES):
        root = group[0].dep.target.module
        entry = ChannelGroup(names[id(root)], len(group[0].idxs))
        for item in group:
            module = item.dep.target.module
            if (isinstance(module, ROOT_TYPES) and graph.is_out_channel_pruning_fn(item.dep.handler)
                    and id(module) in names):
                entry.members[weight_name(names[id(module)])] = (
                    torch.tensor(item.idxs, dtype=torch.long),
                    torch.tensor(item.root_idxs, dtype=torch.long))
        if entry.channels > 1:
            out.append(entry)
    return sorted(out, key=lambda g: list(modules).index(g.root))


def remove(model: nn.Module, graph: tp.DependencyGraph, plan: dict[str, list[int]]) -> None:
    """Remove, in place, the root channels `plan[root]` of each group (and all coupled ones)."""
    modules = dict(model.named_modules())
    for root, idxs in plan.items():
        if idxs:
            module = modules[root]
            pruner = graph.get_pruner_of_module(module)
            graph.get_pruning_group(module, pruner.prune_out_channels, sorted(idxs)).prune()

