"""Which structure units of a language model go: the scores checked, the target met by the
unit costs, widths rounded, one unit always kept, global and per-layer rankings, ties counted,
and the channel methods' scores on a real (tiny) model."""

import math
from pathlib import Path

import pytest
import torch

from bench.context import PruneContext, Target, UnreachableCompressionError
from bench.lm import plan as plans
from bench.lm import shrink
from bench.lm.structures import HEADS, structures
from bench.methods import discover
from bench.structured.select import InvalidScoresError
from tests.test_lm_structures import IDS, llama, logits

REPO = Path(__file__).resolve().parents[1]


def setup(unit="params"):
    model = llama(kv_heads=4)
    found = structures(model)
    total = sum(p.numel() for p in model.parameters())
    costs = plans.unit_costs(model, found, unit, other_macs=0.0)
    gen = torch.Generator().manual_seed(0)
    scores = {s.name: torch.rand(s.units, generator=gen, dtype=torch.float64) for s in found}
    return model, found, total, costs, scores


def test_unit_costs_are_what_removal_saves():
    _model, found, total, costs, _ = setup()
    plan = {s.name: [0] for s in found}
    smaller = llama(kv_heads=4)
    shrink.remove(smaller, structures(smaller), plan)
    assert sum(p.numel() for p in smaller.parameters()) == total - sum(costs.values())
    heads = found[0]
    assert costs[heads.name] == 32 * 8 * (2 + 1 + 1 + 2)  # q rows (2 heads), k, v rows, o columns


def test_search_meets_the_target_at_the_smallest_removal():
    _model, found, total, costs, scores = setup()
    for scope in ("global", "layer"):
        chosen, tolerance = plans.search(found, scores, costs, total, Target(1.3), scope)
        assert chosen.ratio >= 1.3 and tolerance >= 0.02
        left = total - sum(len(v) * costs[k] for k, v in chosen.removed.items())
        assert chosen.ratio == pytest.approx(total / left)
        assert chosen.ratio <= 1.3 * (1 + tolerance)


def test_every_structure_keeps_a_unit_and_widths_are_rounded():
    _model, found, total, costs, scores = setup()
    at_most = plans.plan(found, scores, costs, total, 1.0, "layer", round_to=8)
    for s in found:
        left = s.units - len(at_most.removed[s.name])
        assert left >= 1
        if s.kind != HEADS:
            assert left == 8  # a multiple of round_to, never below it
        else:
            assert left == 1  # heads are their own granularity
    with pytest.raises(UnreachableCompressionError, match="out of reach"):
        plans.search(found, scores, costs, total, Target(50), "global")


def test_layer_scope_removes_the_same_fraction_of_each_structure():
    _model, found, total, costs, scores = setup()
    half = plans.plan(found, scores, costs, total, 0.5, "layer")
    assert [len(half.removed[s.name]) for s in found] == [s.units // 2 for s in found]
    for s in found:  # the lowest scores go
        kept = set(range(s.units)) - set(half.removed[s.name])
        assert max(scores[s.name][half.removed[s.name]]) <= min(scores[s.name][sorted(kept)])


def test_global_scope_ranks_scores_over_their_structures_mean():
    _model, found, total, costs, scores = setup()
    scaled = {k: v * (1000 if i % 2 else 1) for i, (k, v) in enumerate(scores.items())}
    a = plans.plan(found, scores, costs, total, 0.4, "global").removed
    b = plans.plan(found, scaled, costs, total, 0.4, "global").removed
    assert a == b  # a structure's scale does not decide how much of it goes


def test_bad_scores_are_refused_with_the_structure_named():
    _, found, *_ = setup()
    with pytest.raises(InvalidScoresError, match="not a structure"):
        plans.validate({"model.layers.0.mlp.up_proj.weight": torch.ones(48)}, found, "m")
    with pytest.raises(InvalidScoresError, match="one per unit"):
        plans.validate({found[1].name: torch.ones(3)}, found, "m")
    with pytest.raises(InvalidScoresError, match="finite"):
        plans.validate({found[1].name: torch.full((48,), math.nan)}, found, "m")
    with pytest.raises(InvalidScoresError, match="not a dict"):
        plans.validate([1, 2], found, "m")


def test_ties_are_counted():
    scores = {"a": torch.tensor([1.0, 1.0, 2.0]), "b": torch.tensor([0.5, 3.0])}
    assert plans.tied(scores, {"a": [0], "b": [0]}, "layer") == 0.5
    assert plans.tied(scores, {}, "global") is None


@pytest.mark.parametrize("kind", ["magnitude", "activation", "taylor", "random"])
def test_channel_scores_on_a_model(kind):
    from bench import channels
    from bench.lm.calibrate import DenseCalibration
    from bench.lm.models import prunable_linears

    model = llama()
    found = structures(model)
    before = logits(model)
    inputs = DenseCalibration(model, IDS, [n.removesuffix(".weight") for n in prunable_linears(model)],
                              {})
    ctx = PruneContext(model=model, compression=2, prunable=prunable_linears(model), keep_fraction=0.5,
                       batch=(IDS, IDS), loss_fn=None, generator=torch.Generator().manual_seed(0),
                       classifier="", target=Target(2), inputs=inputs, structures=found)
    scores = plans.validate(getattr(channels, kind)(ctx), found, kind)
    assert set(scores) == {s.name for s in found}
    assert all(bool((v >= 0).all()) for v in scores.values())
    assert len(set(scores[found[1].name].tolist())) > 40  # scores tell channels apart
    assert all(p.grad is None for p in model.parameters())
    torch.testing.assert_close(logits(model), before, rtol=0, atol=0)  # the model is untouched


LM_CHANNEL = sorted(n for n, m in discover(REPO / "methods").items()
                    if m.ok and m.kind == "channel" and "lm" in m.tasks)


def test_the_shipped_lm_channel_methods_are_registered():
    expected = [f"channel_{s}{v}" for s in ("activation", "magnitude", "random", "taylor")
                for v in ("", "_layer")]
    assert expected == LM_CHANNEL


@pytest.mark.parametrize("name", LM_CHANNEL)
def test_every_lm_channel_method_scores_every_unit_and_changes_nothing(name):
    from bench.lm.calibrate import DenseCalibration
    from bench.lm.models import prunable_linears

    method = discover(REPO / "methods")[name]
    model = llama()
    found = structures(model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    layers = [n.removesuffix(".weight") for n in prunable_linears(model)]
    inputs = DenseCalibration(model, IDS, layers, {})

    def scores(seed):
        ctx = PruneContext(model=model, compression=2, prunable=prunable_linears(model),
                           keep_fraction=0.5, batch=(IDS, IDS), loss_fn=None,
                           generator=torch.Generator().manual_seed(seed), classifier="",
                           target=Target(2), inputs=inputs, structures=found)
        return plans.validate(method.prune(model, 2, ctx), found, name)

    first = scores(0)
    assert set(first) == {s.name for s in found}
    assert all(torch.equal(first[k], v) for k, v in scores(0).items())  # same seed, same scores
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    assert method.attributes.get("SCOPE") == ("layer" if name.endswith("_layer") else "global")


def test_dense_statistics_are_measured_once_per_model_and_windows(monkeypatch):
    """Taylor scores and input norms of the dense model are kept for the next case of the same
    windows, and equal what a fresh computation gives."""
    from bench.lm import calibrate
    from bench.lm import scores as lm_scores
    from bench.lm.calibrate import DenseCalibration
    from bench.lm.models import prunable_linears

    model = llama()
    found = structures(model)
    layers = [n.removesuffix(".weight") for n in prunable_linears(model)]
    calls = {"taylor": 0, "norms": 0}
    real_taylor, real_sequential = lm_scores._taylor, calibrate.sequential
    monkeypatch.setattr(lm_scores, "_taylor", lambda ctx: calls.__setitem__(
        "taylor", calls["taylor"] + 1) or real_taylor(ctx))
    monkeypatch.setattr(calibrate, "sequential", lambda *a, **k: calls.__setitem__(
        "norms", calls["norms"] + 1) or real_sequential(*a, **k))

    def ctx(inputs):
        return PruneContext(model=model, compression=2, prunable=prunable_linears(model),
                            keep_fraction=0.5, batch=(IDS, IDS), loss_fn=None,
                            generator=torch.Generator().manual_seed(0), classifier="",
                            target=Target(2), inputs=inputs, structures=found)

    store = {}
    first = lm_scores.taylor(ctx(DenseCalibration(model, IDS, layers, store)))
    first[found[1].name] += 1  # a method changing what it got does not change what is kept
    again = lm_scores.taylor(ctx(DenseCalibration(model, IDS, layers, store)))
    fresh = lm_scores.taylor(ctx(DenseCalibration(model, IDS, layers, {})))
    assert calls["taylor"] == 2 and all(torch.equal(again[k], fresh[k]) for k in fresh)
    norms = [DenseCalibration(model, IDS, layers, store).norm(layers[0]) for _ in range(2)]
    assert calls["norms"] == 1 and torch.equal(norms[0], norms[1])
