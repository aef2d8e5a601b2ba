"""N:M sparsity: masks that keep at most N of every M consecutive weights along the input dimension.

The input dimension of a linear weight (out, in) is `in`; of a conv weight (out, in, kh, kw) it is
`in * kh * kw` flattened in that order (the reduction dimension of the GEMM the kernel runs), which
is the layout sparse tensor cores expect. Its length must be a multiple of M.
"""

from __future__ import annotations

import torch
from torch import Tensor

from bench.errors import BenchError


class InvalidPatternError(BenchError, ValueError):
    """A mask that breaks its declared N:M pattern; the message names the group that breaks it."""


def groups(tensor: Tensor, m: int) -> Tensor:
    """`tensor` (out, in, ...) as (out, in_flat // m, m): the groups of M along the input dimension."""
    flat = tensor.reshape(tensor.shape[0], -1)
    return flat.reshape(flat.shape[0], flat.shape[1] // m, m)


def check_pattern(n: int, m: int) -> None:
    """Refuse a pattern that is not 0 < N <= M."""
    if not (isinstance(n, int) and isinstance(m, int) and 0 < n <= m):
        raise InvalidPatternError(f"N:M pattern {n}:{m} is not valid: need integers 0 < N <= M")


def validate(masks: dict[str, Tensor], n: int, m: int, method: str) -> None:
    """Refuse masks that keep more than N in any group of M along the input dimension, naming the
    parameter, the output row and the group that breaks the pattern."""
    check_pattern(n, m)
    for name, mask in masks.items():
        width = mask[0].numel() if mask.dim() > 1 else 0
        if mask.dim() < 2 or width % m:
            raise InvalidPatternError(
                f"method {method!r}, parameter {name!r}: its input dimension ({width}) is not a "
                f"multiple of M={m}, so it cannot hold a {n}:{m} pattern; leave it out of the masks")
        kept = groups(mask, m).sum(-1)
        bad = (kept > n).nonzero()
        if len(bad):
            row, group = bad[0].tolist()
            raise InvalidPatternError(
                f"method {method!r}, parameter {name!r}: output row {row}, input group {group} "
                f"(inputs {group * m}..{group * m + m - 1} of the flattened input dimension) keeps "
                f"{int(kept[row, group])} of {m}, more than N={n}; {len(bad)} group(s) break the "
                f"{n}:{m} pattern")


def topn_mask(scores: Tensor, n: int, m: int) -> Tensor:
    """Keep exactly the N highest scores of every group of M along the input dimension (ties:
    the lower index), shaped like `scores`."""
    check_pattern(n, m)
    g = groups(scores, m)
    keep = torch.zeros_like(g, dtype=torch.bool)
    # a stable sort of the negated scores puts the highest first, the lower index first on ties
    top = torch.sort(-g, dim=-1, stable=True).indices[..., :n]
    keep.scatter_(-1, top, True)
    return keep.reshape(scores.shape)


def prunable(shape: torch.Size, m: int) -> bool:
    """True when a weight of `shape` can hold an N:M pattern (input dimension a multiple of M)."""
    return len(shape) >= 2 and (torch.Size(shape)[1:].numel() % m == 0)


def pattern_masks(scores: dict[str, Tensor], n: int, m: int) -> dict[str, Tensor]:
    """N:M masks (the N highest scores of every M) of each scored weight that can hold the
    pattern; the others are left out, so they keep every weight."""
    return {name: topn_mask(score, n, m) for name, score in scores.items() if prunable(score.shape, m)}
