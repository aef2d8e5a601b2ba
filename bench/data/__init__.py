"""Dataset registry: named, versioned datasets with their shapes, sources and default recipes."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from bench.data.spec import DATASETS, DatasetSpec, DatasetUnavailableError, Splits, register

__all__ = ["DatasetSpec", "DatasetUnavailableError", "Splits", "register"]


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
