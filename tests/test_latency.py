"""Latency: a median with its spread after warm-up, recorded with its conditions."""

from __future__ import annotations

import math

import pytest
import torch

from bench import models
from bench.metrics import latency


def test_measure_reports_median_spread_and_conditions():
    model = models.build("lenet5", (1, 8, 8), 10).train()
    lat = latency.measure(model, (1, 8, 8), batch_size=4, parallel=True,
                          min_run_time=0.01, max_run_time=0.05)
    assert lat.median_ms > 0 and lat.iqr_ms >= 0 and math.isfinite(lat.median_ms)
    assert lat.runs >= latency.MIN_SAMPLES and lat.per_run >= 1
    assert (lat.batch_size, lat.device, lat.parallel) == (4, "cpu", True)
    assert lat.threads == torch.get_num_threads()
    assert model.training  # mode restored


def test_row_fields_and_speedups():
    lat = latency.Latency(2.0, 0.1, 1, 7, 3, 1, "cpu", False)
    assert latency.figures(lat, "latency_dense") == {
        "latency_dense_ms": 2.0, "latency_dense_iqr_ms": 0.1, "latency_dense_runs": 7}
    row = {"latency_dense_ms": 2.0, "latency_ms": 0.5, "latency_dense_batch_ms": 10.0,
           "latency_batch_ms": 20.0}
    assert latency.speedups(row) == {"speedup_measured": 4.0, "speedup_measured_batch": 0.5}
    assert latency.speedups({"latency_ms": 1.0}) == {}


def test_bad_batch_size_is_refused():
    with pytest.raises(ValueError, match="batch_size"):
        latency.measure(models.build("mlp", (1, 8, 8), 10), (1, 8, 8), batch_size=0)


def test_alternating_measurement_times_each_model_on_the_same_schedule():
    from torch import nn

    small = nn.Sequential(nn.Linear(256, 8)).train()
    large = nn.Sequential(*[nn.Linear(256, 256) for _ in range(8)]).eval()
    a, b = latency.measure_alternating([small, large], (256,), batch_size=4, max_run_time=0.05)
    assert a.runs == b.runs >= latency.MIN_SAMPLES  # one sample of each per round
    assert a.median_ms < b.median_ms  # one layer is faster than eight
    assert small.training and not large.training  # each model keeps its mode
