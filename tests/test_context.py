"""PruneContext: prunable weights, ShrinkBench's fraction to keep, and the seeded generator."""

from __future__ import annotations

import pytest
import torch

from bench import models
from bench.context import UnreachableCompressionError, build_context, keep_fraction, prunable_parameters
from bench.masks import apply
from bench.metrics.size import count_params
from bench.scores import magnitude
from bench.select import global_topk


def _lenet():
    torch.manual_seed(0)
    return models.build("lenet5", (1, 28, 28), 10)


def test_prunable_weights_exclude_the_classifier_and_biases():
    model = _lenet()
    assert list(prunable_parameters(model)) == ["conv1.weight", "conv2.weight", "fc1.weight",
                                                "fc2.weight"]
    assert "fc3.weight" in prunable_parameters(model, include_classifier=True)


@pytest.mark.parametrize("ratio", [1, 2, 4, 8, 16, 32])
def test_keep_fraction_brings_the_whole_model_to_the_ratio(ratio):
    model = _lenet()
    prunable = prunable_parameters(model)
    fraction = keep_fraction(model, prunable, ratio)
    total = sum(p.numel() for p in model.parameters())
    fixed = total - sum(p.numel() for p in prunable.values())
    assert fixed + fraction * (total - fixed) == pytest.approx(total / ratio)
    apply(model, global_topk(magnitude(build_context(model, ratio, _batch(), 0)), fraction))
    t, nonzero = count_params(model)
    assert t / nonzero == pytest.approx(ratio, rel=1e-3)


def _batch():
    return torch.rand(4, 1, 28, 28), torch.zeros(4, dtype=torch.long)


def test_unreachable_compression_says_how_far_it_can_go():
    model = _lenet()
    with pytest.raises(UnreachableCompressionError, match=r"at most [\d.]+x.*include the classifier"):
        keep_fraction(model, prunable_parameters(model), 1000)


@pytest.mark.parametrize("bad", [0.5, float("nan"), float("inf")])
def test_invalid_compression_is_an_error(bad):
    model = _lenet()
    with pytest.raises(ValueError, match="compression must be"):
        keep_fraction(model, prunable_parameters(model), bad)


def test_the_generator_is_seeded_and_the_batch_on_the_model_device():
    model = _lenet()
    a, b = build_context(model, 4, _batch(), 5), build_context(model, 4, _batch(), 5)
    assert torch.equal(torch.rand(8, generator=a.generator), torch.rand(8, generator=b.generator))
    assert a.batch[0].device == a.device and a.classifier == "fc3"
