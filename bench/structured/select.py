"""Which channels go: scores checked and pooled per group, then removed by a global fraction.

A channel method's scores (weight name -> one score per output channel, higher = keep) are
averaged over the out-pruned layers of each coupled group. `plan(fraction)` removes the lowest
channels: with scope "global" the lowest `fraction` of all channels pooled over groups, with scope
"layer" the same fraction of every group. Every group keeps at least `round_to` channels (at
least one), and a kept count is rounded up to a multiple of `round_to`. `tied` says how many
of the removed channels were chosen among equal scores (by index).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from bench.errors import BenchError
from bench.structured.graph import ChannelGroup

SCOPES = ("global", "layer")


class InvalidScoresError(BenchError, ValueError):
    """A channel method returned scores that do not fit the model."""


def validate_scores(scores: object, model: nn.Module, method: str) -> None:
    """Check that `scores` maps conv/linear weight names to finite 1-D tensors with one score per
    output channel of that weight."""
    if not isinstance(scores, dict):
        raise InvalidScoresError(
            f"channel method {method!r} returned {type(scores).__name__}, not a dict of weight "
            "name -> 1-D tensor of scores over output channels (higher = keep)")
    params = dict(model.named_parameters())
    for name, value in scores.items():
        where = f"channel method {method!r}, weight {name!r}"
        if name not in params or params[name].dim() < 2:
            raise InvalidScoresError(f"{where}: not a conv or linear weight of the model; keys are "
                                     "names as in ctx.prunable")
        channels = params[name].shape[0]
        if not isinstance(value, Tensor) or value.shape != (channels,):
            shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
            raise InvalidScoresError(f"{where}: scores must be a 1-D tensor of {channels} (one per "
                                     f"output channel), got {shape}")
        if not value.is_floating_point() or not bool(torch.isfinite(value).all()):
            raise InvalidScoresError(f"{where}: scores must be finite floats (NaN or inf found, or "
                                     f"dtype {value.dtype})")


def group_scores(groups: list[ChannelGroup], scores: dict[str, Tensor]) -> list[Tensor | None]:
    """Per group, the mean score of each root channel over the group's scored layers (None: no
    layer of the group was scored, so it is not pruned)."""
    out: list[Tensor | None] = []
    for group in groups:
        total, count = torch.zeros(group.channels, dtype=torch.float64), torch.zeros(group.channels)
        for name, (idxs, root_idxs) in group.members.items():
            if name in scores:
                values = scores[name].detach().to("cpu", torch.float64)
                total.index_add_(0, root_idxs, values[idxs])
                count.index_add_(0, root_idxs, torch.ones(len(idxs)))
        out.append(total / count.clamp(min=1) if bool(count.any()) else None)
    return out


def plan(groups: list[ChannelGroup], scores: list[Tensor | None], fraction: float, scope: str,
         round_to: int = 1) -> dict[str, list[int]]:
    """Root channels to remove per group (by root layer name) for a removal `fraction` in [0, 1]."""
    if scope not in SCOPES:
        raise InvalidScoresError(f"SCOPE must be one of {', '.join(SCOPES)}, not {scope!r}")
    scored = [(g, s) for g, s in zip(groups, scores, strict=True) if s is not None]
    if not scored:
        return {}
    counts = removal_counts([s for _, s in scored], fraction, scope)
    return {group.root: lowest(score, count, round_to)
            for (group, score), count in zip(scored, counts, strict=True)}


def removal_counts(scores: list[Tensor], fraction: float, scope: str) -> list[int]:
    """How many of each group's channels a removal `fraction` takes: the same fraction of each
    (scope "layer"), or of all channels pooled and ranked by score (scope "global")."""
    if scope == "layer":
        return [math.floor(fraction * len(s) + 1e-9) for s in scores]
    pooled = torch.cat(scores)
    owner = torch.cat([torch.full((len(s),), i) for i, s in enumerate(scores)])
    chosen = torch.sort(pooled, stable=True).indices[:math.floor(fraction * len(pooled) + 1e-9)]
    return torch.bincount(owner[chosen], minlength=len(scores)).tolist()


def lowest(score: Tensor, count: int, round_to: int = 1) -> list[int]:
    """The indices of the `count` lowest scores (ties: lower index first), fewer where the
    channels left must stay at least `round_to` (at least one) and a multiple of it."""
    channels = len(score)
    keep = _kept(channels, channels - count, round_to)
    return sorted(torch.sort(score, stable=True).indices[:channels - keep].tolist())


def tied(groups: list[ChannelGroup], scores: list[Tensor | None], removal: dict[str, list[int]],
         scope: str) -> float | None:
    """The fraction of the removed channels whose score equals that of a kept channel in the
    ranking that chose them (its group for scope "layer", every scored group for "global"): those
    were chosen by index, not by score. None when nothing was removed."""
    scored = [(g, s) for g, s in zip(groups, scores, strict=True) if s is not None]
    return tie_fraction([s for _, s in scored], [removal.get(g.root, []) for g, _ in scored], scope)


def tie_fraction(scores: list[Tensor], removed: list[list[int]], scope: str) -> float | None:
    """Of the channels `removed` from each group, the fraction whose score equals a kept one's
    in the ranking that chose them; None when nothing was removed."""
    ranked = [(s[gone], _keep(s, gone)) for s, gone in zip(scores, removed, strict=True)]
    if scope == "global":
        ranked = [(torch.cat([r for r, _ in ranked]), torch.cat([k for _, k in ranked]))]
    count = sum(len(r) for r, _ in ranked)
    if not count:
        return None
    return sum(int(torch.isin(r, k).sum()) for r, k in ranked) / count


def _keep(score: Tensor, removed: list[int]) -> Tensor:
    """The scores of the channels not in `removed`."""
    keep = torch.ones(len(score), dtype=torch.bool)
    keep[removed] = False
    return score[keep]


def _kept(channels: int, keep: int, round_to: int) -> int:
    """`keep` raised to at least one and to a multiple of `round_to`, at most `channels`."""
    step = max(1, round_to)
    return min(channels, max(step, math.ceil(max(keep, 1) / step) * step))
