"""The language-model task end to end through the plugin: rows in DuckDB, checks, resume."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.test_plugin import rows, run_suite

pytestmark = [pytest.mark.xdist_group("lm"), pytest.mark.slow]  # one worker builds the tiny LM run

SUITE = '''
import pytest

from bench.harness import grid
from bench.harness.checks import assert_sound

FIXED = dict(datasets=["shakespeare"], archs=["tiny_gpt"], seeds=[0], calibration_size=8)
CASES = grid.cases(methods=["magnitude_layer", "wanda", "sparsegpt", "random"], ratios=[1, 2], **FIXED)
CASES += grid.cases(methods=["wanda", "sparsegpt"], ratios=[2], pattern="2:4", **FIXED)
CASES += grid.cases(methods=["wanda"], ratios=[2.5], pattern="2:4", **FIXED)  # refused: 2:4 is 2x


@pytest.mark.parametrize("case", CASES)
def test_prune(case, bench_case):
    assert_sound(case, bench_case(case))
'''


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory, shared_cache):
    """The tiny LM suite run twice into one database (the second run resumes)."""
    tmp = tmp_path_factory.mktemp("lm")
    db = tmp / "lm.duckdb"
    first = run_suite(SUITE, tmp / "suite", db, shared_cache)
    second = run_suite(SUITE, tmp / "suite", db, shared_cache)
    return db, first, second


def test_lm_rows_are_written_with_their_identity(lm_run):
    db, (code, out), _ = lm_run
    assert code == 1 and "10 passed" in out and "1 failed" in out, out
    got = rows(db, "SELECT * FROM results WHERE status = 'passed' ORDER BY case_id")
    assert len(got) == 10
    for row in got:
        assert row["task"] == "lm" and row["arch"] == "tiny_gpt" and row["dataset"] == "shakespeare"
        assert row["perplexity"] >= 1 and math.isfinite(row["perplexity"])
        assert row["perplexity_dense"] == got[0]["perplexity_dense"]  # one dense model, one figure
        assert row["pretrained_sha256"] and row["eval_windows"] == 8 and row["window_length"] == 128
        assert row["pruned_weights_zero"] is True and row["top1"] is None
    pruned = [r for r in got if r["ratio"] == 2]
    for row in pruned:
        assert row["keep_fraction"] == 0.5 and row["keep_fraction_achieved"] == pytest.approx(0.5)
        assert row["calibration_windows"] == 8 and len(row["calibration_sha256"]) == 64
        assert 1 < row["compression"] < 2 and 1 < row["speedup_theoretical"] < 2  # embeddings dense
    assert {r["pattern"] for r in pruned} == {"unstructured", "2:4"}
    assert {r["updates_weights"] for r in got if r["method"] == "sparsegpt"} == {True}
    dense = [r for r in got if r["ratio"] == 1]
    assert all(r["perplexity"] == r["perplexity_dense"] for r in dense)


def test_a_pattern_at_another_ratio_fails_its_case_with_the_reason(lm_run):
    db, *_ = lm_run
    failed = rows(db, "SELECT error FROM results WHERE status = 'failed'")
    assert len(failed) == 2 and all("ask for ratio 2" in f["error"] for f in failed)  # both runs


def test_the_same_command_again_resumes(lm_run):
    _, _, (_, out) = lm_run
    assert "10 skipped" in out and "1 failed" in out, out


def test_wanda_and_sparsegpt_beat_random_on_the_tiny_model(lm_run):
    db, *_ = lm_run
    ppl = {(r["method"], r["pattern"]): r["perplexity"] for r in rows(
        db, "SELECT method, pattern, perplexity FROM results WHERE status = 'passed' AND ratio = 2")}
    assert ppl[("wanda", "unstructured")] < ppl[("random", "unstructured")]
    assert ppl[("sparsegpt", "unstructured")] < ppl[("random", "unstructured")]
    assert ppl[("magnitude_layer", "unstructured")] < ppl[("random", "unstructured")]


def test_report_and_plot_read_perplexity(lm_run, tmp_path):
    import subprocess
    import sys

    db, *_ = lm_run
    out = subprocess.run([sys.executable, "-m", "bench", "report", "--db", str(db), "--view", "all"],
                         capture_output=True, text=True, check=True).stdout
    assert "language models: perplexity (lower is better)" in out
    assert "lowest perplexity at each ratio and pattern" in out
    assert "paired: wanda - random (perplexity, lower is better)" in out
    from bench.analysis import plot
    from bench.results.read import load_rows, open_db

    con = open_db(db)
    try:
        rows = load_rows(con)
    finally:
        con.close()
    fig = plot.figure(rows, x="lm", y="perplexity")
    assert [ax.get_yscale() for ax in fig.axes] == ["log", "log"]
    assert {t.get_text() for t in fig.legends[0].get_texts()} >= {"wanda", "wanda 2:4", "sparsegpt 2:4"}


MISSING = '''
import pytest

from bench.harness import grid


@pytest.mark.parametrize("case", grid.cases(
    methods=["wanda"], datasets=["wikitext2", "shakespeare"],
    archs=["tiny_gpt", "/nowhere/llama", "BERT"], ratios=[2], seeds=[0]))
def test_prune(case, bench_case):
    bench_case(case)
'''


def test_missing_models_and_files_are_refused_at_the_door(tmp_path, shared_cache):
    from transformers import BertConfig

    BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
               architectures=["BertModel"]).save_pretrained(tmp_path / "bert")
    suite = MISSING.replace("BERT", str(tmp_path / "bert"))
    code, out = run_suite(suite, tmp_path / "suite", tmp_path / "x.duckdb", shared_cache,
                          "--bench-data", str(tmp_path / "data"))
    assert code == 4, out
    assert "/nowhere/llama does not exist" in out and "wiki.test.raw" in out, out
    assert "holds BertModel, not a causal language model" in out, out
    assert not (tmp_path / "x.duckdb").exists() or "rows written" not in out


def test_a_case_runs_without_pytest(shared_cache, tmp_path):
    from bench.harness.case import Case
    from bench.harness.env import BenchEnv
    from bench.harness.runner import execute
    from bench.training.zoo import Zoo

    env = BenchEnv(zoo=Zoo(shared_cache), methods_dir="methods", measure_latency=False)
    row, error = execute(Case("wanda", "shakespeare", "tiny_gpt", 2, 0, calibration_size=4), env)
    assert error is None and row["status"] == "passed" and row["duration_s"] > 0
    assert row["perplexity"] > row["perplexity_dense"] > 1
    row, error = execute(Case("wanda", "shakespeare", "tiny_gpt", 3, 0, pattern="2:4"), env)
    assert row["status"] == "failed" and "ask for ratio 2" in row["error"] and error is not None
    row, error = execute(Case("wanda", "wikitext2", "tiny_gpt", 2, 0),
                         BenchEnv(zoo=Zoo(shared_cache, tmp_path), methods_dir="methods"))
    assert row["status"] == "skipped" and "wiki.test.raw" in row["error"]


def test_the_exact_grid_options_select_lm_cases(tmp_path, shared_cache):
    code, out = run_suite(SUITE, tmp_path / "suite", tmp_path / "x.duckdb", shared_cache,
                          "--bench-ratios", "1", "--bench-seeds", "0", "-k", "wanda", "--collect-only")
    assert code == 0 and "1/11 tests collected (10 deselected)" in out, out


def test_the_device_check_says_when_there_is_no_cuda():
    import subprocess
    import sys

    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is here: run scripts/device_check.py itself")
    script = Path(__file__).resolve().parents[1] / "scripts" / "device_check.py"
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert done.returncode == 0 and "no CUDA device here" in done.stdout


def test_the_prune_step_runs_with_its_fixed_threads_whatever_the_process_has(shared_cache):
    import torch

    from bench.harness.case import Case
    from bench.harness.env import BenchEnv
    from bench.harness.runner import execute
    from bench.lm.run import PRUNE_THREADS
    from bench.training.zoo import Zoo

    env = BenchEnv(zoo=Zoo(shared_cache), methods_dir="methods", measure_latency=False)
    case = Case("sparsegpt", "shakespeare", "tiny_gpt", 2, 0, pattern="2:4", calibration_size=4)
    before = torch.get_num_threads()
    try:
        rows = []
        for threads in (1, 3):
            torch.set_num_threads(threads)
            rows.append(execute(case, env)[0])
            assert torch.get_num_threads() == threads  # given back after the prune step
    finally:
        torch.set_num_threads(before)
    assert [r["prune_threads"] for r in rows] == [PRUNE_THREADS] * 2
    assert rows[0]["perplexity"] == rows[1]["perplexity"]
