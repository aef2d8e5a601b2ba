"""Dataset registry: named, versioned datasets with their shapes, sources and default recipes."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from torch.utils.data import Dataset

from bench.registry import Registry

Splits = tuple[Dataset, Dataset]


class DatasetUnavailableError(RuntimeError):
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


def get(name: str) -> DatasetSpec:
    """The dataset spec named `name` (the error lists the valid names)."""
    _load_builtin()
    return DATASETS.get(name)


def names() -> list[str]:
    """All registered dataset names."""
    _load_builtin()
    return DATASETS.names()


def data_root(explicit: str | os.PathLike | None = None) -> Path:
    """The folder holding on-disk datasets: the explicit value, else $BENCH_DATA, else ~/data."""
    if explicit:
        return Path(explicit).expanduser()
    return Path(os.environ.get("BENCH_DATA", "~/data")).expanduser()


def load(name: str, root: str | os.PathLike | None = None, augment: bool = False) -> Splits:
    """Train and test splits of dataset `name`, read once per process; with `augment` the
    training split carries the dataset's standard augmentation (the test split never does)."""
    spec = get(name)
    train, test = _read(name, None if spec.embedded else data_root(root))
    if augment and spec.augment is not None:
        train = spec.augment(train)
    return train, test


@lru_cache(maxsize=8)
def _read(name: str, root: Path | None) -> Splits:
    return get(name).load(root)


def available(name: str, root: str | os.PathLike | None = None) -> bool:
    """Whether dataset `name` can be loaded (embedded, or its files are under the data root)."""
    spec = get(name)
    if spec.embedded or spec.check is None:
        return True
    try:
        spec.check(data_root(root))
    except DatasetUnavailableError:
        return False
    return True


_builtin_loaded = False


def _load_builtin() -> None:
    global _builtin_loaded
    if not _builtin_loaded:
        _builtin_loaded = True
        from bench.data import disk, embedded  # noqa: F401  (registers on import)
