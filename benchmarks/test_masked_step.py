"""The masked training step: bench.masks.enforcer alone on ResNet-50, and whole SGD steps
(dense, masked with the enforcer, masked by torch.nn.utils.prune) on a ResNet-50 at batch 4."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

from bench import models
from bench.context import prunable_parameters
from bench.masks import apply, enforcer, masks_hold
from bench.select import global_topk

KEEP = 0.1  # global magnitude masks pruning 90% of the prunable weights
STEP_BATCH, STEP_SIZE, STEP_CLASSES = 4, 128, 100


def magnitude_masks(model: nn.Module) -> dict[str, torch.Tensor]:
    """Global magnitude masks keeping KEEP of the model's prunable weights."""
    weights = prunable_parameters(model)
    return global_topk({name: p.detach().abs() for name, p in weights.items()}, KEEP)


@pytest.mark.benchmark(group="enforce")
def test_enforcer(benchmark, resnet50):
    """One call of bench.masks.enforcer(model, masks)() on resnet50 with 90% of weights masked."""
    model = copy.deepcopy(resnet50)
    masks = magnitude_masks(model)
    apply(model, masks)
    enforce = enforcer(model, masks)
    benchmark.pedantic(enforce, rounds=30, warmup_rounds=2, iterations=1)  # ~10 ms a call
    assert masks_hold(model, masks)


@pytest.fixture(scope="module")
def step_setup(one_thread):
    """A resnet50 for 3x128x128 inputs, its 90% masks and one fixed batch of 4."""
    torch.manual_seed(0)
    model = models.build("tv_resnet50", (3, STEP_SIZE, STEP_SIZE), STEP_CLASSES).train()
    g = torch.Generator().manual_seed(0)
    batch = (torch.randn(STEP_BATCH, 3, STEP_SIZE, STEP_SIZE, generator=g),
             torch.randint(0, STEP_CLASSES, (STEP_BATCH,), generator=g))
    return model, magnitude_masks(model), batch


def make_step(model: nn.Module, batch, after=None):
    """A closure running one training step: forward, cross-entropy backward, SGD step, `after`."""
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=1e-4)
    x, y = batch

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        if after is not None:
            after()

    return step


@pytest.mark.benchmark(group="masked-step")
@pytest.mark.parametrize("variant", ["dense", "masked", "torch-prune"])
def test_training_step(benchmark, step_setup, keep_median, variant):
    """One SGD step of resnet50 (4x3x128x128): dense, + enforcer, or via torch.nn.utils.prune."""
    dense, masks, batch = step_setup
    model = copy.deepcopy(dense)
    after = None
    if variant == "masked":
        apply(model, masks)
        after = enforcer(model, masks)
    elif variant == "torch-prune":  # weight = weight_orig * mask, recomputed in a forward pre-hook
        modules = dict(model.named_modules())
        for name, mask in masks.items():
            torch_prune.custom_from_mask(modules[name.rsplit(".", 1)[0]], "weight", mask)
    benchmark.pedantic(make_step(model, batch, after), rounds=5, warmup_rounds=1, iterations=1)
    keep_median(f"step-{variant}", benchmark)
    if variant == "masked":
        assert masks_hold(model, masks)
