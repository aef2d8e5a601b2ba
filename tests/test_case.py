"""One case end to end: the bench applies masks itself and refuses methods that touch weights."""

from __future__ import annotations

import pytest

from bench.harness.case import Case
from bench.harness.env import BenchEnv
from bench.harness.run import run_case
from bench.harness.steps import MethodChangedModelError
from bench.training.zoo import Zoo

TOUCHES = '''"""Doubles a weight while pruning: not allowed."""
import torch


def prune(model, compression, ctx):
    with torch.no_grad():
        next(iter(ctx.prunable.values())).mul_(2)
    return {}
'''

KEEPS_ALL = '''"""Keeps every weight."""


def prune(model, compression, ctx):
    return {}
'''


@pytest.fixture
def env(tmp_path, shared_cache):
    (tmp_path / "touches.py").write_text(TOUCHES)
    (tmp_path / "keeps_all.py").write_text(KEEPS_ALL)
    return BenchEnv(zoo=Zoo(shared_cache), methods_dir=str(tmp_path), measure_latency=False)


def test_a_method_that_changes_weights_fails_with_the_parameter_named(env):
    row: dict = {}
    with pytest.raises(MethodChangedModelError, match=r"'touches' changed 'fc1.weight'"):
        run_case(Case("touches", "digits", "mlp", 1.0), env, row)
    assert row["pretrained_key"] and row["method_hash"]  # what was learnt before the failure


def test_masks_that_keep_everything_leave_the_dense_model(env):
    row = run_case(Case("keeps_all", "digits", "mlp", 1.0), env, {})
    assert row["top1"] == row["top1_dense"] and row["epochs"] == []
    assert row["params_nonzero"] == row["params_total"] and row["pruned_weights_zero"]
