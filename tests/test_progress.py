"""Progress: a live line on a terminal only, and the time by phase at the end."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import textwrap

import pytest
from inprocess import run_pytest
from test_plugin import REPO, rows, run_suite

from bench import data
from bench.harness.case import Case
from bench.harness.expected import expected_steps
from bench.plugin import progress
from bench.plugin.progress import Progress, clock
from bench.training import recipes

SUITE = '''
import pytest

from bench.harness import grid


@pytest.mark.parametrize("case", grid.cases(methods=["magnitude_global"], datasets=["digits"],
                                            archs=["mlp"], ratios=[1, 2], seeds=[0]))
def test_prune(case, bench_case):
    bench_case(case)
'''


def test_the_live_line_counts_and_estimates_from_the_cases_run():
    p = Progress(live=True)
    p.total, p.start = 10, 0.0
    p.counts |= {"passed": 3, "failed": 1, "resumed": 4}
    line = p.line(now=40.0)
    assert line.startswith("bench: 8/10 cases, 3 passed, 1 failed, 4 resumed, 0 skipped, 40s elapsed")
    assert line.endswith("~20s left")  # 4 cases ran in 40 s: 10 s each, 2 to go
    assert clock(3725) == "1h02m" and clock(185) == "3m05s"


SLOW_SUITE = '''
import time

import pytest

from bench.harness import grid


@pytest.mark.parametrize("case", [
    *grid.cases(methods=["magnitude_global"], datasets=["digits"], archs=["mlp"], ratios=[1, 2],
                seeds=[0]),
    *grid.cases(methods=["magnitude_global"], datasets=["digits"], archs=["mlp"], ratios=[1, 2],
                seeds=[0], protocol="imp")])
def test_slow(case):
    time.sleep(0.6)
'''


def test_expected_steps_follow_the_recipes_and_the_protocol():
    ds = data.get("digits")
    ft = recipes.get(ds.finetune_recipe)
    per_epoch = -(-ds.train_size // ft.batch_size)
    assert expected_steps(Case("magnitude_global", "digits", "mlp", 2)) == ft.epochs * per_epoch
    assert expected_steps(Case("magnitude_global", "digits", "mlp", 1)) == 0
    pre = recipes.get(ds.pretrain_recipe_for("mlp"))
    pre_epoch = -(-ds.train_size // pre.batch_size)
    # imp at 4x, 20% a round: 7 rounds, each from the first epoch to the end of pretraining
    assert expected_steps(Case("magnitude_global", "digits", "mlp", 4, protocol="imp")) == \
        7 * (pre.epochs - 1) * pre_epoch
    # language models train only to recover, and as many steps as the protocol says
    assert expected_steps(Case("wanda", "shakespeare", "tiny_gpt", 2)) == 0
    assert expected_steps(Case("wanda", "shakespeare", "tiny_gpt", 2, protocol="recover:steps=30")) == 30
    assert expected_steps(Case("wanda", "shakespeare", "tiny_gpt", 1, protocol="recover")) == 0


def test_without_a_terminal_the_steps_come_first_and_a_line_at_least_every_interval(
        tmp_path, shared_cache, monkeypatch, capsys):
    monkeypatch.setattr(progress, "PROGRESS_INTERVAL_S", 0.2)
    (tmp_path / "suite_slow.py").write_text(textwrap.dedent(SLOW_SUITE))
    code, out = run_pytest(tmp_path, ["suite_slow.py", "-p", "bench.plugin", "-p", "no:cacheprovider",
                                      "--rootdir", str(tmp_path), "--bench-db", str(tmp_path / "s.duckdb"),
                                      "--bench-cache", str(shared_cache), "-q"], monkeypatch, capsys)
    assert code == 0, out
    lines = out.splitlines()
    steps = [i for i, line in enumerate(lines) if "training steps expected" in line]
    expected = sum(expected_steps(Case("magnitude_global", "digits", "mlp", r, protocol=p))
                   for r in (1, 2) for p in ("oneshot", "imp"))
    assert len(steps) == 1 and f"4 cases selected, about {expected:,} training steps" in lines[steps[0]]
    beats = [line for line in lines if line.startswith("bench: ") and "; running " in line]
    assert len(beats) >= 4, out  # 2.4 s of tests, a line every 0.2 s
    assert "bench: 0/4 cases" in beats[0] and "running test_slow[" in beats[0]
    assert any(line.startswith("bench: 3/4 cases") for line in beats), out


@pytest.mark.slow
def test_no_live_line_without_a_terminal_but_the_time_by_phase(tmp_path, shared_cache):
    code, out = run_suite(SUITE, tmp_path / "s", tmp_path / "p.duckdb", shared_cache)
    assert code == 0 and "\r" not in out and "\x1b[K" not in out, out
    assert "bench: time of 2 cases" in out and "training" in out and "evaluation" in out
    got = rows(tmp_path / "p.duckdb", "SELECT * FROM results ORDER BY ratio")
    phases = ("pretrain", "prune", "train", "eval", "count", "latency")
    for row in got:
        assert all(row[f"seconds_{p}"] >= 0 for p in phases)
        assert sum(row[f"seconds_{p}"] for p in phases) <= row["duration_s"]
        assert row["seconds_eval"] > 0 and row["seconds_count"] > 0 and row["seconds_prune"] > 0
        assert row["seconds_latency"] == 0  # --bench-no-latency
    assert got[0]["seconds_train"] == 0 < got[1]["seconds_train"]  # ratio 1 is not finetuned


@pytest.mark.slow
def test_a_terminal_gets_one_live_line(tmp_path, shared_cache):
    (tmp_path / "suite_tiny.py").write_text(textwrap.dedent(SUITE))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "BENCH_"))}
    env |= {"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "suite_tiny.py", "-p", "bench.plugin", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), "--bench-db", str(tmp_path / "t.duckdb"), "--bench-cache",
         str(shared_cache), "--bench-no-latency", "--bench-methods", str(REPO / "methods"), "-q"],
        cwd=tmp_path, env=env, stdout=slave, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=300)
    os.close(master)
    out = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0, out
    assert "\r\x1b[Kbench: 1/2 cases, 1 passed, 0 failed, 0 resumed" in out
    assert "bench: 2/2 cases, 2 passed" in out
    assert "bench: time of 2 cases" in out
