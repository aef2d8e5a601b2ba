"""Top-k mask selection over scores, global or per layer, with exact counts and stable ties."""

from __future__ import annotations

import torch
from torch import Tensor


def keep_count(size: int, fraction: float) -> int:
    """Number of entries to keep out of `size` at `fraction`, rounded to nearest."""
    return max(0, min(size, round(fraction * size)))


def topk_mask(scores: Tensor, k: int) -> Tensor:
    """Boolean mask of exactly `k` largest entries of `scores`; among equal scores the
    lower flat index wins, so the result is deterministic. NaN scores are an error."""
    flat = scores.detach().reshape(-1)
    if bool(torch.isnan(flat).any()):
        raise ValueError("scores contain NaN; a score must be comparable for every weight")
    return _topk_flat(flat, k).view(scores.shape)


def _topk_flat(flat: Tensor, k: int) -> Tensor:
    n = flat.numel()
    if k >= n:
        return torch.ones_like(flat, dtype=torch.bool)
    if k <= 0:
        return torch.zeros_like(flat, dtype=torch.bool)
    # kthvalue runs on float32/float64 natively; other types widen to float32/64 exactly.
    if flat.dtype not in (torch.float32, torch.float64):
        flat = flat.double() if flat.dtype in (torch.int32, torch.int64) else flat.float()
    threshold = kth_largest(flat, k)
    mask = flat > threshold
    missing = k - int(torch.count_nonzero(mask))
    if missing > 0:  # ties at the threshold: the first `missing` of them by index
        ties = torch.nonzero(flat == threshold).squeeze(1)[:missing]
        mask[ties] = True
    return mask


SAMPLE = 65_536  # entries sampled to bracket the threshold before the exact search


def kth_largest(values: Tensor, k: int) -> Tensor:
    """The exact k-th largest entry of the 1-d `values` (1 <= k <= numel).

    A strided sample brackets it in a narrow band; the exact search then runs on the band only.
    The sample decides speed, never the answer: if the band misses, the whole tensor is searched.
    """
    n = values.numel()
    if n <= 4 * SAMPLE:
        return torch.kthvalue(values, n - k + 1).values
    sample = values[:: n // SAMPLE]
    m = sample.numel()
    rank = k * m / n  # expected rank from the top within the sample
    margin = 4 * (rank * (1 - rank / m)) ** 0.5 + 8
    hi_rank, lo_rank = max(1, int(rank - margin)), min(m, int(rank + margin) + 1)
    hi = torch.kthvalue(sample, m - hi_rank + 1).values  # above the target (or the max)
    lo = torch.kthvalue(sample, m - lo_rank + 1).values
    above = int(torch.count_nonzero(values > hi))
    band = values[(values >= lo) & (values <= hi)]
    if above < k <= above + band.numel():
        return torch.kthvalue(band, band.numel() - (k - above) + 1).values
    return torch.kthvalue(values, n - k + 1).values


def _check(scores: dict[str, Tensor]) -> None:
    """Name the layer whose scores cannot be ranked (a sum is NaN only if an entry is NaN or
    +inf meets -inf, so one cheap reduction per layer screens before the exact check)."""
    if not scores:
        raise ValueError("no scores to select from (the model has no prunable weights)")
    for name, s in scores.items():
        if not isinstance(s, Tensor):
            raise TypeError(f"scores of {name!r} must be a Tensor, got {type(s).__name__}")
        if s.is_floating_point() and bool(torch.isnan(s.sum())) and bool(torch.isnan(s).any()):
            raise ValueError(f"scores of {name!r} contain NaN; a score must be comparable "
                             "for every weight")


def global_topk(scores: dict[str, Tensor], fraction: float) -> dict[str, Tensor]:
    """Keep the `fraction` of highest scores pooled over every layer (exactly
    round(fraction * total) entries; ties broken by layer order, then index)."""
    _check(scores)
    flat = torch.cat([s.detach().reshape(-1) for s in scores.values()])
    mask = _topk_flat(flat, keep_count(flat.numel(), fraction))
    parts = mask.split([s.numel() for s in scores.values()])
    return {name: part.view(s.shape) for (name, s), part in zip(scores.items(), parts, strict=True)}


def layer_topk(scores: dict[str, Tensor], fraction: float) -> dict[str, Tensor]:
    """Keep the `fraction` of highest scores within each layer separately
    (exactly round(fraction * layer size) entries per layer)."""
    _check(scores)
    return {name: _topk_flat(s.detach().reshape(-1), keep_count(s.numel(), fraction)).view(s.shape)
            for name, s in scores.items()}


def tie_ranks(scores: Tensor, generator: torch.Generator | None) -> Tensor:
    """Rank of each entry within its row (last dimension), lowest score 0, as float64: equal
    scores are ordered by a random draw from `generator` (so that the case's seed breaks ties and
    the spread over seeds shows what ties do), or by the lower index first when it is None."""
    s = scores.detach().reshape(-1, scores.shape[-1])
    if generator is None:
        order = torch.sort(s, dim=-1, stable=True, descending=True).indices.flip(-1)
    else:
        shuffle = torch.rand(s.shape, generator=generator, device=generator.device).to(s.device)
        first = shuffle.argsort(dim=-1)
        order = first.gather(-1, s.gather(-1, first).argsort(dim=-1, stable=True))
    ranks = torch.empty_like(s, dtype=torch.float64)
    ranks.scatter_(-1, order, torch.arange(s.shape[-1], device=s.device, dtype=torch.float64)
                   .expand_as(s).contiguous())
    return ranks.view(scores.shape)


def top_per_row(scores: Tensor, k: int, generator: torch.Generator | None) -> Tensor:
    """Mask of the `k` highest entries of each row of a 2-d `scores`: the k-th value found by
    kthvalue, then among the entries equal to it as many as are missing, drawn by `generator`
    (lower index first when it is None). No full sort: ties are drawn among the tied only."""
    rows, n = scores.shape
    if k >= n:
        return torch.ones_like(scores, dtype=torch.bool)
    if k <= 0:
        return torch.zeros_like(scores, dtype=torch.bool)
    s = scores.detach() if scores.is_floating_point() else scores.detach().double()
    threshold = s.kthvalue(n - k + 1, dim=-1, keepdim=True).values
    keep = s > threshold
    tie = s == threshold
    missing = k - keep.sum(-1, keepdim=True)
    if generator is None:
        return keep | (tie & (tie.cumsum(-1) <= missing))
    key = torch.rand(s.shape, generator=generator, device=generator.device, dtype=torch.float64)
    key = key.to(s.device).masked_fill(~tie, -1.0)
    if rows == 1:  # one row (a whole layer): a second kthvalue, however many ties
        m = int(missing)
        return keep | (key >= key.kthvalue(n - m + 1, dim=-1, keepdim=True).values)
    most = int(missing.max())
    chosen = key.topk(most, dim=-1).indices
    picked = torch.zeros_like(keep)
    picked.scatter_(-1, chosen, torch.arange(most, device=s.device).expand(rows, most) < missing)
    return keep | (picked & tie)


def group_ranks(scores: Tensor, m: int, generator: torch.Generator | None) -> Tensor:
    """Rank of each entry of a 2-d `scores` (out, in) within its group of `m` consecutive inputs
    (0 = lowest; ties drawn by `generator`, or the lower index first), shaped like `scores`:
    unique within every group. Counted by comparing each entry with the m - 1 others of its
    group, which for small m beats sorting every group."""
    out, width = scores.shape
    g = scores.detach().reshape(-1, m)
    if generator is None:
        tiebreak = -torch.arange(m, device=g.device, dtype=torch.float64).expand_as(g)
    else:
        tiebreak = torch.rand(g.shape, generator=generator, device=generator.device,
                              dtype=torch.float64).to(g.device)
    a, b = g.unsqueeze(-1), g.unsqueeze(-2)  # a: the entry ranked, b: the others of its group
    below = (b < a) | ((b == a) & (tiebreak.unsqueeze(-2) < tiebreak.unsqueeze(-1)))
    return below.sum(-1).to(torch.float64).view(out, width)


def top_per_group(scores: Tensor, n: int, m: int, generator: torch.Generator | None) -> Tensor:
    """Mask of the `n` highest of every `m` consecutive entries of each row: by topk when no
    group holds a tie (the common case for activation-weighted scores), else by group_ranks."""
    g = scores.detach().reshape(-1, m)
    ordered = g.sort(dim=-1).values
    if bool((ordered[:, 1:] == ordered[:, :-1]).any()):
        return group_ranks(scores, m, generator) >= m - n
    keep = torch.zeros_like(g, dtype=torch.bool)
    keep.scatter_(-1, g.topk(n, dim=-1).indices, True)
    return keep.view(scores.shape)


def row_select(scores: dict[str, Tensor], ctx) -> dict[str, Tensor]:
    """Masks comparing weights within each output row (Wanda's rule): exactly
    round(ctx.keep_fraction * in) kept per row, or ctx.pattern's N of every M inputs; ties broken
    by ctx.generator."""
    _check(scores)
    out = {}
    pattern = getattr(ctx, "pattern", None)
    for name, s in scores.items():
        flat = s.reshape(s.shape[0], -1)
        if pattern and s.dim() == 2:  # a linear weight: groups of M consecutive inputs
            out[name] = top_per_group(flat, *pattern, ctx.generator)
        elif pattern:  # a convolution: bench.nm groups its input channels at each kernel position
            from bench.nm import topn_mask

            out[name] = topn_mask(tie_ranks(flat, ctx.generator).view(s.shape), *pattern)
        else:
            out[name] = top_per_row(flat, keep_count(flat.shape[1], ctx.keep_fraction),
                                    ctx.generator).view(s.shape)
    return out


def layer_select(scores: dict[str, Tensor], ctx) -> dict[str, Tensor]:
    """Masks keeping exactly round(ctx.keep_fraction * size) of each layer, or ctx.pattern's N of
    every M inputs when the case has a pattern; ties broken by ctx.generator."""
    _check(scores)
    if getattr(ctx, "pattern", None):
        return row_select(scores, ctx)
    return {name: top_per_row(s.reshape(1, -1), keep_count(s.numel(), ctx.keep_fraction),
                              ctx.generator).view(s.shape)
            for name, s in scores.items()}
