"""Wanda and SparseGPT against ports of their reference implementations, on one layer."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from bench import nm
from bench.lm.calibrate import LayerInputs
from bench.methods import discover
from tests.reference_lm import reference_sparsegpt, reference_wanda

METHODS = discover("methods")


def _layer(seed: int = 0, out: int = 24, width: int = 64, tokens: int = 512):
    g = torch.Generator().manual_seed(seed)
    linear = torch.nn.Linear(width, out, bias=False)
    with torch.no_grad():
        linear.weight.copy_(torch.randn(out, width, generator=g, dtype=torch.float64).float())
    x = torch.randn(tokens, width, generator=g) * torch.linspace(0.1, 3, width)  # unequal inputs
    mix = torch.eye(width) + 0.5 * torch.randn(width, width, generator=g) / math.sqrt(width)
    return linear, x @ mix  # correlated, as a layer's inputs are


def _ctx(linear, x, keep: float, pattern=None, gram: bool = False):
    inputs = LayerInputs(gram)
    for chunk in x.split(100):
        inputs.add("fc", chunk)
    return SimpleNamespace(prunable={"fc.weight": linear.weight}, keep_fraction=keep, pattern=pattern,
                           generator=torch.Generator().manual_seed(0), inputs=inputs,
                           masks={"fc.weight": torch.ones_like(linear.weight, dtype=torch.bool)})


@pytest.mark.parametrize("pattern", [None, (2, 4), (4, 8)])
def test_wanda_matches_the_reference(pattern):
    linear, x = _layer()
    masks = METHODS["wanda"].prune(None, 2.0, _ctx(linear, x, 0.5, pattern))
    assert torch.equal(masks["fc.weight"], reference_wanda(linear.weight.detach(), x, 0.5, pattern))


def test_sparsegpt_matches_the_reference_at_2_4():
    linear, x = _layer(width=256)
    dense = linear.weight.detach().clone()
    masks = METHODS["sparsegpt"].prune(None, 2.0, _ctx(linear, x, 0.5, (2, 4), gram=True))
    reference = reference_sparsegpt(dense, 2 * x.t() @ x / x.shape[0], 0, prunen=2, prunem=4)
    nm.validate(masks, 2, 4, "sparsegpt")
    assert torch.equal(masks["fc.weight"], reference != 0)
    assert torch.allclose(linear.weight.detach().double(), reference, atol=1e-4, rtol=1e-3)


def test_sparsegpt_unstructured_agrees_with_the_reference_and_beats_plain_masking():
    linear, x = _layer(width=256)
    dense = linear.weight.detach().clone()
    masks = METHODS["sparsegpt"].prune(None, 2.0, _ctx(linear, x, 0.5, gram=True))
    keep = masks["fc.weight"]
    assert int(keep.sum()) == keep.numel() // 2  # exactly half of every block of 128 columns
    assert bool((linear.weight.detach()[~keep] == 0).all())
    reference = reference_sparsegpt(dense, 2 * x.t() @ x / x.shape[0], 0.5)
    agree = (keep == (reference != 0)).float().mean()
    assert agree > 0.99  # the reference prunes one more weight per block (sorted[k] inclusive)
    err = ((x @ (linear.weight.detach() - dense).t()) ** 2).mean()
    err_masked = ((x @ (dense * keep - dense).t()) ** 2).mean()
    assert err < 0.8 * err_masked  # the update reconstructs part of what pruning lost
    assert math.isfinite(float(err))
