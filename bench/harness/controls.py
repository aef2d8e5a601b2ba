"""The sanity controls of Frankle et al. 2021 ("Pruning neural networks at initialization: why
are we missing the mark?", ICLR 2021): what a protocol option `control` does to masks or weights."""

from __future__ import annotations

import torch

# shuffle: masks permuted within each layer; invert: the lowest-ranked weights kept;
# reinit: the kept weights drawn afresh from the initialisation distribution.
CONTROLS = ("shuffle", "invert", "reinit")
SEED_BASE = 1_000_003  # seeds of the controls start here, far from any pretraining seed


def shuffled(masks: dict[str, torch.Tensor], seed: int) -> dict[str, torch.Tensor]:
    """Each layer's mask with its entries permuted at random (the layer keeps its density)."""
    generator = torch.Generator().manual_seed(SEED_BASE + seed)
    return {name: m.reshape(-1)[torch.randperm(m.numel(), generator=generator).to(m.device)]
            .view_as(m) for name, m in masks.items()}


def reinit_seed(seed: int, pretrain_seed: int) -> int:
    """Seed of the fresh initialisation of a case (never the pretraining run's own)."""
    return SEED_BASE + 1000 * seed + pretrain_seed
