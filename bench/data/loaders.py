"""Seeded data loaders: the same seed gives the same batches, augmentation included."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, TensorDataset

from bench.data.arrays import ImageArrays

Batch = tuple[Tensor, Tensor]


class TensorLoader:
    """Batches of an in-memory dataset by slicing, without per-sample collation; an
    ImageArrays dataset is augmented batch-wise with this loader's seeded generator."""

    def __init__(self, data: TensorDataset | ImageArrays, batch_size: int, shuffle: bool,
                 seed: int) -> None:
        self.batch_size, self.shuffle = batch_size, shuffle
        self.generator = torch.Generator().manual_seed(seed)
        self.dataset = data

    def __len__(self) -> int:
        return -(-len(self.dataset) // self.batch_size)

    def _take(self, idx: Tensor | slice) -> Batch:
        if isinstance(self.dataset, ImageArrays):
            return self.dataset.batch(idx, self.generator)
        x, y = self.dataset.tensors
        return x[idx], y[idx]

    def __iter__(self) -> Iterator[Batch]:
        n = len(self.dataset)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else None
        for start in range(0, n, self.batch_size):
            stop = start + self.batch_size
            yield self._take(slice(start, stop) if order is None else order[start:stop])


def make_loader(
    data: Dataset, batch_size: int, *, shuffle: bool, seed: int = 0, workers: int = 0
) -> TensorLoader | DataLoader:
    """A loader over `data` whose order (and augmentation, via worker seeds) is fixed by `seed`."""
    if isinstance(data, (TensorDataset, ImageArrays)) and workers == 0:
        return TensorLoader(data, batch_size, shuffle, seed)
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle, num_workers=workers,
                      generator=generator, persistent_workers=workers > 0)


def calibration_batch(data: Dataset, size: int, seed: int) -> Batch:
    """A fixed random batch of `size` training examples, for methods that score with data."""
    generator = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(data), generator=generator)[:size]
    if isinstance(data, TensorDataset):
        x, y = data.tensors
        return x[idx], y[idx]
    if isinstance(data, ImageArrays):  # one gather, never augmented
        return data.with_augmentation(None).batch(idx, generator)
    items = [data[int(i)] for i in idx]
    return torch.stack([x for x, _ in items]), torch.tensor([int(y) for _, y in items])
