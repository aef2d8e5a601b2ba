"""Masks: validation messages, exact zeros, and enforcement through optimizer steps."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from bench.masks import InvalidMaskError, apply, enforcer, validate


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))


def _ok():
    mask = torch.ones(16, 8, dtype=torch.bool)
    mask[:, :4] = False
    return {"0.weight": mask}


def test_valid_masks_pass():
    validate(_ok(), _model(), "m")


@pytest.mark.parametrize(("masks", "problem"), [
    ([], "returned list, not a dict"),
    ({"0.wieght": torch.ones(16, 8, dtype=torch.bool)}, r"'0.wieght'.*no such parameter.*0.weight"),
    ({"0.weight": torch.ones(16, 8)}, r"'0.weight'.*bool tensor.*torch.float32"),
    ({"0.weight": torch.ones(8, 16, dtype=torch.bool)}, r"'0.weight'.*shape \(8, 16\) != .*\(16, 8\)"),
    ({"2.weight": torch.zeros(4, 16, dtype=torch.bool)}, r"'2.weight'.*every weight.*ALLOW_EMPTY"),
])
def test_invalid_masks_name_method_parameter_and_problem(masks, problem):
    with pytest.raises(InvalidMaskError, match=r"method 'mine'") as info:
        validate(masks, _model(), "mine")
    assert info.match(problem)


def test_empty_layers_allowed_when_declared():
    validate({"2.weight": torch.zeros(4, 16, dtype=torch.bool)}, _model(), "m", allow_empty_layers=True)


def test_apply_gives_exact_zeros_even_for_non_finite_weights():
    model = _model()
    with torch.no_grad():
        model[0].weight[0, 0] = float("inf")
        model[0].weight[0, 1] = float("nan")
    apply(model, _ok())
    assert bool((model[0].weight[:, :4] == 0).all()) and bool((model[0].weight[:, 4:] != 0).all())


@pytest.mark.parametrize("make", [
    lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-3, nesterov=True),
    lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1),
])
def test_enforcer_keeps_pruned_weights_zero_through_steps(make):
    model, masks = _model(), _ok()
    apply(model, masks)
    optimizer, enforce = make(model.parameters()), enforcer(model, masks)
    x, y = torch.randn(32, 8), torch.randint(0, 4, (32,))
    for _ in range(5):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        enforce()
    assert bool((model[0].weight[:, :4] == 0).all())
    assert int(torch.count_nonzero(model[0].weight)) == 16 * 4
