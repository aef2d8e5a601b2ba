"""Reach a target in parameters or MACs by searching the fraction of channels to remove.

The fraction is bisected; each trial prunes a copy of the model for real and counts it on its
real shapes, so the figure reached is the figure the row will report. Channels come in whole
units, so the target is met within the step between the two achievable ratios that bracket it:
that step (never less than COMPRESSION_TOLERANCE) is the tolerance stated on the row.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from bench.context import Target, UnreachableCompressionError
from bench.metrics.profile import profile
from bench.metrics.size import count_params
from bench.structured.graph import channel_groups, dependency_graph, remove
from bench.structured.select import group_scores, plan, tied

COMPRESSION_TOLERANCE = 0.02  # relative, as for unstructured cases
BISECTION_STEPS = 20  # fraction resolution 1e-6: finer than one channel of any model here
CLOSE_ENOUGH = 0.002  # stop the search once the target is met this closely
RECENT_TRIALS = 3  # pruned copies kept for reuse: the bracket's ends and the latest


@dataclass
class Pruned:
    """A physically pruned model and how the target was met."""

    model: nn.Module
    achieved: float  # the ratio reached in the target's unit, against the dense model
    tolerance: float  # relative tolerance the channel granularity allows here
    fraction: float  # the removal fraction chosen
    removed: dict[str, list[int]]  # root layer -> root channels removed
    ties: float | None  # fraction of the removed channels chosen among equal scores (by index)


def ratio(model: nn.Module, unit: str, dense: dict, example: Tensor) -> float:
    """Dense count / count of `model` in `unit` (params: nonzero parameters; macs: nonzero MACs,
    counted by a forward pass on `example`)."""
    if unit == "params":
        value, reference = count_params(model)[1], dense["params_dense"]
    else:
        value, reference = profile(model, example).macs_nonzero, dense["macs_dense"]
    return reference / value if value else float("inf")


class _FastRatio:
    """The ratio of a narrowed copy without a profiling pass: channel removal leaves every
    layer's output positions as they were, so its MACs per weight element are the starting
    model's (MACs outside conv/linear layers are taken as unchanged). The chosen model is counted
    for real afterwards."""

    def __init__(self, model: nn.Module, unit: str, dense: dict, example: Tensor) -> None:
        self.unit, self.dense, self.example = unit, dense, example
        if unit == "macs":
            prof = profile(model, example)
            self.per_weight = {c.name: c.macs / c.weight_numel for c in prof.layers if c.weight_numel}
            self.other = prof.macs_other

    @torch.no_grad()
    def __call__(self, model: nn.Module) -> float:
        if self.unit == "params":
            return ratio(model, "params", self.dense, self.example)
        modules = dict(model.named_modules())
        macs = self.other + sum(float(torch.count_nonzero(modules[name].weight)) * per
                                for name, per in self.per_weight.items())
        return self.dense["macs_dense"] / macs if macs else float("inf")


def prune_to_target(model: nn.Module, scores: dict[str, Tensor], target: Target, dense: dict,
                    example: Tensor, scope: str = "global", round_to: int = 1) -> Pruned:
    """A copy of `model` with whole channels removed so that it is `target.value` x smaller than
    the dense model (`dense`: params_dense, macs_dense) in `target.unit`, within the tolerance."""
    groups = channel_groups(model, dependency_graph(model, example))
    per_group = group_scores(groups, scores)
    fast = _FastRatio(model, target.unit, dense, example)

    # Near the end nearby fractions give the plan of a bracket end again: keep the last few
    # pruned copies (not all: each is a whole model) instead of pruning and tracing once more.
    recent: OrderedDict[tuple, tuple[nn.Module, float]] = OrderedDict()

    def trial(fraction: float) -> tuple[nn.Module, float, dict]:
        removal = plan(groups, per_group, fraction, scope, round_to)
        key = tuple(sorted((root, tuple(idxs)) for root, idxs in removal.items()))
        if key not in recent:
            candidate = copy.deepcopy(model)
            remove(candidate, dependency_graph(candidate, example), removal)
            recent[key] = candidate, fast(candidate)
            if len(recent) > RECENT_TRIALS:
                recent.popitem(last=False)
        recent.move_to_end(key)
        return *recent[key], removal

    def done(chosen: tuple, tolerance: float) -> Pruned:
        achieved = ratio(chosen[1], target.unit, dense, example)  # counted for real
        return Pruned(chosen[1], achieved, tolerance, chosen[0], chosen[3],
                      tied(groups, per_group, chosen[3], scope))

    low = (0.0, *trial(0.0))
    if low[2] >= target.value:
        return done(low, COMPRESSION_TOLERANCE)
    high = (1.0, *trial(1.0))
    if high[2] < target.value * (1 - COMPRESSION_TOLERANCE):
        raise UnreachableCompressionError(
            f"{target.value:g}x fewer {target.unit} is out of reach by removing channels: with one "
            f"channel left in every scored group the model is {high[2]:.2f}x smaller (scope "
            f"{scope}, {sum(s is not None for s in per_group)} of {len(groups)} groups scored)")
    if high[2] < target.value:  # just short, within the tolerance: as close as channels allow
        return done(high, COMPRESSION_TOLERANCE)
    for _ in range(BISECTION_STEPS):
        if abs(high[2] / target.value - 1) < CLOSE_ENOUGH:
            break
        middle = (low[0] + high[0]) / 2
        candidate = (middle, *trial(middle))
        if candidate[2] >= target.value:
            high = candidate
        else:
            low = candidate
    best = min(low, high, key=lambda t: abs(t[2] / target.value - 1))
    if abs(best[2] / target.value - 1) < CLOSE_ENOUGH:
        return done(best, COMPRESSION_TOLERANCE)
    # the bracket closed on two neighbouring plans: its width is what channels allow here
    return done(best, max(COMPRESSION_TOLERANCE, (high[2] - low[2]) / target.value))


@torch.no_grad()
def channel_counts(model: nn.Module) -> dict[str, tuple[int, int]]:
    """(input, output) channels or features of each conv and linear layer, by module name."""
    out = {}
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            out[name] = (module.in_features, module.out_features)
        elif isinstance(module, nn.modules.conv._ConvNd):
            out[name] = (module.in_channels, module.out_channels)
    return out
