"""The method contract, checked for every method in methods/ straight from the registry."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from bench import models
from bench.context import build_context
from bench.masks import apply, enforcer, validate
from bench.methods import discover
from bench.metrics.size import count_params

REPO = Path(__file__).resolve().parents[1]
ALL = discover(REPO / "methods")
# Mask methods (unstructured) are checked here; channel and N:M methods by their own contract
# tests (test_channel_contract.py, test_nm.py). A broken file has no kind and stays here, to fail.
# Methods for language models only (TASKS = ("lm",)) are checked by tests/test_lm_*.py.
METHODS = {n: m for n, m in ALL.items()
           if not m.ok or (m.kind == "unstructured" and "classification" in m.tasks)}
RATIOS = (2, 4, 8, 16, 32, 64)
SHAPE = (1, 28, 28)  # the MLP on 28x28 inputs: 265k prunable weights, 1.4k fixed


def _model(seed: int = 0) -> torch.nn.Module:
    """The MLP with every weight drawn from one distribution: PyTorch's fan-in scaled default
    would make global methods empty the widest layer at random init, which no trained net does."""
    torch.manual_seed(seed)
    model = models.build("mlp", SHAPE, 10)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.05)
    return model


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.rand(64, *SHAPE, generator=g), torch.randint(0, 10, (64,), generator=g)


def _prune(name: str, model: torch.nn.Module, ratio: float, seed: int = 0) -> dict:
    method = METHODS[name]
    if not method.ok:
        pytest.fail(f"method {name!r} is broken: {method.error}")
    ctx = build_context(model, ratio, _batch(), seed)
    masks = method.prune(model, ratio, ctx)
    validate(masks, model, name, method.attributes.get("ALLOW_EMPTY_LAYERS", False))
    return masks


def test_every_shipped_baseline_is_registered():
    expected = {"magnitude_global", "magnitude_layer", "gradient_global", "gradient_layer",
                "activation_global", "activation_layer", "random"}
    assert expected <= set(METHODS)


@pytest.mark.parametrize("ratio", RATIOS)
@pytest.mark.parametrize("name", sorted(METHODS))
def test_masks_reach_the_compression(name, ratio):
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    masks = _prune(name, model, ratio)
    for key, value in model.state_dict().items():  # prune returns masks; it changes no weight
        assert torch.equal(value, before[key]), f"{name} modified {key}"
    params = dict(model.named_parameters())
    for key, mask in masks.items():
        assert mask.dtype == torch.bool and mask.shape == params[key].shape
    classifier = f"{models.classifier_name(model)}.weight"
    assert classifier not in masks or bool(masks[classifier].all()), "classifier pruned"
    apply(model, masks)
    total, nonzero = count_params(model)
    assert total / nonzero == pytest.approx(ratio, rel=0.01)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_same_seed_same_masks(name):
    first = _prune(name, _model(), 8, seed=3)
    second = _prune(name, _model(), 8, seed=3)
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key], second[key]), f"{name}: {key} differs between runs"


@pytest.mark.parametrize("name", sorted(METHODS))
def test_pruned_weights_stay_zero_through_training(name):
    model = _model()
    masks = _prune(name, model, 16)
    apply(model, masks)
    start = {k: p.detach().clone() for k, p in model.named_parameters()}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    enforce = enforcer(model, masks)
    x, y = _batch()
    for _ in range(4):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        enforce()
    params = dict(model.named_parameters())
    for key, mask in masks.items():
        assert bool((params[key].detach()[~mask] == 0).all()), f"{name}: pruned {key} revived"
        assert not torch.equal(params[key].detach()[mask], start[key][mask]), "kept weights frozen"


@pytest.mark.parametrize("name", sorted(METHODS))
def test_given_current_masks_a_method_prunes_only_among_the_kept_weights(name):
    """Iterative protocols call a method again with ctx.masks: it must not keep a weight those
    masks prune, and must still reach the new target exactly."""
    model = _model()
    first = _prune(name, model, 4)
    apply(model, first)
    method = METHODS[name]
    ctx = build_context(model, 16, _batch(), 0, masks=first)
    second = method.prune(model, 16, ctx)
    validate(second, model, name, method.attributes.get("ALLOW_EMPTY_LAYERS", False))
    for key, mask in second.items():
        assert not bool((mask & ~first.get(key, torch.ones_like(mask))).any()), (
            f"{name}: {key} keeps weights that ctx.masks prunes")
    apply(model, second)
    total, nonzero = count_params(model)
    assert total / nonzero == pytest.approx(16, rel=0.01)
