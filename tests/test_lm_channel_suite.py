"""Structured pruning of a language model end to end through the plugin: smaller models with their
rows in DuckDB, the target met in MACs per token and in parameters, kept models that load again
with identical logits and are timed again, and the refusals."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import torch

from tests.test_plugin import rows, run_suite

pytestmark = [pytest.mark.xdist_group("lm"), pytest.mark.slow]

SUITE = '''
import pytest

from bench.harness import grid
from bench.harness.checks import assert_sound

FIXED = dict(datasets=["shakespeare"], archs=["tiny_gpt"], seeds=[0], calibration_size=8)
CASES = grid.cases(methods=["channel_magnitude", "channel_activation_layer", "channel_taylor",
                            "channel_random"], ratios=[1.5], target="macs", round_to=8, **FIXED)
CASES += grid.cases(methods=["channel_magnitude_layer"], ratios=[1.3], **FIXED)  # parameters
CASES += grid.cases(methods=["channel_l1"], ratios=[1.5], **FIXED)  # conv nets only: refused
CASES += grid.cases(methods=["channel_magnitude"], ratios=[2], pattern="2:4", **FIXED)  # refused
RECOVER = "recover:steps=30,lr=0.001,batch=8"
CASES += grid.cases(methods=["channel_magnitude"], ratios=[1.5], target="macs", round_to=8,
                    protocol=RECOVER, **FIXED)
CASES += grid.cases(methods=["wanda"], ratios=[2], protocol=RECOVER, **FIXED)


@pytest.mark.parametrize("case", CASES)
def test_prune(case, bench_case):
    assert_sound(case, bench_case(case))
'''


@pytest.fixture(scope="module")
def channel_run(tmp_path_factory, shared_cache):
    """The tiny structured suite, its models kept."""
    tmp = tmp_path_factory.mktemp("lm-channel")
    db = tmp / "lm.duckdb"
    code, out = run_suite(SUITE, tmp / "suite", db, shared_cache,
                          "--bench-save-models", str(tmp / "models"))
    return db, code, out, shared_cache


def test_channel_cases_make_smaller_models_that_meet_their_target(channel_run):
    db, code, out, _ = channel_run
    assert code == 1 and "7 passed" in out and "2 failed" in out, out
    got = rows(db, "SELECT * FROM results WHERE status = 'passed' AND method_kind = 'channel' "
                   "ORDER BY case_id")
    assert len(got) == 6
    for row in got:
        assert row["method_kind"] == "channel" and row["task"] == "lm"
        assert row["params_total"] < row["params_dense"] and row["params_total"] == row["params_nonzero"]
        assert math.isfinite(row["perplexity"]) and row["perplexity"] > row["perplexity_dense"] * 0.9
        assert 0 <= row["heads_removed"] < row["heads_total"] == 8  # 2 blocks x 4 heads
        assert 0 < row["channel_fraction"] < 1 and row["model_path"]
        figure = row["speedup_theoretical"] if row["target"] == "macs" else row["compression"]
        assert figure == pytest.approx(row["ratio"], rel=max(0.02, row["target_tolerance"]))
        assert row["target_achieved"] == pytest.approx(figure)
    layer_macs = [r for r in got if r["target"] == "macs"]
    assert {r["round_to"] for r in layer_macs} == {8}


def test_refusals_name_the_reason(channel_run):
    db, *_ = channel_run
    errors = {r["method"]: r["error"] for r in rows(
        db, "SELECT method, error FROM results WHERE status = 'failed'")}
    assert "runs on classification cases only" in errors["channel_l1"]
    assert "N:M pattern" in errors["channel_magnitude"]


def test_a_kept_smaller_model_loads_again_with_identical_logits(channel_run):
    from bench.lm import kept, models
    from bench.lm.structures import structures

    db, _, _, cache = channel_run
    row = rows(db, "SELECT * FROM results WHERE status = 'passed' AND method = 'channel_magnitude' "
                   "AND protocol = 'oneshot'")[0]
    model = kept.load(row["model_path"], cache)
    assert sum(p.numel() for p in model.parameters()) == row["params_total"]
    dense = models.load("tiny_gpt", cache).model
    assert sum(s.units for s in structures(model)) < sum(s.units for s in structures(dense))
    ids = torch.randint(0, 256, (2, 32), generator=torch.Generator().manual_seed(1))
    saved = torch.load(row["model_path"], weights_only=True)
    again = models.load("tiny_gpt", cache).model
    from bench.lm import shrink

    shrink.narrow(again, structures(again), saved["widths"])
    again.load_state_dict(saved["state_dict"])
    with torch.no_grad():
        a, b = model(input_ids=ids).logits, again.eval()(input_ids=ids).logits
    assert torch.equal(a, b)
    from bench.lm.perplexity import perplexity
    from bench.lm.windows import test_windows

    windows = test_windows("shakespeare", row["window_length"], models.load("tiny_gpt", cache).tokenizer,
                           row["eval_windows"])
    assert perplexity(model, windows).value == pytest.approx(row["perplexity"], rel=1e-6)


def test_kept_language_models_are_timed_again(channel_run):
    db, _, _, cache = channel_run
    done = subprocess.run([sys.executable, "-m", "bench", "retime", "--db", str(db), "--bench-cache",
                           str(cache), "--method", "channel_random", "--save", "--json"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    timed = rows(db, "SELECT * FROM retimes")
    assert len(timed) == 1 and timed[0]["speedup_measured_prefill"] > 0  # the suite ran untimed
    assert timed[0]["latency_backend"] == "dense"
    assert timed[0]["speedup_measured"] == timed[0]["speedup_measured_prefill"]
    assert timed[0]["tokens_per_s_decode"] > 0


def test_realisation_and_measured_winners_read_language_models(channel_run):
    db, *_ = channel_run
    out = subprocess.run([sys.executable, "-m", "bench", "report", "--db", str(db), "--view",
                          "realisation", "--view", "winners-measured"],
                         capture_output=True, text=True, check=True).stdout
    assert "language models: measured vs theoretical speedup" in out, out
    assert "language models: lowest perplexity at a fixed measured prefill speedup" in out, out
    assert "retimed prefill" in out  # the kept model timed again above (retime --save)


def test_recovery_lowers_perplexity_and_keeps_what_was_pruned(channel_run):
    db, *_ = channel_run
    got = {r["method"]: r for r in rows(
        db, "SELECT * FROM results WHERE status = 'passed' AND protocol LIKE 'recover%'")}
    assert set(got) == {"channel_magnitude", "wanda"}
    for row in got.values():
        assert row["recovery_steps"] == 30 and row["recovery_tokens"] == 30 * 8 * 128
        assert row["train_steps"] == 30 and row["seconds_train"] > 0
        assert math.isfinite(row["perplexity_unrecovered"])
    # the tiny model barely notices Wanda at 50%; removing a third of its MACs, it does
    channel = got["channel_magnitude"]
    assert channel["perplexity"] < channel["perplexity_unrecovered"], channel
    assert got["wanda"]["pruned_weights_zero"] is True  # masks held through training
    assert got["wanda"]["keep_fraction_achieved"] == pytest.approx(0.5)
    oneshot = rows(db, "SELECT * FROM results WHERE status = 'passed' AND method = "
                       "'channel_magnitude' AND protocol = 'oneshot' AND ratio = 1.5")[0]
    # the same pruning: the one-shot case's perplexity is the recovered case's starting point
    assert got["channel_magnitude"]["perplexity_unrecovered"] == pytest.approx(oneshot["perplexity"])
    assert got["channel_magnitude"]["params_total"] == oneshot["params_total"]


def test_recover_is_refused_for_vision_cases():
    from bench.harness.case import Case
    from bench.harness.run import task_run
    from bench.harness.steps import UnsupportedKindError

    with pytest.raises(UnsupportedKindError, match="for language models"):
        task_run(Case("magnitude_global", "mnist5k", "lenet5", 2, protocol="recover"), None, {})
