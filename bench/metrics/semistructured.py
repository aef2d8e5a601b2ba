"""Latency with 2:4 semi-structured sparse kernels (CUDA, compute capability >= 8.0, fp16/bf16).

The Linear layers of a 2:4-masked model are converted with torch.sparse.to_sparse_semi_structured
and timed against the dense model in the same dtype. Anywhere else nothing is converted and the
figures stay empty: a speedup is only ever reported as measured.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from bench.metrics import latency as latency_metric
from bench.nm import groups

DTYPE = torch.float16


def available(device: torch.device, dtype: torch.dtype = DTYPE) -> bool:
    """True on a CUDA device of compute capability 8.0 or more, for fp16 or bf16."""
    return (device.type == "cuda" and torch.cuda.is_available()
            and torch.cuda.get_device_capability(device) >= (8, 0)
            and dtype in (torch.float16, torch.bfloat16))


def is_2_4(weight: torch.Tensor) -> bool:
    """True when every group of 4 consecutive inputs holds at most 2 nonzeros."""
    return weight.dim() == 2 and weight.shape[1] % 4 == 0 and bool(
        ((groups(weight, 4) != 0).sum(-1) <= 2).all())


@torch.no_grad()
def convert(model: nn.Module, dtype: torch.dtype = DTYPE) -> tuple[nn.Module, int, str]:
    """A copy of `model` in `dtype` whose 2:4-sparse Linear weights use semi-structured kernels,
    how many layers were converted, and the sparse tensor class that ran. A layer whose shape
    the kernels refuse stays dense."""
    from torch.sparse import to_sparse_semi_structured

    sparse = copy.deepcopy(model).to(dtype).eval()
    converted, kind = 0, ""
    for module in sparse.modules():
        if isinstance(module, nn.Linear) and is_2_4(module.weight):
            try:
                weight = to_sparse_semi_structured(module.weight.detach())
            except (RuntimeError, ValueError):  # shape or dtype the kernels do not take
                continue
            module.weight = nn.Parameter(weight, requires_grad=False)
            converted, kind = converted + 1, type(weight).__name__
    return sparse, converted, kind


def latencies(dense: nn.Module, pruned: nn.Module, input_shape, parallel: bool) -> dict:
    """`latency_semistructured_ms` and `speedup_semistructured` (dense / sparse, both in fp16, at
    the sweep's largest batch) where the kernels exist; empty (None) elsewhere."""
    device = next(pruned.parameters()).device
    empty = {"latency_semistructured_ms": None, "speedup_semistructured": None,
             "semistructured_backend": None}
    if not available(device):
        return empty
    sparse, converted, kind = convert(pruned)
    if not converted:
        return empty
    batch = max(latency_metric.sweep_batches(device))
    reference = copy.deepcopy(dense).to(DTYPE).eval()
    d, s = latency_metric.measure_alternating([reference, sparse], input_shape, batch, parallel,
                                              dtype=DTYPE)
    return {"latency_semistructured_ms": s.median_ms,
            "speedup_semistructured": d.median_ms / s.median_ms,
            "semistructured_backend": f"{kind}, {converted} linear layers, batch {batch}, "
                                      f"{str(DTYPE).removeprefix('torch.')}"}
