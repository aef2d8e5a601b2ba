"""Wanda and SparseGPT beside ports of their reference implementations, on one layer of
SmolLM2-135M's MLP shape (1536 x 576) with 4,096 calibration tokens: time and mask agreement.

The ratios (bench / reference) are printed at the end of the session; agreement is asserted."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from bench.lm.calibrate import LayerInputs
from bench.methods import discover
from tests.reference_lm import reference_sparsegpt, reference_wanda

pytestmark = pytest.mark.benchmark(group="lm-methods")
METHODS = discover("methods")
OUT, WIDTH, TOKENS = 1536, 576, 4096


@pytest.fixture(scope="module")
def layer():
    g = torch.Generator().manual_seed(0)
    weight = torch.randn(OUT, WIDTH, generator=g) * 0.02
    mix = torch.eye(WIDTH) + 0.5 * torch.randn(WIDTH, WIDTH, generator=g) / math.sqrt(WIDTH)
    x = (torch.randn(TOKENS, WIDTH, generator=g) * torch.linspace(0.1, 3, WIDTH)) @ mix
    return weight, x


def _ctx(weight, x, pattern, gram):
    inputs = LayerInputs(gram)
    inputs.add("fc", x)
    param = torch.nn.Parameter(weight.clone(), requires_grad=False)
    return SimpleNamespace(prunable={"fc.weight": param}, keep_fraction=0.5, pattern=pattern,
                           generator=torch.Generator().manual_seed(0), inputs=inputs,
                           masks={"fc.weight": torch.ones_like(weight, dtype=torch.bool)})


@pytest.mark.parametrize("pattern", [None, (2, 4)], ids=["unstructured", "2:4"])
@pytest.mark.parametrize("side", ["bench", "reference"])
def test_wanda(benchmark, keep_median, layer, side, pattern):
    weight, x = layer
    if side == "bench":
        mask = benchmark(lambda: METHODS["wanda"].prune(None, 2.0, _ctx(weight, x, pattern, False))
                         ["fc.weight"])
    else:
        mask = benchmark(lambda: reference_wanda(weight, x, 0.5, pattern))
    keep_median(f"wanda-{side}-{'nm' if pattern else 'u'}", benchmark)
    agreement = float((mask == reference_wanda(weight, x, 0.5, pattern)).float().mean())
    print(f"wanda {side} {'2:4' if pattern else 'unstructured'}: mask agreement {agreement:.6f}")
    assert agreement > 0.9999  # rounding of sqrt(mean) against norm may flip a near-tie


@pytest.mark.parametrize("pattern", [None, (2, 4)], ids=["unstructured", "2:4"])
@pytest.mark.parametrize("side", ["bench", "reference"])
def test_sparsegpt(benchmark, keep_median, layer, side, pattern):
    weight, x = layer
    hessian = 2 * x.t() @ x / x.shape[0]
    if side == "bench":
        mask = benchmark.pedantic(lambda: METHODS["sparsegpt"].prune(
            None, 2.0, _ctx(weight, x, pattern, True))["fc.weight"], rounds=3, iterations=1)
    else:
        args = (0, 2, 4) if pattern else (0.5,)
        mask = benchmark.pedantic(lambda: reference_sparsegpt(weight, hessian, *args) != 0,
                                  rounds=3, iterations=1)
    keep_median(f"sparsegpt-{side}-{'nm' if pattern else 'u'}", benchmark)
    reference = reference_sparsegpt(weight, hessian, *((0, 2, 4) if pattern else (0.5,))) != 0
    agreement = float((mask == reference).float().mean())
    print(f"sparsegpt {side} {'2:4' if pattern else 'unstructured'}: mask agreement {agreement:.5f}")
    assert agreement > (0.9999 if pattern else 0.99)
