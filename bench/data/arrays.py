"""In-memory uint8 image datasets, normalised per batch, with seeded batch-wise augmentation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
from torch import Tensor
from torch.utils.data import Dataset

Augment = Callable[[Tensor, torch.Generator], Tensor]  # uint8 batch (B, C, H, W) -> same shape


def crop_flip(padding: int = 4) -> Augment:
    """Random crop with zero padding `padding` and random horizontal flip (the CIFAR standard)."""

    def augment(x: Tensor, generator: torch.Generator) -> Tensor:
        b, _, h, w = x.shape
        padded = torch.nn.functional.pad(x, (padding,) * 4)
        dy = torch.randint(0, 2 * padding + 1, (b,), generator=generator)
        dx = torch.randint(0, 2 * padding + 1, (b,), generator=generator)
        rows = (dy[:, None] + torch.arange(h))[:, :, None]  # (B, H, 1)
        cols = (dx[:, None] + torch.arange(w))[:, None, :]  # (B, 1, W)
        out = padded[torch.arange(b)[:, None, None], :, rows, cols].permute(0, 3, 1, 2)
        flip = torch.rand(b, generator=generator) < 0.5
        return torch.where(flip[:, None, None, None], out.flip(3), out).contiguous()

    return augment


@dataclass(frozen=True, eq=False)
class ImageArrays(Dataset):
    """Images kept as uint8 (N, C, H, W) with int64 labels; items come out normalised.

    Single items are never augmented (calibration batches, evaluation); the seeded loader
    augments whole batches through `batch` when `augment` is set.
    """

    images: Tensor
    labels: Tensor
    mean: tuple[float, ...]
    std: tuple[float, ...]
    augment: Augment | None = None

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            raise ValueError("images must be a uint8 tensor of shape (N, C, H, W)")
        if len(self.images) != len(self.labels):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        return self.normalise(self.images[i:i + 1])[0], self.labels[i]

    def normalise(self, x: Tensor) -> Tensor:
        """uint8 batch -> float batch with the dataset's mean and std per channel."""
        mean = torch.tensor(self.mean).view(1, -1, 1, 1)
        std = torch.tensor(self.std).view(1, -1, 1, 1)
        return (x.float() / 255.0 - mean) / std

    def batch(self, idx: Tensor | slice, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """The examples at `idx`, augmented (if set) with `generator`, then normalised."""
        x = self.images[idx]
        if self.augment is not None:
            x = self.augment(x, generator)
        return self.normalise(x), self.labels[idx]

    def with_augmentation(self, augment: Augment | None) -> ImageArrays:
        """The same images (shared, not copied) with another augmentation."""
        return replace(self, augment=augment)
