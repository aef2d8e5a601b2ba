"""The embedded reference models: the same weights whatever the thread count, healthy, and their
dense accuracy pinned within a band."""

from __future__ import annotations

import multiprocessing as mp

import pytest
import torch
from torch import nn

from bench import data
from bench.data.loaders import calibration_batch
from bench.training import trainer
from bench.training.recipes import Recipe
from bench.training.zoo import PretrainedSpec, Zoo

ONE_EPOCH = Recipe(epochs=1, lr=0.05, batch_size=32, augment=False)
# Dense top-1 of each embedded default (dataset, arch) with its default recipe and seed 0, as
# pretrained here (torch 2.x, one thread): a band, since another CPU's kernels can round
# differently. LeNet-5 reaches about 98% on MNIST-5k (97.8% on one machine, 97.2% on another with
# torch 2.14), the MLP about 95%.
BANDS = {("mnist5k", "lenet5"): (0.965, 0.99), ("mnist5k", "mlp"): (0.93, 0.96),
         ("digits", "lenet5"): (0.96, 0.99), ("digits", "mlp"): (0.96, 0.99)}


def _sha(state: dict) -> str:
    import hashlib

    h = hashlib.sha256()
    for name in sorted(state):
        h.update(name.encode())
        h.update(state[name].numpy().tobytes())
    return h.hexdigest()


def _pretrain_with(threads: int, results) -> None:
    torch.set_num_threads(threads)
    state, meta, _ = trainer.pretrain("digits", "lenet5", ONE_EPOCH, 0)
    results.put((_sha(state), meta["threads"], torch.get_num_threads()))


@pytest.mark.slow
def test_pretraining_gives_the_same_weights_whatever_the_threads():
    """In this process with 2 threads, and in a fresh process with 1 (an xdist worker's count)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        state, meta, _ = trainer.pretrain("digits", "lenet5", ONE_EPOCH, 0)
        assert torch.get_num_threads() == 2  # restored after training
    finally:
        torch.set_num_threads(previous)
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    proc = ctx.Process(target=_pretrain_with, args=(1, results))
    proc.start()
    other_sha, other_threads, caller_threads = results.get(timeout=300)
    proc.join(timeout=60)
    assert other_sha == _sha(state)
    assert meta["threads"] == other_threads == trainer.THREADS and caller_threads == 1


@pytest.fixture(scope="module")
def zoo(shared_cache):
    return Zoo(shared_cache)


def _default(zoo: Zoo, dataset: str, arch: str):
    from bench.training import recipes

    spec = PretrainedSpec(dataset, arch, recipes.get(data.get(dataset).pretrain_recipe_for(arch)))
    return zoo.ensure(spec)


@pytest.mark.parametrize(("dataset", "arch"), sorted(BANDS))
def test_dense_accuracy_of_each_reference_model_is_in_its_band(zoo, dataset, arch):
    low, high = BANDS[dataset, arch]
    meta = _default(zoo, dataset, arch).meta
    assert low <= meta["top1"] <= high, f"{dataset}/{arch}: dense top-1 {meta['top1']}"
    assert meta["threads"] == trainer.THREADS and meta["torch"] == torch.__version__


def _dead_channels(model: nn.Module, x: torch.Tensor) -> dict[str, int]:
    """Per conv layer, output channels that are zero after ReLU for every example and position."""
    outputs: dict[str, torch.Tensor] = {}
    hooks = [m.register_forward_hook(lambda _m, _i, out, n=name: outputs.__setitem__(n, out))
             for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model.eval()(x)
    for h in hooks:
        h.remove()
    return {n: int((out.relu().amax(dim=(0, 2, 3)) == 0).sum()) for n, out in outputs.items()}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_conv_channel_of_the_default_lenet5_is_dead_on_the_calibration_batch(zoo, seed):
    model = _default(zoo, "mnist5k", "lenet5").build()
    train_set, _ = data.load("mnist5k", None, augment=False)
    x, _ = calibration_batch(train_set, 128, seed)
    assert _dead_channels(model, x) == {"conv1": 0, "conv2": 0}
