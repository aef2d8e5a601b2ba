"""One LeNet-5 case end to end (magnitude_global, MNIST-5k, 8x): through the harness, and the same
work written as a bare torch loop; their ratio is the harness's overhead."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from bench import data
from bench.data.loaders import make_loader
from bench.harness.case import Case
from bench.harness.env import BenchEnv
from bench.harness.run import run_case
from bench.training import recipes
from bench.training.zoo import PretrainedSpec, Zoo

pytestmark = pytest.mark.benchmark(group="case")

REPO = Path(__file__).resolve().parents[1]
CASE = Case("magnitude_global", "mnist5k", "lenet5", 8.0)
ROUNDS = 5


@pytest.fixture(scope="module")
def prepared(model_cache, one_thread) -> tuple[BenchEnv, dict]:
    """A bench env and the row of its first run of CASE: LeNet-5 pretrained (if the cache lacks
    it), methods discovered and dense figures computed, so that the rounds time the case alone."""
    env = BenchEnv(zoo=Zoo(model_cache), methods_dir=str(REPO / "methods"), measure_latency=False)
    first = run_case(CASE, env, {})
    assert first["pruned_weights_zero"]
    return env, first


def test_case_harness(benchmark, prepared, keep_median):
    """run_case(magnitude_global / mnist5k / lenet5 at 8x): prune, finetune, measure (no latency)."""
    env, _ = prepared
    row = benchmark.pedantic(lambda: run_case(CASE, env, {}), rounds=ROUNDS, iterations=1)
    keep_median("case-harness", benchmark)
    benchmark.extra_info["top1"] = row["top1"]
    assert row["pruned_weights_zero"] and row["compression"] == pytest.approx(CASE.ratio, rel=1e-3)


def bare_loop(zoo: Zoo, spec: PretrainedSpec, finetune: recipes.Recipe, ratio: float,
              train_set, test_set, eval_batch_size: int) -> float:
    """Load the pretrained weights, prune by global magnitude to `ratio`, finetune with plain SGD
    re-zeroing pruned weights after each step, and return the test top-1."""
    model = zoo.ensure(spec).build()
    classifier = "fc3"
    weights = [m.weight for name, m in model.named_modules()
               if isinstance(m, (nn.Conv2d, nn.Linear)) and name != classifier]
    total = sum(p.numel() for p in model.parameters())
    fixed = total - sum(w.numel() for w in weights)
    keep = round(total / ratio - fixed)  # prunable weights kept so that total / nonzero = ratio
    scores = torch.cat([w.detach().abs().flatten() for w in weights])
    threshold = scores.kthvalue(scores.numel() - keep).values
    masks = [(w.detach().abs() > threshold).to(w.dtype) for w in weights]
    with torch.no_grad():
        for w, m in zip(weights, masks, strict=True):
            w.mul_(m)

    torch.manual_seed(0)
    optimizer = torch.optim.SGD(model.parameters(), lr=finetune.lr, momentum=finetune.momentum,
                                weight_decay=finetune.weight_decay)
    loader = make_loader(train_set, finetune.batch_size, shuffle=True, seed=0)
    model.train()
    for _ in range(finetune.epochs):
        for x, y in loader:
            optimizer.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
            with torch.no_grad():
                for w, m in zip(weights, masks, strict=True):
                    w.mul_(m)

    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in make_loader(test_set, eval_batch_size, shuffle=False):
            correct += int((model(x).argmax(1) == y).sum())
    return correct / len(test_set)


def test_case_bare_loop(benchmark, prepared, keep_median):
    """The same case as a bare torch loop: global |w| threshold, SGD finetune, test accuracy."""
    env, first = prepared
    ds = data.get(CASE.dataset)
    spec = PretrainedSpec(CASE.dataset, CASE.arch, recipes.get(ds.pretrain_recipe_for(CASE.arch)), 0)
    finetune = recipes.get(ds.finetune_recipe)
    assert finetune.optimizer == "sgd" and finetune.schedule == "constant" and not finetune.nesterov
    train_set, test_set = data.load(CASE.dataset, None, augment=False)
    top1 = benchmark.pedantic(bare_loop, args=(env.zoo, spec, finetune, CASE.ratio, train_set,
                                               test_set, ds.eval_batch_size),
                              rounds=ROUNDS, iterations=1)
    keep_median("case-bare-loop", benchmark)
    benchmark.extra_info["top1"] = top1
    # same weights, masks, batches and updates: the harness's accuracy, up to float noise
    assert top1 == pytest.approx(first["top1"], abs=0.01)
