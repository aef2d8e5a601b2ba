"""Time a masked training step against a dense step and against torch.nn.utils.prune.

Run: python benchmarks/masked_step.py [--arch resnet50] [--batch 8] [--size 128] [--rounds 7]
One training step = forward, cross-entropy backward, SGD (momentum, weight decay) step. The masked
step adds bench.masks.enforcer after the optimizer step; torch.nn.utils.prune recomputes
weight = weight_orig * mask in a forward pre-hook. Variants are interleaved round by round so that
load on a shared machine hits them alike; medians and their ratios to the dense step are printed.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from pathlib import Path

import torch
import torchvision
from torch import nn
from torch.nn.utils import prune as torch_prune

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.context import build_context
from bench.masks import apply, enforcer
from bench.scores import magnitude
from bench.select import global_topk


def make_step(model: nn.Module, batch, device: str, after=None):
    """A closure running one training step of `model` on `batch`."""
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=1e-4)
    x, y = batch

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        if after is not None:
            after()
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="resnet50")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--ratio", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    dense = getattr(torchvision.models, args.arch)(num_classes=100).to(args.device).train()
    g = torch.Generator().manual_seed(0)
    batch = (torch.randn(args.batch, 3, args.size, args.size, generator=g).to(args.device),
             torch.randint(0, 100, (args.batch,), generator=g).to(args.device))
    ctx = build_context(dense, args.ratio, batch, 0)
    masks = global_topk(magnitude(ctx), ctx.keep_fraction)

    masked = copy.deepcopy(dense)
    apply(masked, masks)
    reference = copy.deepcopy(dense)
    modules = dict(reference.named_modules())
    for name, mask in masks.items():
        torch_prune.custom_from_mask(modules[name.rsplit(".", 1)[0]], "weight", mask)

    steps = {"dense": make_step(dense, batch, args.device),
             "masked (bench.masks.enforcer)": make_step(masked, batch, args.device,
                                                        enforcer(masked, masks)),
             "torch.nn.utils.prune": make_step(reference, batch, args.device)}
    times: dict[str, list[float]] = {name: [] for name in steps}
    for step in steps.values():  # warm-up
        step()
    for _ in range(args.rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)

    print(f"{args.arch}, batch {args.batch}x3x{args.size}x{args.size}, {args.ratio:g}x global "
          f"magnitude masks, device {args.device}, {torch.get_num_threads()} threads, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores, {args.rounds} rounds")
    base = statistics.median(times["dense"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<30} {median * 1000:9.1f} ms   {median / base:5.3f}x dense")
    enforce = enforcer(masked, masks)
    alone = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        enforce()
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        alone.append(time.perf_counter() - start)
    print(f"{'enforcer call alone':<30} {statistics.median(alone) * 1000:9.1f} ms   "
          f"{statistics.median(alone) / base:5.3f}x dense (the overhead without noise)")
    params = dict(masked.named_parameters())
    still_zero = all(bool((params[n].detach()[~m] == 0).all()) for n, m in masks.items())
    print(f"pruned weights still zero after {args.rounds + 1} masked steps: {still_zero}")


if __name__ == "__main__":
    main()
