"""The contract of channel methods (KIND = "channel"), checked for every one in methods/ straight
from the registry: a channel method dropped into methods/ is tested with no other edit."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from bench import models
from bench.context import build_context
from bench.methods import discover
from bench.metrics.profile import profile
from bench.metrics.size import count_params
from bench.structured.search import prune_to_target
from bench.structured.select import validate_scores

REPO = Path(__file__).resolve().parents[1]
METHODS = {n: m for n, m in discover(REPO / "methods").items()
           if m.ok and m.kind == "channel" and "classification" in m.tasks}  # LMs: test_lm_plan
SHAPE = (3, 8, 8)


def _model() -> nn.Module:
    torch.manual_seed(0)
    model = models.build("resnet20", SHAPE, 10).eval()
    with torch.no_grad():  # distinct batch-norm scales, as after training
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.2, 1.5)
    return model


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(32, *SHAPE, generator=g), torch.randint(0, 10, (32,), generator=g)


def _scores(name: str, model: nn.Module, ratio: float, seed: int = 0) -> dict:
    ctx = build_context(model, ratio, _batch(), seed)
    scores = METHODS[name].prune(model, ratio, ctx)
    validate_scores(scores, model, name)
    return scores


def test_the_shipped_channel_baselines_are_registered():
    expected = {f"channel_{c}{s}" for c in ("l1", "bn", "fpgm", "taylor", "random")
                for s in ("", "_layer")}
    assert expected <= set(METHODS)
    assert {m.attributes["SCOPE"] for m in METHODS.values()} == {"global", "layer"}


@pytest.mark.parametrize("name", sorted(METHODS))
def test_scores_are_per_channel_deterministic_and_change_nothing(name):
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    first = _scores(name, model, 2, seed=3)
    for key, value in model.state_dict().items():  # scoring changes no weight, no BN statistic
        assert torch.equal(value, before[key]), f"{name} modified {key}"
    assert first, f"{name} scored no layer"
    classifier = f"{models.classifier_name(model)}.weight"
    assert classifier not in first, "the classifier's outputs are never scored for removal"
    second = _scores(name, _model(), 2, seed=3)
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key], second[key]), f"{name}: {key} differs between runs"


@pytest.mark.parametrize("unit", ["params", "macs"])
@pytest.mark.parametrize("name", sorted(METHODS))
def test_channels_removed_reach_the_target(name, unit):
    model = _model()
    x = _batch()[0][:1]
    dense = {"params_dense": count_params(model)[0], "macs_dense": profile(model, x).macs_total}
    ctx = build_context(model, 3, _batch(), 0, unit=unit)
    scope = METHODS[name].attributes.get("SCOPE", "global")
    result = prune_to_target(model, METHODS[name].prune(model, 3, ctx), ctx.target, dense, x, scope)
    assert result.achieved == pytest.approx(3, rel=result.tolerance)
    assert result.tolerance < 0.15
    assert result.model(_batch()[0]).shape == (32, 10)
    assert count_params(result.model)[0] < dense["params_dense"]
