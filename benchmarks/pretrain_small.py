"""Pretraining time and dense top-1 of the small architectures on the embedded datasets.

Trains each (dataset, arch) with its default pretraining recipe into a fresh temporary cache,
with every CPU thread, and prints one row each. Run: python benchmarks/pretrain_small.py
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import data, recipes
from bench.zoo import PretrainedSpec, Zoo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist5k"])
    parser.add_argument("--archs", nargs="+", default=["lenet5", "mlp", "resnet20"])
    parser.add_argument("--recipe", default=None, help="override every default recipe")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads", flush=True)
    print(f"{'dataset':8} {'arch':9} {'recipe':20} {'epochs':>6} {'seconds':>8} {'top1':>7}", flush=True)
    with tempfile.TemporaryDirectory() as cache:
        zoo = Zoo(cache)
        for name in args.datasets:
            data.load(name)  # reading the data is not pretraining time
            for arch in args.archs:
                recipe_name = args.recipe or data.get(name).pretrain_recipe_for(arch)
                recipe = recipes.get(recipe_name)
                got = zoo.get(PretrainedSpec(name, arch, recipe, 0))
                print(f"{name:8} {arch:9} {recipe_name:20} {recipe.epochs:6d} "
                      f"{got.meta['train_seconds']:8.1f} {got.meta['top1']:7.4f}", flush=True)


if __name__ == "__main__":
    main()
