"""Wanda and SparseGPT against ports of their reference implementations, on one layer."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from bench import nm
from bench.lm.calibrate import LayerInputs
from bench.methods import discover

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


def _reference_wanda(weight, x, sparsity: float, pattern=None):
    """locuslab/wanda prune_wanda: |W| * sqrt(scaler_row), per output row (or per M inputs)."""
    scaler_row = (x.t().float().norm(p=2, dim=1) ** 2) / x.shape[0]
    metric = weight.abs() * torch.sqrt(scaler_row.reshape(1, -1))
    prune = torch.zeros_like(metric, dtype=torch.bool)
    if pattern:
        n, m = pattern
        for ii in range(metric.shape[1]):
            if ii % m == 0:
                tmp = metric[:, ii:ii + m].float()
                prune.scatter_(1, ii + torch.topk(tmp, m - n, dim=1, largest=False)[1], True)
    else:
        order = torch.sort(metric, dim=-1, stable=True)[1]
        prune.scatter_(1, order[:, :int(metric.shape[1] * sparsity)], True)
    return ~prune


@pytest.mark.parametrize("pattern", [None, (2, 4), (4, 8)])
def test_wanda_matches_the_reference(pattern):
    linear, x = _layer()
    masks = METHODS["wanda"].prune(None, 2.0, _ctx(linear, x, 0.5, pattern))
    assert torch.equal(masks["fc.weight"], _reference_wanda(linear.weight.detach(), x, 0.5, pattern))


def _reference_sparsegpt(W, H, sparsity, prunen=0, prunem=0, blocksize=128, percdamp=0.01):
    """IST-DASLab/sparsegpt SparseGPT.fasterprune, in float64 (no quantizer)."""
    W, H = W.clone().double(), H.clone().double()
    columns = W.shape[1]
    dead = torch.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    damp = percdamp * torch.mean(torch.diag(H))
    H[torch.arange(columns), torch.arange(columns)] += damp
    Hinv = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)), upper=True)
    for i1 in range(0, columns, blocksize):
        i2 = min(i1 + blocksize, columns)
        W1, Q1, Err1 = W[:, i1:i2].clone(), torch.zeros_like(W[:, i1:i2]), torch.zeros_like(W[:, i1:i2])
        Hinv1 = Hinv[i1:i2, i1:i2]
        if prunen == 0:
            tmp = W1 ** 2 / (torch.diag(Hinv1).reshape((1, -1))) ** 2
            thresh = torch.sort(tmp.flatten())[0][int(tmp.numel() * sparsity)]
            mask1 = tmp <= thresh
        else:
            mask1 = torch.zeros_like(W1) == 1
        for i in range(i2 - i1):
            w, d = W1[:, i], Hinv1[i, i]
            if prunen != 0 and i % prunem == 0:
                tmp = W1[:, i:i + prunem] ** 2 / (torch.diag(Hinv1)[i:i + prunem].reshape((1, -1))) ** 2
                mask1.scatter_(1, i + torch.topk(tmp, prunen, dim=1, largest=False)[1], True)
            q = w.clone()
            q[mask1[:, i]] = 0
            Q1[:, i] = q
            err1 = (w - q) / d
            W1[:, i:] -= err1.unsqueeze(1).matmul(Hinv1[i, i:].unsqueeze(0))
            Err1[:, i] = err1
        W[:, i1:i2] = Q1
        W[:, i2:] -= Err1.matmul(Hinv[i1:i2, i2:])
    return W


def test_sparsegpt_matches_the_reference_at_2_4():
    linear, x = _layer(width=256)
    dense = linear.weight.detach().clone()
    masks = METHODS["sparsegpt"].prune(None, 2.0, _ctx(linear, x, 0.5, (2, 4), gram=True))
    reference = _reference_sparsegpt(dense, 2 * x.t() @ x / x.shape[0], 0, prunen=2, prunem=4)
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
    reference = _reference_sparsegpt(dense, 2 * x.t() @ x / x.shape[0], 0.5)
    agree = (keep == (reference != 0)).float().mean()
    assert agree > 0.99  # the reference prunes one more weight per block (sorted[k] inclusive)
    err = ((x @ (linear.weight.detach() - dense).t()) ** 2).mean()
    err_masked = ((x @ (dense * keep - dense).t()) ** 2).mean()
    assert err < 0.8 * err_masked  # the update reconstructs part of what pruning lost
    assert math.isfinite(float(err))
