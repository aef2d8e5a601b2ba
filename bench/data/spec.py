"""The dataset registry's entries: what a case needs to know about a dataset and how to load it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.errors import BenchError
from bench.registry import Registry

if TYPE_CHECKING:  # the registry itself needs no torch: listing datasets starts without it
    from torch.utils.data import Dataset

Splits = tuple["Dataset", "Dataset"]


class DatasetUnavailableError(BenchError, RuntimeError):
    """The dataset's files are not on disk; the message says which files to put where."""


@dataclass(frozen=True)
class DatasetSpec:
    """What a case needs to know about a dataset, and how to load its train and test splits."""

    name: str
    num_classes: int
    input_shape: tuple[int, int, int]  # (channels, height, width) as the model sees it
    train_size: int
    test_size: int
    source: str  # where the files come from, for listings
    load: Callable[[Path | None], Splits]  # data root -> (train, test); root is None if embedded
    embedded: bool = False
    augment: Callable[[Dataset], Dataset] | None = None  # train split -> its augmented view
    augmentation: str = "none"  # the standard augmentation, in words, for listings
    files: str = ""  # which files go where under the data root, for listings and errors
    download: Callable[[Path], None] | None = None  # fetches the files, only when asked
    check: Callable[[Path], None] | None = None  # raises DatasetUnavailableError if files are absent
    pretrain_recipe: str = "pretrain-small"
    finetune_recipe: str = "finetune-small"
    eval_batch_size: int = 256
    # (architecture, recipe) pairs that replace pretrain_recipe for heavier nets on this dataset
    arch_pretrain: tuple[tuple[str, str], ...] = ()

    def pretrain_recipe_for(self, arch: str) -> str:
        """Name of the default pretraining recipe of architecture `arch` on this dataset."""
        return dict(self.arch_pretrain).get(arch, self.pretrain_recipe)


DATASETS: Registry[DatasetSpec] = Registry("dataset")


def register(spec: DatasetSpec) -> DatasetSpec:
    """Add a dataset to the registry."""
    return DATASETS.register(spec.name, spec)
