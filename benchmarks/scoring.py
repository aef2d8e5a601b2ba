"""Time magnitude scoring + global top-k selection over a torchvision resnet50 (random init).

Run: python benchmarks/scoring.py [--repeats N] [--device cpu|cuda]
Prints the median time of scoring + selection at several compression ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch
import torchvision

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.context import build_context
from bench.scores import magnitude
from bench.select import global_topk, layer_topk


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_it(fn, repeats: int, device: str) -> float:
    """Median wall time of fn() in seconds, after one warm-up call (min printed with it
    would flatter a shared machine; the load average is printed instead)."""
    fn()
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = torchvision.models.resnet50(num_classes=1000).to(args.device)
    batch = (torch.zeros(1, 3, 224, 224), torch.zeros(1, dtype=torch.long))
    prunable = sum(p.numel() for p in build_context(model, 2, batch, 0).prunable.values())
    print(f"resnet50: {sum(p.numel() for p in model.parameters()):,} parameters, {prunable:,} "
          f"prunable; device {args.device}, {torch.get_num_threads()} threads, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for ratio in (2, 4, 10):  # the classifier and batch norms cap resnet50 at 12.2x
        ctx = build_context(model, ratio, batch, 0)
        glob = time_it(lambda ctx=ctx: global_topk(magnitude(ctx), ctx.keep_fraction),
                       args.repeats, args.device)
        layer = time_it(lambda ctx=ctx: layer_topk(magnitude(ctx), ctx.keep_fraction),
                        args.repeats, args.device)
        print(f"ratio {ratio:>2}: magnitude + global top-k {glob * 1000:7.1f} ms | "
              f"magnitude + layer top-k {layer * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
