"""Selection rules of the language-model methods: per-row, per-layer and N:M, ties by seed."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from bench import nm
from bench.select import layer_select, row_select, tie_ranks


def _ctx(keep: float, pattern=None, seed: int | None = 0):
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    return SimpleNamespace(keep_fraction=keep, pattern=pattern, generator=generator)


def test_tie_ranks_follow_scores_and_break_ties_by_seed():
    scores = torch.tensor([[1.0, 1.0, 1.0, 1.0, 0.0, 2.0]])
    ranks = [tie_ranks(scores, torch.Generator().manual_seed(s)) for s in range(8)]
    for r in ranks:
        assert sorted(r[0].tolist()) == list(range(6))
        assert r[0, 5] == 5 and r[0, 4] == 0  # the highest and lowest scores stay in place
    assert len({tuple(r[0, :4].tolist()) for r in ranks}) > 1  # the seed decides the ties
    assert tie_ranks(scores, None)[0, :4].tolist() == [4, 3, 2, 1]  # no generator: lower index first


def test_row_select_keeps_exactly_per_row():
    scores = {"w": torch.randn(16, 40)}
    mask = row_select(scores, _ctx(0.3))["w"]
    assert mask.sum(1).tolist() == [12] * 16
    kept_min = (scores["w"].masked_fill(~mask, float("inf"))).min(1).values
    dropped_max = (scores["w"].masked_fill(mask, -float("inf"))).max(1).values
    assert bool((kept_min >= dropped_max).all())


def test_layer_select_is_exact_and_ranked():
    scores = {"a": torch.randn(10, 10), "b": torch.randn(3, 7)}
    masks = layer_select(scores, _ctx(0.5))
    assert int(masks["a"].sum()) == 50 and int(masks["b"].sum()) == 10
    assert scores["a"][masks["a"]].min() >= scores["a"][~masks["a"]].max()


@pytest.mark.parametrize("pattern", [(2, 4), (4, 8)])
def test_pattern_selection_holds_the_pattern(pattern):
    scores = {"w": torch.randn(8, 32)}
    for select in (row_select, layer_select):
        mask = select(scores, _ctx(0.5, pattern))["w"]
        nm.validate({"w": mask}, *pattern, "test")
        assert int(mask.sum()) == 8 * 32 * pattern[0] // pattern[1]


def test_all_equal_scores_depend_on_the_seed_only():
    scores = {"w": torch.ones(4, 64)}
    a = row_select(scores, _ctx(0.5, seed=0))["w"]
    assert torch.equal(a, row_select(scores, _ctx(0.5, seed=0))["w"])
    assert not torch.equal(a, row_select(scores, _ctx(0.5, seed=1))["w"])


def test_pattern_ties_are_drawn_by_the_seed_and_hold_the_pattern():
    scores = {"w": torch.ones(4, 16)}
    a = row_select(scores, _ctx(0.5, (2, 4), seed=0))["w"]
    nm.validate({"w": a}, 2, 4, "test")
    assert torch.equal(a, row_select(scores, _ctx(0.5, (2, 4), seed=0))["w"])
    assert not torch.equal(a, row_select(scores, _ctx(0.5, (2, 4), seed=1))["w"])
    first = row_select(scores, _ctx(0.5, (2, 4), seed=None))["w"]  # no generator: lower index
    assert first[0, :4].tolist() == [True, True, False, False]
