"""Top-k selection: exact counts, deterministic ties, global pooling and per-layer selection."""

from __future__ import annotations

import pytest
import torch

from bench.select import global_topk, keep_count, kth_largest, layer_topk, topk_mask


def _reference(scores: torch.Tensor, k: int) -> torch.Tensor:
    """k largest by a stable sort: descending score, then ascending index."""
    flat = scores.reshape(-1)
    order = sorted(range(flat.numel()), key=lambda i: (-float(flat[i]), i))[:k]
    mask = torch.zeros(flat.numel(), dtype=torch.bool)
    mask[order] = True
    return mask.view_as(scores)


@pytest.mark.parametrize("k", [0, 1, 7, 50, 99, 100, 150])
def test_topk_matches_a_stable_sort_with_heavy_ties(k):
    scores = torch.randint(0, 4, (10, 10), generator=torch.Generator().manual_seed(0)).float()
    mask = topk_mask(scores, k)
    assert int(mask.sum()) == min(k, 100)
    assert torch.equal(mask, _reference(scores, min(k, 100)))


def test_all_equal_scores_keep_the_lowest_indices():
    assert topk_mask(torch.ones(6), 2).tolist() == [True, True, False, False, False, False]


def test_float64_scores_closer_than_float32_precision_are_counted_exactly():
    scores = 1.0 + torch.arange(1000, dtype=torch.float64) * 1e-12
    mask = topk_mask(scores, 10)
    assert int(mask.sum()) == 10 and bool(mask[-10:].all())


def test_half_precision_scores():
    scores = torch.arange(100, dtype=torch.float16)
    assert torch.equal(topk_mask(scores, 5), scores >= 95)


def test_nan_scores_name_the_layer():
    with pytest.raises(ValueError, match=r"conv\.weight"):
        global_topk({"conv.weight": torch.tensor([1.0, float("nan")])}, 0.5)


def test_global_topk_pools_layers_with_an_exact_count():
    g = torch.Generator().manual_seed(0)
    scores = {"a": torch.rand(30, 4, generator=g), "b": torch.rand(5, 3, 3, generator=g) + 0.5}
    masks = global_topk(scores, 0.25)
    assert sum(int(m.sum()) for m in masks.values()) == keep_count(165, 0.25) == 41
    flat = torch.cat([scores["a"].reshape(-1), scores["b"].reshape(-1)])
    kept = torch.cat([masks["a"].reshape(-1), masks["b"].reshape(-1)])
    assert flat[kept].min() >= flat[~kept].max()
    assert masks["b"].shape == (5, 3, 3)


def test_layer_topk_keeps_the_fraction_of_each_layer():
    g = torch.Generator().manual_seed(0)
    scores = {"a": torch.rand(40, generator=g), "b": torch.rand(10, 10, generator=g)}
    masks = layer_topk(scores, 0.1)
    assert int(masks["a"].sum()) == 4 and int(masks["b"].sum()) == 10
    assert scores["b"][masks["b"]].min() >= scores["b"][~masks["b"]].max()


@pytest.mark.parametrize("k", [1, 2, 1000, 123_457, 299_999, 300_000])
@pytest.mark.parametrize("kind", ["uniform", "ties", "layers"])
def test_kth_largest_is_exact_on_large_tensors(kind, k):
    g = torch.Generator().manual_seed(k)
    n = 300_000
    if kind == "uniform":
        values = torch.rand(n, generator=g)
    elif kind == "ties":
        values = torch.randint(0, 3, (n,), generator=g).float()
    else:  # layers of very different scales, concatenated
        values = torch.cat([torch.rand(n // 3, generator=g) * 10 ** e for e in (-3, 0, 3)])
    assert kth_largest(values, k) == torch.sort(values, descending=True).values[k - 1]
    mask = topk_mask(values, k)
    assert int(mask.sum()) == k
    assert k == n or values[mask].min() >= values[~mask].max()
