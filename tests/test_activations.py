"""Activation counts: output elements of conv and linear layers, total and nonzero, per input."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from bench import models
from bench.metrics.profile import count_activations, profile


def test_lenet5_totals_are_its_layer_outputs():
    model = models.build("lenet5", (1, 28, 28), 10)
    total, nonzero = count_activations(model, torch.randn(3, 1, 28, 28))
    assert total == 6 * 28 * 28 + 16 * 10 * 10 + 120 + 84 + 10
    assert 0 < nonzero <= total
    shapes = [c.output_shape for c in profile(model, torch.zeros(1, 1, 28, 28)).layers]
    assert shapes == [(6, 28, 28), (16, 10, 10), (120,), (84,), (10,)]


def test_nonzero_is_a_per_input_mean_of_the_layer_outputs():
    fc = nn.Linear(4, 6)
    with torch.no_grad():
        fc.weight.zero_()
        fc.bias.copy_(torch.tensor([1.0, 0, 0, 2.0, 0, 0]))
    model = nn.Sequential(fc, nn.ReLU(), nn.Linear(6, 2))
    x = torch.randn(4, 4)
    total, nonzero = count_activations(model, x)
    second = model[2](torch.relu(fc(x)))
    assert total == 6 + 2
    assert nonzero == pytest.approx(2 + int(torch.count_nonzero(second)) / 4)


def test_reused_layer_counts_every_call():
    conv = nn.Conv2d(2, 2, 1)
    model = nn.Sequential(conv, conv)  # the same module twice
    [layer] = profile(model, torch.randn(1, 2, 5, 5)).layers
    assert layer.calls == 2 and layer.activations == 2 * 2 * 25


def test_meta_device_gives_totals_without_nonzeros():
    with torch.device("meta"):
        model = models.build("mlp", (1, 8, 8), 10)
        total, nonzero = count_activations(model, torch.zeros(1, 1, 8, 8))
    assert total == 300 + 100 + 10 and nonzero is None


def test_empty_batch_is_refused():
    with pytest.raises(ValueError, match="at least one input"):
        profile(nn.Linear(2, 2), torch.zeros(0, 2))
