"""Pretraining the small architectures on the embedded datasets, into a fresh cache each round."""

from __future__ import annotations

import itertools

import pytest

from bench import data
from bench.training import recipes
from bench.training.zoo import PretrainedSpec, Zoo

pytestmark = pytest.mark.benchmark(group="pretrain")


# resnet20 is left out: 6 s a round on the digits, 36 s on MNIST-5k with one thread.
@pytest.mark.parametrize(("dataset", "arch"), [("digits", "lenet5"), ("digits", "mlp"),
                                               ("mnist5k", "lenet5"), ("mnist5k", "mlp")])
def test_pretrain(benchmark, tmp_path, dataset, arch):
    """Zoo.ensure(spec) of `arch` on `dataset` with its default recipe, into an empty cache."""
    recipe = recipes.get(data.get(dataset).pretrain_recipe_for(arch))
    spec = PretrainedSpec(dataset, arch, recipe, 0)
    data.load(dataset)  # reading the data is not pretraining time
    rounds = itertools.count()

    def fresh_cache():
        return (Zoo(tmp_path / f"cache{next(rounds)}"),), {}

    got = benchmark.pedantic(lambda zoo: zoo.ensure(spec), setup=fresh_cache, rounds=3,
                             iterations=1)
    benchmark.extra_info.update(top1=got.meta["top1"], epochs=recipe.epochs,
                                train_steps=got.meta["train_steps"])
    assert got.meta["top1"] > 0.8
