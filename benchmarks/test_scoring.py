"""Magnitude scoring and top-k mask selection over a torchvision ResNet-50 (random weights)."""

from __future__ import annotations

import pytest
import torch

from bench.context import build_context
from bench.scores import magnitude
from bench.select import global_topk, keep_count, layer_topk

pytestmark = pytest.mark.benchmark(group="scoring")

SELECT = {"global": global_topk, "layer": layer_topk}


@pytest.mark.parametrize("selection", ["global", "layer"])
@pytest.mark.parametrize("ratio", [2, 4, 10])  # the classifier and batch norms cap resnet50 at 12.2x
def test_magnitude_topk(benchmark, resnet50, ratio, selection):
    """bench.scores.magnitude then global_topk / layer_topk over resnet50's prunable weights."""
    batch = (torch.zeros(1, 3, 224, 224), torch.zeros(1, dtype=torch.long))
    ctx = build_context(resnet50, ratio, batch, 0)
    select = SELECT[selection]
    masks = benchmark.pedantic(lambda: select(magnitude(ctx), ctx.keep_fraction),
                               rounds=5, warmup_rounds=1, iterations=1)
    sizes = [p.numel() for p in ctx.prunable.values()]
    kept = sum(int(m.sum()) for m in masks.values())
    if selection == "global":
        assert kept == keep_count(sum(sizes), ctx.keep_fraction)
    else:
        assert kept == sum(keep_count(n, ctx.keep_fraction) for n in sizes)
