"""A case's row carries every metric, consistent with its per-layer counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.harness.case import Case
from bench.harness.env import BenchEnv
from bench.harness.run import run_case
from bench.results.schema import RESULT_COLUMNS
from bench.training.zoo import Zoo

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.xdist_group("case_metrics")  # one worker runs the module's case, once

METRICS = [
    "top1", "top5", "top1_dense", "top5_dense", "params_total", "params_nonzero", "params_dense",
    "compression", "sparsity", "macs_total", "macs_nonzero", "macs_dense", "macs_other",
    "speedup_theoretical", "activations_total", "activations_nonzero",
    "latency_ms", "latency_iqr_ms", "latency_runs", "latency_batch_ms", "latency_batch_iqr_ms",
    "latency_batch_runs", "latency_batch_size", "latency_dense_ms", "latency_dense_iqr_ms",
    "latency_dense_runs", "latency_dense_batch_ms", "latency_dense_batch_iqr_ms",
    "latency_dense_batch_runs", "speedup_measured", "speedup_measured_batch",
    "latency_parallel", "device", "threads",
]


@pytest.fixture(scope="module")
def row(shared_cache):
    env = BenchEnv(zoo=Zoo(shared_cache), methods_dir=str(REPO / "methods"))
    return run_case(Case("magnitude_layer", "digits", "lenet5", 4.0), env, {})


def test_row_has_every_metric_as_a_column(row):
    missing = [m for m in METRICS if row.get(m) is None]
    assert not missing, f"metrics missing from the row: {missing}"
    assert not [m for m in METRICS if m not in RESULT_COLUMNS]


def test_row_totals_match_its_layers(row):
    layers = row["layers"]
    assert row["macs_total"] == sum(c["macs"] for c in layers) + row["macs_other"]
    assert row["macs_nonzero"] == sum(c["macs_nonzero"] for c in layers) + row["macs_other"]
    assert row["macs_total"] == row["macs_dense"] and row["params_total"] == row["params_dense"]
    assert row["speedup_theoretical"] == row["macs_total"] / row["macs_nonzero"] > 1
    assert row["activations_total"] == sum(c["activations"] for c in layers)
    assert 0 < row["activations_nonzero"] <= row["activations_total"]
    for c in layers:  # nonzero MACs follow each layer's weight density
        assert c["macs_nonzero"] == round(c["macs"] * c["nonzero"] / c["params"])


def test_row_latency_is_flagged_and_consistent(row):
    assert row["latency_parallel"] is False and row["latency_batch_size"] == 256
    assert row["speedup_measured"] == row["latency_dense_ms"] / row["latency_ms"]
    assert row["latency_runs"] >= 5 and row["latency_iqr_ms"] >= 0


def test_every_key_of_a_real_row_has_a_column(tmp_path, row):
    """A case's row, with its layers and epochs, is stored whole: no key is dropped."""
    from bench.results.store import Store

    assert row["epochs"] and {e["phase"] for e in row["epochs"]} == {"finetune"}
    assert row["train_steps"] > 0 and row["train_examples"] > 0 and row["prune_seconds"] > 0
    store = Store(tmp_path / "r.duckdb")
    store.write_case(row | {"run_id": "r", "nodeid": "n", "status": "passed"})
    stored = store.con.execute("SELECT count(*), max(activations), max(calls) FROM layers").fetchone()
    assert stored[0] == len(row["layers"]) and stored[1] > 0 and stored[2] == 1
    assert row["pretrained_sha256"] and row["case_key"] == Case("magnitude_layer", "digits", "lenet5", 4).key
    phases = store.con.execute("SELECT DISTINCT phase FROM epochs").fetchall()
    assert phases == [("finetune",)]
    store.close()
