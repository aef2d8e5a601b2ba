"""A short recovery of a pruned language model: next-token training on windows of the corpus's
training split with AdamW, the learning rate falling to zero on a cosine, gradients clipped, the
masks applied again after every step so that pruned weights stay exactly zero."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

CLIP = 1.0  # gradient norm


def recover(model: nn.Module, windows: Tensor, steps: int, batch: int, lr: float,
            masks: dict[str, Tensor], seed: int) -> float:
    """Train `model` in place for `steps` steps of `batch` windows each (taken from `windows` in
    an order drawn with `seed`); returns the last step's loss."""
    params = dict(model.named_parameters())
    trainable = [p for p in params.values() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=lr, weight_decay=0.0)
    order = torch.randperm(len(windows), generator=torch.Generator().manual_seed(seed))
    device = next(model.parameters()).device
    model.train()
    loss = math.nan
    try:
        for step in range(steps):
            for group in optimizer.param_groups:
                group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / steps))
            chosen = order[(torch.arange(batch) + step * batch) % len(windows)]
            ids = windows[chosen].to(device)
            out = model(input_ids=ids, labels=ids, use_cache=False)
            optimizer.zero_grad(set_to_none=True)
            out.loss.backward()
            nn.utils.clip_grad_norm_(trainable, CLIP)
            optimizer.step()
            with torch.no_grad():
                for name, mask in masks.items():
                    params[name].mul_(mask.to(params[name].dtype))
            loss = out.loss.item()
    finally:
        model.zero_grad(set_to_none=True)
        model.eval()
    return loss
