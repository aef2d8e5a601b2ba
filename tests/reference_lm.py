"""Ports of the reference implementations the LM methods are checked and timed against:
locuslab/wanda's prune_wanda and IST-DASLab/sparsegpt's SparseGPT.fasterprune, one layer each,
kept as close to their code as a port allows (variable names included)."""

from __future__ import annotations

import torch


def reference_wanda(weight, x, sparsity: float, pattern=None):
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


def reference_sparsegpt(W, H, sparsity, prunen=0, prunem=0, blocksize=128, percdamp=0.01):
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
