"""Protocols are registered scripts over the case's steps; the method sees the current masks."""

from __future__ import annotations

import pytest

from bench.harness.case import Case
from bench.harness.env import BenchEnv
from bench.harness.protocols import PROTOCOLS, protocol
from bench.harness.run import run_case
from bench.registry import UnknownNameError
from bench.training.zoo import Zoo

SEES_MASKS = '''"""Records what it is given, keeps the larger half of what is still kept."""
import torch

SEEN = []


def prune(model, compression, ctx):
    SEEN.append({n: int(m.sum()) for n, m in ctx.masks.items()})
    assert ctx.target.value == compression and ctx.target.unit == "params"
    out = {}
    for name, w in ctx.prunable.items():
        alive = w.detach().abs() * ctx.masks[name]
        k = max(1, int(ctx.masks[name].sum()) // 2)
        out[name] = torch.zeros_like(alive, dtype=torch.bool).view(-1)
        out[name][alive.view(-1).topk(k).indices] = True
        out[name] = out[name].view_as(w)
    return out
'''


@pytest.fixture
def env(tmp_path, shared_cache):
    (tmp_path / "sees_masks.py").write_text(SEES_MASKS)
    return BenchEnv(zoo=Zoo(shared_cache), methods_dir=str(tmp_path), measure_latency=False)


def test_oneshot_is_the_default_and_unknown_protocols_list_the_valid_ones(env):
    assert "oneshot" in PROTOCOLS.names()
    with pytest.raises(UnknownNameError, match=r"unknown protocol 'nope'.*oneshot"):
        run_case(Case("sees_masks", "digits", "mlp", 2, protocol="nope"), env, {})


def test_a_protocol_of_a_few_lines_prunes_twice_from_the_current_masks(env):
    @protocol("twice_for_test")
    def twice(run):
        run.load("trained")
        run.prune(run.case.ratio)
        run.prune(run.case.ratio)
        run.train(run.finetune_recipe, phase="finetune", round_=1)
        run.measure()

    try:
        row = run_case(Case("sees_masks", "digits", "mlp", 2, protocol="twice_for_test"), env, {})
    finally:
        PROTOCOLS._entries.pop("twice_for_test")
    seen = env.methods()["sees_masks"].prune.__globals__["SEEN"]
    first, second = seen[-2], seen[-1]
    assert all(second[n] == first[n] // 2 for n in first)  # the second call saw the first's masks
    assert row["protocol"] == "twice_for_test" and row["pruned_weights_zero"]
    assert row["params_nonzero"] < row["params_dense"] / 2  # a quarter of the prunable kept
    assert {e["round"] for e in row["epochs"]} == {1}
