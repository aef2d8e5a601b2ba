"""The protocols beyond one-shot: at_init reproduces pretraining, IMP's rounds and their cache,
GMP's cubic schedule, the sanity controls, options and the cost accounting."""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path

import pytest
import torch

from bench.harness.case import Case
from bench.harness.env import BenchEnv
from bench.harness.protocols import PROTOCOLS, ProtocolOptionError
from bench.harness.protocols.gmp import schedule
from bench.harness.protocols.imp import rounds
from bench.harness.run import prepare, run_case
from bench.harness.steps import CaseRun, RevivedWeightsError
from bench.training.zoo import Zoo

REPO = Path(__file__).resolve().parents[1]
TINY = {"pretrain": "pretrain-small-fast", "finetune": "finetune-small-fast"}
IGNORES_MASKS = '''"""Keeps the smallest |w| of every layer, ignoring ctx.masks (so the zeros)."""
from bench.select import layer_topk


def prune(model, compression, ctx):
    return layer_topk({n: -p.detach().abs() for n, p in ctx.prunable.items()}, ctx.keep_fraction)
'''


@pytest.fixture
def env(shared_cache):
    return BenchEnv(zoo=Zoo(shared_cache), methods_dir=str(REPO / "methods"), measure_latency=False)


def _case(method="magnitude_layer", ratio=4.0, protocol="oneshot", seed=0, **more) -> Case:
    return Case(method, "digits", "mlp", ratio, seed, protocol=protocol, **(TINY | more))


def _run(case: Case, env: BenchEnv) -> tuple[CaseRun, dict]:
    """Run a case's protocol and keep its CaseRun (its model and masks) for inspection."""
    row: dict = {}
    protocol, run = prepare(case, env, row)
    protocol(run)
    return run, row


def test_at_init_at_ratio_1_is_pretraining_itself(tmp_path):
    # a cache of its own: pretrained here, with this process's thread count, so that the very
    # same float operations run in both and the weights agree bit for bit, not only accuracy
    env = _env(tmp_path)
    for method in ("magnitude_global", "random"):
        run, row = _run(_case(method, ratio=1, protocol="at_init"), env)
        pretrained = env.zoo.ensure(run.spec)
        assert row["train_steps"] > 0, "at_init trains from scratch even when nothing is pruned"
        assert row["top1"] == row["top1_dense"] == pretrained.meta["top1"]
        assert row["loss"] == pretrained.meta["loss"]
        for key, value in run.model.state_dict().items():
            assert torch.equal(value, pretrained.state_dict[key]), key


def test_imp_rounds_share_their_start_and_land_on_the_target():
    eight, sixteen = rounds(0.125, 0.2), rounds(0.0625, 0.2)
    assert eight[-1] == 0.125 and sixteen[-1] == 0.0625
    assert sixteen[:len(eight) - 1] == eight[:-1]  # the same rounds up to 8x's last
    assert all(a > b for a, b in itertools.pairwise(sixteen))
    assert rounds(1.0, 0.2) == [] and rounds(0.8, 0.2) == [0.8]
    assert len(rounds(0.5, 0.5)) == 1


def _env(folder: Path) -> BenchEnv:
    return BenchEnv(zoo=Zoo(folder), methods_dir=str(REPO / "methods"), measure_latency=False)


def test_imp_continues_from_the_cached_rounds_of_a_lower_ratio(tmp_path):
    # caches of its own: rounds cached by another process (another thread count) may differ
    # in the last bits, and this test compares bit for bit
    env = _env(tmp_path / "shared")
    low, high = _case(ratio=2, protocol="imp"), _case(ratio=4, protocol="imp")
    _, first = _run(low, env)
    shared = len(rounds(first["keep_fraction"], 0.2)) - 1
    run, second = _run(high, env)
    assert second["resumed_rounds"] >= shared > 0
    fresh_run, fresh = _run(high, _env(tmp_path / "fresh"))  # the same case from an empty cache
    assert fresh["resumed_rounds"] == 0
    _, again = _run(high, env)  # every round cached: nothing computed, the same row
    assert again["resumed_rounds"] == len(rounds(second["keep_fraction"], 0.2))
    assert {k: again[k] for k in ("top1", "keep_fraction", "train_steps", "prune_steps")} == {
        k: second[k] for k in ("top1", "keep_fraction", "train_steps", "prune_steps")}
    assert fresh["top1"] == second["top1"] and fresh["train_steps"] == second["train_steps"]
    assert fresh["epochs"] == second["epochs"]  # the cached rounds' epochs come back too
    for key, mask in fresh_run.masks.items():
        assert torch.equal(mask, run.masks[key]), key


def test_the_zoo_listing_shows_cached_rounds(tmp_path, capsys):
    from bench.cli import main

    _run(_case(ratio=2, protocol="imp:fraction=0.5"), _env(tmp_path))
    assert main(["zoo", "--bench-cache", str(tmp_path), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    rounds_ = [r for r in listed if r["key"].startswith("imp-")]
    assert rounds_ and all(r["dataset"] == "digits" and r["arch"] == "mlp" for r in rounds_)


def test_imp_rewinds_weights_and_counts_the_steps_of_every_round(env):
    case = _case(ratio=2, protocol="imp:fraction=0.3,rewind_step=4")
    run, row = _run(case, env)
    n = len(rounds(row["keep_fraction"], 0.3))
    total = run.pretrain_recipe.epochs * run.steps_per_epoch(run.pretrain_recipe)
    assert row["train_steps"] == n * (total - 4) and row["prune_steps"] == n
    assert {(e["phase"], e["round"]) for e in row["epochs"]} == {("retrain", i + 1)
                                                                 for i in range(n)}
    assert json.loads(row["protocol_options"])["rewind_step"] == 4
    assert row["pretrain_steps"] == total


def test_imp_rewinding_puts_the_checkpoint_weights_back(env):
    run, _ = _run(_case(ratio=1.5, protocol="imp:fraction=0.5,rewind_step=5"), env)
    checkpoint = env.zoo.checkpoint(run.spec, 5).state_dict
    run.load("trained")
    run.prune(1.5)
    run.rewind("checkpoint", 5)
    for name, mask in run.masks.items():
        w = dict(run.model.named_parameters())[name].detach()
        assert torch.equal(w[mask], checkpoint[name][mask]) and not w[~mask].any()


def test_imp_finetuning_variant_trains_with_the_finetuning_recipe(env):
    _, row = _run(_case(ratio=2, protocol="imp:rewind=finetune"), env)
    assert {e["phase"] for e in row["epochs"]} == {"finetune"}


def test_gmp_schedule_is_cubic_and_ends_on_the_target():
    events = schedule(0.1, 100, 10, 0.0, 0.5)
    steps, keeps = zip(*events, strict=True)
    assert steps[-1] == 50 and keeps[-1] == pytest.approx(0.1)
    assert all(a > b for a, b in itertools.pairwise(keeps))
    drops = [a - b for a, b in itertools.pairwise((1.0, *keeps))]
    assert all(a > b for a, b in itertools.pairwise(drops))  # fast early, slow late: cubic


def test_gmp_calls_the_method_at_each_pruning_step(env):
    _, row = _run(_case(ratio=4, protocol="gmp:prunings=5"), env)
    assert row["prune_steps"] == 5 and row["compression"] == pytest.approx(4, rel=0.01)
    assert row["pruned_weights_zero"]


def test_shuffle_keeps_each_layers_density_and_moves_the_mask(env):
    plain, _ = _run(_case(protocol="at_init"), env)
    shuffled, row = _run(_case(protocol="at_init:control=shuffle"), env)
    assert row["control"] == "shuffle"
    for key, mask in plain.masks.items():
        assert int(mask.sum()) == int(shuffled.masks[key].sum())
        assert not torch.equal(mask, shuffled.masks[key])


def test_invert_keeps_the_lowest_ranked_weights(env):
    case = _case(protocol="at_init")
    plain, inverted = CaseRun(case, env, {}), CaseRun(case, env, {})
    for run, control in ((plain, ""), (inverted, "invert")):
        run.load("initial")
        run.prune(4, control=control)
    for name, mask in plain.masks.items():
        w = dict(plain.model.named_parameters())[name].detach()  # the same initial weights
        kept_low = inverted.masks[name]
        assert abs(int(kept_low.sum()) - int(mask.sum())) <= 1
        initial = env.zoo.initial(plain.spec).state_dict()[name].abs()
        assert initial[kept_low].max() <= initial[mask].min()
        del w


def test_reinit_draws_new_weights_under_the_same_masks(env):
    case = _case(protocol="at_init")
    run = CaseRun(case, env, {})
    run.load("initial")
    run.prune(4)
    before = {k: v.clone() for k, v in run.model.state_dict().items()}
    run.reinitialise()
    for name, mask in run.masks.items():
        now = dict(run.model.named_parameters())[name].detach()
        assert not now[~mask].any() and not torch.equal(now[mask], before[name][mask])


def test_a_method_that_ignores_the_current_masks_is_told_how_to_respect_them(env, tmp_path):
    (tmp_path / "ignores_masks.py").write_text(IGNORES_MASKS)
    env = dataclasses.replace(env, methods_dir=str(tmp_path), _methods=None)
    with pytest.raises(RevivedWeightsError, match=r"ctx.masks already prunes.*bench.scores"):
        run_case(_case("ignores_masks", protocol="imp"), env, {})


def test_options_are_canonical_checked_and_recorded(env):
    a = _case(protocol="imp:rewind=lr,fraction=0.5")
    b = _case(protocol="imp: fraction=0.5 ,rewind=lr")
    assert a == b and a.key == b.key and a.protocol == "imp:fraction=0.5,rewind=lr"
    assert a.id.endswith("-imp:fraction=0.5,rewind=lr")
    with pytest.raises(ProtocolOptionError, match=r"no option 'fractoin'.*fraction"):
        run_case(_case(protocol="imp:fractoin=0.5"), env, {})
    with pytest.raises(ProtocolOptionError, match=r"choose one of"):
        run_case(_case(protocol="oneshot:control=reinit"), env, {})
    with pytest.raises(ProtocolOptionError, match=r"between 0 and 1"):
        run_case(_case(protocol="imp:fraction=2"), env, {})
    assert set(PROTOCOLS.names()) >= {"oneshot", "imp", "gmp", "at_init"}
