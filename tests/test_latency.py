"""Latency: a median with its spread after warm-up, recorded with its conditions."""

from __future__ import annotations

import math

import pytest

from bench import models
from bench.metrics import latency


def test_measure_reports_median_spread_and_conditions():
    model = models.build("lenet5", (1, 8, 8), 10).train()
    lat = latency.measure(model, (1, 8, 8), batch_size=4, parallel=True,
                          min_run_time=0.01, max_run_time=0.05)
    assert lat.median_ms > 0 and lat.iqr_ms >= 0 and math.isfinite(lat.median_ms)
    assert lat.runs >= latency.MIN_SAMPLES and lat.per_run >= 1
    assert (lat.batch_size, lat.device, lat.parallel) == (4, "cpu", True)
    assert lat.threads == latency.THREADS  # fixed, whatever the process uses
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


def test_the_a_a_check_flags_a_spread_or_a_biased_pair():
    def lat(median, iqr=0.0):
        return latency.Latency(median, iqr, 1, 5, 1, 1, "cpu", False)

    assert latency.instability(lat(1.0), lat(1.05), lat(1.0)) is None
    assert "A/A 1.30" in latency.instability(lat(1.3), lat(1.0), lat(1.0))
    assert "IQR" in latency.instability(lat(1.0), lat(1.0), lat(1.0, iqr=0.9))
    both = latency.pooled(latency.Latency(1, 0, 1, 2, 1, 1, "cpu", False, (1.0, 3.0)),
                          latency.Latency(2, 0, 1, 1, 1, 1, "cpu", False, (2.0,)))
    assert (both.median_ms, both.runs, both.samples) == (2.0, 3, (1.0, 3.0, 2.0))


def test_a_case_times_the_dense_model_against_itself_and_flags_its_speedup():
    from bench.harness import measure

    dense = models.build("lenet5", (1, 8, 8), 10).eval()
    out = measure.latencies(dense, dense, (1, 8, 8), parallel=False, batches=(1, 16))
    assert out["latency_threads"] == latency.THREADS
    assert out["latency_aa"] > 0 and out["latency_aa_batch"] > 0
    reason = out["latency_unstable_reason"] or ""
    assert out["latency_stable"] is ("batch 1:" not in reason)
    assert out["latency_batch_stable"] is ("batch 16:" not in reason)
    assert [s["batch"] for s in out["latency_sweep"]] == [1, 16] and out["latency_batch_size"] == 16
    if out["latency_stable"]:  # the same model: a stable figure is near 1
        assert 0.7 < out["speedup_measured"] < 1.4


def test_unstable_speedups_are_left_out_of_summaries():
    from bench.analysis import aggregate

    rows = [{"method": "m", "ratio": 1, "status": "passed", "speedup_measured": s, "run_id": "r",
             "latency_stable": ok, "latency_unstable_reason": None if ok else
             "batch 1: A/A 1.50 outside [0.91, 1.10]"} for s, ok in ((1.0, True), (9.0, False))]
    line = aggregate.aggregate(rows, ("method", "ratio"))[0]
    assert line["speedup_measured_mean"] == 1.0 and line["n"] == 2
    assert aggregate.summary(rows)["latency_unstable"] == {"batch 1: A/A": 1}
