"""Structured, N:M and scratch cases end to end: rows with their channels, targets, tolerance,
latency sweep and realisation gap, that the checks accept and the database stores."""

from __future__ import annotations

import pytest

from bench.harness.case import Case
from bench.harness.channels import TiedScoresWarning
from bench.harness.checks import assert_sound
from bench.harness.env import BenchEnv
from bench.harness.run import run_case
from bench.results.store import Store
from bench.training.zoo import Zoo


@pytest.fixture(scope="module")
def env(shared_cache):
    return BenchEnv(zoo=Zoo(shared_cache), methods_dir="methods", measure_latency=False)


def _run(env, case: Case, tmp_path) -> dict:
    row = run_case(case, env, {})
    assert_sound(case, row)
    store = Store(tmp_path / "r.duckdb")  # the database takes every key of the row
    store.write_case(row | {"run_id": "r", "nodeid": case.id, "status": "passed"})
    store.close()
    return row


def test_a_channel_case_removes_channels_and_records_them(env, tmp_path):
    case = Case("channel_l1", "digits", "lenet5", 2)
    timed = BenchEnv(zoo=env.zoo, methods_dir="methods", measure_latency=True)
    row = _run(timed, case, tmp_path)
    layers = {entry["layer"]: entry for entry in row["layers"]}
    assert layers["fc3"]["out_channels"] == layers["fc3"]["out_channels_dense"] == 10
    assert any(e["out_channels"] < e["out_channels_dense"] for e in layers.values())
    assert all(e["pruned"] == ((e["in_channels"], e["out_channels"])
                               != (e["in_channels_dense"], e["out_channels_dense"]))
               for e in layers.values())
    assert row["params_total"] == row["params_nonzero"] < row["params_dense"]  # really smaller
    assert row["method_kind"] == "channel" and row["latency_backend"] == "dense"
    assert [s["batch"] for s in row["latency_sweep"]] == [1, 32, 256]
    assert row["latency_batch_size"] == 256 and row["latency_threads"] >= 1
    assert row["realisation_gap"] == pytest.approx(row["speedup_measured"]
                                                   / row["speedup_theoretical"])
    assert row["latency_dtype"] == "float32" and row["target_tolerance"] >= 0.02


TIED = '''"""Every channel scores 1: which channels go is left to the index."""

import torch

KIND = "channel"


def prune(model, compression, ctx):
    """The same score for every output channel."""
    return {name: torch.ones(p.shape[0]) for name, p in ctx.prunable.items()}
'''


def test_a_channel_method_whose_scores_all_tie_warns_on_its_row(env, tmp_path):
    methods = tmp_path / "methods"
    methods.mkdir()
    (methods / "channel_tied.py").write_text(TIED)
    tied_env = BenchEnv(zoo=env.zoo, methods_dir=str(methods), measure_latency=False)
    with pytest.warns(TiedScoresWarning, match=r"channel_tied.*100% of the removed channels"):
        row = _run(tied_env, Case("channel_tied", "digits", "lenet5", 2, target="macs"), tmp_path)
    assert row["channel_ties"] == 1.0
    store = Store(tmp_path / "r.duckdb")
    assert store.con.execute("SELECT channel_ties FROM results").fetchall() == [(1.0,)]
    store.close()
    scored = run_case(Case("channel_l1", "digits", "lenet5", 2), env, {})
    assert scored["channel_ties"] == 0.0


def test_a_mac_target_is_met_by_channel_and_mask_methods(env, tmp_path):
    for method in ("channel_taylor_layer", "magnitude_global"):
        case = Case(method, "digits", "lenet5", 2, target="macs")
        assert case.id.endswith("-macs")
        row = _run(env, case, tmp_path)
        assert row["target"] == "macs"
        assert row["speedup_theoretical"] == pytest.approx(2, rel=row["target_tolerance"])


def test_an_nm_case_names_its_pattern_and_the_backend_that_ran(env, tmp_path):
    timed = BenchEnv(zoo=env.zoo, methods_dir="methods", measure_latency=True)
    row = _run(timed, Case("nm_magnitude", "digits", "lenet5", 2), tmp_path)
    assert row["nm_pattern"] == "2:4" and row["latency_backend"] == "dense-masked"
    assert row["latency_semistructured_ms"] is None  # no semi-structured kernels here
    assert row["pruned_weights_zero"]


def test_the_scratch_control_retrains_the_pruned_architecture_from_new_weights(env, tmp_path):
    case = Case("channel_l1", "digits", "lenet5", 2, protocol="scratch")
    row = _run(env, case, tmp_path)
    oneshot = run_case(Case("channel_l1", "digits", "lenet5", 2), env, {})
    assert row["protocol"] == "scratch" and row["reinitialised"]
    assert {e["phase"] for e in row["epochs"]} == {"scratch"}
    assert row["pretrain_recipe"] != row["finetune_recipe"]
    assert row["params_total"] == oneshot["params_total"]  # the same pruned architecture
    assert row["top1"] != oneshot["top1"]


def test_a_mac_target_search_steps_back_from_compressions_the_method_refuses():
    from bench.context import UnreachableCompressionError
    from bench.harness import targets
    from bench.masks import InvalidMaskError

    def prune_at(c: float) -> dict:  # MACs fall as 1/c; past 100x the method refuses
        if c > 100:
            raise InvalidMaskError("every weight of the layer is pruned")
        return {"c": c}

    masks, asked, reached = targets.search(prune_at, lambda m: 1000 / m["c"], 1000, 4, 1e6)
    assert reached == pytest.approx(4, rel=1e-3) and asked == pytest.approx(4, rel=1e-3)
    assert masks == {"c": asked}
    with pytest.raises(UnreachableCompressionError, match="out of reach"):
        targets.search(prune_at, lambda m: 1000 / m["c"], 1000, 400, 1e6)
