"""Which structure units of a language model go: a channel method's scores per unit (MLP
channels, key/value head groups) checked, and the lowest chosen until the model is the target's
ratio smaller than the dense one in parameters or in MACs per token.

Which units go for a removal fraction f: scope "global" ranks every unit of every structure
together, each score divided by its structure's mean score, and removes the lowest f of them;
scope "layer" removes f of each structure. Every structure keeps at least one unit, and MLP
widths are rounded up to a multiple of `round_to` (heads are their own granularity). Removing
a unit saves what it costs, known in advance (its rows, columns and row biases; for MACs per
token the same weights, and its query heads' share of the attention-score MACs), so the
fraction is searched without building a model; the chosen model is counted for real afterwards.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from bench.context import Target, UnreachableCompressionError
from bench.lm.structures import HEADS, MLP, Structure
from bench.structured.search import COMPRESSION_TOLERANCE
from bench.structured.select import (
    SCOPES,
    InvalidScoresError,
    lowest,
    removal_counts,
    tie_fraction,
)

BISECTION_STEPS = 40


@dataclass
class Plan:
    """Units removed per structure, and the ratio their removal reaches by the unit costs."""

    removed: dict[str, list[int]]
    ratio: float
    fraction: float


def validate(scores: object, found: list[Structure], method: str) -> dict[str, Tensor]:
    """`scores` as float64 CPU tensors, checked: structure name -> one finite score per unit."""
    if not isinstance(scores, dict):
        raise InvalidScoresError(
            f"channel method {method!r} returned {type(scores).__name__}, not a dict of structure "
            "name -> 1-D tensor of scores over its units (higher = keep); see ctx.structures")
    by_name = {s.name: s for s in found}
    out = {}
    for name, value in scores.items():
        where = f"channel method {method!r}, structure {name!r}"
        if name not in by_name:
            raise InvalidScoresError(f"{where}: not a structure of the model; keys are the names "
                                     f"in ctx.structures, e.g. {found[0].name!r}")
        units = by_name[name].units
        if not isinstance(value, Tensor) or tuple(value.shape) != (units,):
            shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
            raise InvalidScoresError(f"{where}: scores must be a 1-D tensor of {units} (one per "
                                     f"unit), got {shape}")
        if not value.is_floating_point() or not bool(torch.isfinite(value).all()):
            raise InvalidScoresError(f"{where}: scores must be finite floats")
        out[name] = value.detach().to("cpu", torch.float64)
    return out


def unit_costs(model: nn.Module, found: list[Structure], unit: str, other_macs: float) -> dict[str, float]:
    """What removing one unit of each structure saves, in parameters or in MACs per token (a
    linear layer's MACs per token are its weight's elements; `other_macs`, the attention-score
    MACs per token of the dense model, are shared out over its query heads)."""
    heads = sum(s.units * s.heads_per_unit for s in found if s.kind == HEADS)
    out = {}
    for s in found:
        params = s.params_per_unit(model)
        if unit == "params":
            out[s.name] = float(params)
        else:
            biases = sum(idx.shape[1] for w, (dim, idx) in s.members.items()
                         if dim == 0 and _bias(model, w) is not None)
            share = other_macs * s.heads_per_unit / heads if s.kind == HEADS and heads else 0.0
            out[s.name] = float(params - biases) + share
    return out


def _bias(model: nn.Module, weight: str):
    return getattr(model.get_submodule(weight.removesuffix(".weight")), "bias", None)


def plan(found: list[Structure], scores: dict[str, Tensor], costs: dict[str, float],
         dense_total: float, fraction: float, scope: str, round_to: int = 1) -> Plan:
    """The units to remove at removal `fraction` in [0, 1] and the ratio that reaches."""
    scored = [s for s in found if s.name in scores]
    counts = removal_counts([_ranked(scores[s.name]) for s in scored], fraction, scope)
    removed = {s.name: lowest(scores[s.name], count, round_to if s.kind == MLP else 1)
               for s, count in zip(scored, counts, strict=True)}
    left = dense_total - sum(len(units) * costs[name] for name, units in removed.items())
    return Plan(removed, dense_total / left if left > 0 else math.inf, fraction)


def search(found: list[Structure], scores: dict[str, Tensor], costs: dict[str, float],
           dense_total: float, target: Target, scope: str, round_to: int = 1) -> tuple[Plan, float]:
    """The plan that first reaches `target.value` x fewer (the smallest removal fraction that
    does), and the tolerance that unit granularity allows there (never below
    COMPRESSION_TOLERANCE)."""
    if scope not in SCOPES:
        raise InvalidScoresError(f"SCOPE must be one of {', '.join(SCOPES)}, not {scope!r}")

    def at(fraction: float) -> Plan:
        return plan(found, scores, costs, dense_total, fraction, scope, round_to)

    low, high = at(0.0), at(1.0)
    if low.ratio >= target.value:
        return low, COMPRESSION_TOLERANCE
    if high.ratio < target.value * (1 - COMPRESSION_TOLERANCE):
        raise UnreachableCompressionError(
            f"{target.value:g}x fewer {target.unit} is out of reach by removing MLP channels and "
            f"head groups: with one unit left in every scored structure the model is "
            f"{high.ratio:.2f}x smaller (scope {scope})")
    if high.ratio < target.value:
        return high, COMPRESSION_TOLERANCE
    for _ in range(BISECTION_STEPS):
        middle = at((low.fraction + high.fraction) / 2)
        if middle.ratio >= target.value:
            high = middle
        else:
            low = middle
    return high, max(COMPRESSION_TOLERANCE, (high.ratio - low.ratio) / target.value)


def tied(scores: dict[str, Tensor], removed: dict[str, list[int]], scope: str) -> float | None:
    """The fraction of removed units whose score equals a kept unit's in the ranking that chose
    them (chosen by index, not by score); None when nothing was removed."""
    ranked = [_ranked(v) if scope == "global" else v for v in scores.values()]
    return tie_fraction(ranked, [removed.get(n, []) for n in scores], scope)


def _ranked(score: Tensor) -> Tensor:
    """A structure's scores over their mean, as the global ranking compares them, so that
    structures of different sizes and scales compare (torch-pruning's "mean" normalizer): a head
    group sums far more weights than an MLP channel."""
    return score / score.mean().clamp(min=1e-300)
