"""Parameter counts: total and nonzero over every parameter, and the compression ratio."""

from __future__ import annotations

import torch
from torch import nn

from bench import models
from bench.metrics.size import compression, count_params


def test_lenet5_parameters():
    model = models.build("lenet5", (1, 28, 28), 10)
    total, nonzero = count_params(model)
    assert total == nonzero == 156 + 2416 + 48120 + 10164 + 850


def test_nonzeros_are_counted_on_the_weights():
    model = nn.Sequential(nn.Linear(10, 10), nn.BatchNorm1d(10))
    with torch.no_grad():
        model[0].weight[:5] = 0  # 50 of 100 weights
    total, nonzero = count_params(model)
    assert total == 100 + 10 + 10 + 10
    assert nonzero == 50 + 10 + 10  # batch norm's bias starts at zero
    assert compression(total, nonzero) == total / nonzero


def test_compression_of_an_all_zero_model_is_infinite():
    assert compression(10, 0) == float("inf")
    assert count_params(nn.Identity()) == (0, 0)
