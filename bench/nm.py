"""N:M sparsity: masks that keep at most N of every M consecutive input channels.

The groups are those of NVIDIA's apex (ASP, `m4n2_1d`) and cuSPARSELt. For a linear weight
(out, in) a group is M consecutive inputs of one output row. For a conv weight (out, in, kh, kw)
it is M consecutive input channels at one kernel position (out, kh, kw): the weight is read
channels-last, (out, kh, kw, in), as the sparse tensor cores' implicit GEMM reads it. The number
of input channels must be a multiple of M.
"""

from __future__ import annotations

import torch
from torch import Tensor

from bench.errors import BenchError


class InvalidPatternError(BenchError, ValueError):
    """A mask that breaks its declared N:M pattern; the message names the group that breaks it."""


def _channels_last(tensor: Tensor) -> Tensor:
    """`tensor` (out, in, *kernel) as (out, *kernel, in): input channels innermost."""
    return tensor.movedim(1, -1) if tensor.dim() > 2 else tensor


def groups(tensor: Tensor, m: int) -> Tensor:
    """`tensor` (out, in, ...) as (out, in_flat // m, m): its groups of M consecutive input
    channels, kernel position by kernel position (channels-last) for a conv."""
    rows = _channels_last(tensor).reshape(tensor.shape[0], -1)
    return rows.reshape(rows.shape[0], rows.shape[1] // m, m)


def _ungroup(grouped: Tensor, shape: torch.Size) -> Tensor:
    """The inverse of `groups`: (out, in_flat // m, m) back to a tensor of `shape`."""
    last = (shape[0], *shape[2:], shape[1])
    return grouped.reshape(last).movedim(-1, 1) if len(shape) > 2 else grouped.reshape(shape)


def check_pattern(n: int, m: int) -> None:
    """Refuse a pattern that is not 0 < N <= M."""
    if not (isinstance(n, int) and isinstance(m, int) and 0 < n <= m):
        raise InvalidPatternError(f"N:M pattern {n}:{m} is not valid: need integers 0 < N <= M")


def _where(shape: torch.Size, group: int, m: int) -> str:
    """Which weights group `group` of an output row holds, in words."""
    if len(shape) == 2:
        return f"input group {group} (inputs {group * m}..{group * m + m - 1})"
    per_position = shape[1] // m
    flat, position = group // per_position, []
    for size in reversed(shape[2:]):
        flat, index = divmod(flat, size)
        position.insert(0, index)
    first = group % per_position * m
    return (f"kernel position {tuple(position)}, input group {group} "
            f"(input channels {first}..{first + m - 1})")


def validate(masks: dict[str, Tensor], n: int, m: int, method: str) -> None:
    """Refuse masks that keep more than N in any group of M input channels, naming the
    parameter, the output row and the group that breaks the pattern."""
    check_pattern(n, m)
    for name, mask in masks.items():
        if not prunable(mask.shape, m):
            width = mask.shape[1] if mask.dim() > 1 else 0
            raise InvalidPatternError(
                f"method {method!r}, parameter {name!r}: its number of input channels ({width}) is "
                f"not a multiple of M={m}, so it cannot hold a {n}:{m} pattern; leave it out of "
                f"the masks")
        kept = groups(mask, m).sum(-1)
        bad = (kept > n).nonzero()
        if len(bad):
            row, group = bad[0].tolist()
            raise InvalidPatternError(
                f"method {method!r}, parameter {name!r}: output row {row}, "
                f"{_where(mask.shape, group, m)} keeps {int(kept[row, group])} of {m}, more than "
                f"N={n}; {len(bad)} group(s) break the {n}:{m} pattern")


def topn_mask(scores: Tensor, n: int, m: int) -> Tensor:
    """Keep exactly the N highest scores of every group of M input channels (ties: the lower
    channel), shaped like `scores`."""
    check_pattern(n, m)
    g = groups(scores, m)
    keep = torch.zeros_like(g, dtype=torch.bool)
    # a stable sort of the negated scores puts the highest first, the lower index first on ties
    top = torch.sort(-g, dim=-1, stable=True).indices[..., :n]
    keep.scatter_(-1, top, True)
    return _ungroup(keep, scores.shape)


def prunable(shape: torch.Size, m: int) -> bool:
    """True when a weight of `shape` can hold an N:M pattern (input channels a multiple of M)."""
    return len(shape) >= 2 and shape[1] % m == 0


def pattern_masks(scores: dict[str, Tensor], n: int, m: int) -> dict[str, Tensor]:
    """N:M masks (the N highest scores of every M) of each scored weight that can hold the
    pattern; the others are left out, so they keep every weight."""
    return {name: topn_mask(score, n, m) for name, score in scores.items() if prunable(score.shape, m)}
