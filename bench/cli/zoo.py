"""List the pretrained models in the cache, or pretrain a grid of them ahead of time.

    python -m bench zoo                                   # what is cached
    python -m bench zoo pretrain --datasets digits mnist5k --archs lenet5 mlp resnet20
"""

from __future__ import annotations

import argparse

import torch

from bench import data, models
from bench.cli._output import print_json, print_table
from bench.settings import add_options
from bench.training.zoo import Zoo


def configure(parser: argparse.ArgumentParser) -> None:
    add_options(parser.add_argument, "--bench-cache")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--verify", action="store_true", help="check every checksum while listing")
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    pre = sub.add_parser("pretrain", help="train every missing (dataset, arch, seed) of a grid")
    pre.add_argument("--datasets", nargs="+", default=["mnist5k"], metavar="NAME")
    pre.add_argument("--archs", nargs="+", default=["lenet5"], metavar="NAME")
    pre.add_argument("--seeds", nargs="+", type=int, default=[0], metavar="N")
    pre.add_argument("--recipe", default=None, help="pretraining recipe (default: the dataset's)")
    add_options(pre.add_argument, "--bench-data")
    pre.add_argument("--device", default="cpu", help="torch device to train on")
    pre.add_argument("--threads", type=int, default=None, help="torch CPU threads")


def run(args: argparse.Namespace) -> int:
    if getattr(args, "action", None) == "pretrain":
        return _pretrain(args)
    zoo = Zoo(args.bench_cache)
    rows = [{"key": m["key"], "dataset": m.get("dataset"), "arch": m.get("arch"),
             "seed": m.get("seed"), "recipe_key": m.get("recipe_key"), "step": m.get("step"),
             "top1": m.get("top1"),
             "sha256": m.get("sha256", "")[:12], "train_s": m.get("train_seconds"),
             "created_at": m.get("created_at")} | ({"valid": m["valid"]} if args.verify else {})
            for m in zoo.cached(verify=args.verify)]
    if args.json:
        print_json(rows)
    else:
        print_table(rows)
        print(f"\ncache: {zoo.root}")
    return 0


def _pretrain(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    zoo = Zoo(args.bench_cache, args.bench_data, args.device)
    rows = []
    for name in args.datasets:
        ds = data.get(name)
        for arch in args.archs:
            reason = models.incompatibility(arch, ds.input_shape, name)
            if reason:
                print(f"skipped: {reason}")
                continue
            for got in zoo.pretrain([name], [arch], args.seeds, args.recipe):
                rows.append({"dataset": name, "arch": arch, "seed": got.spec.seed, "key": got.spec.key,
                             "top1": got.meta["top1"], "train_s": got.meta.get("train_seconds"),
                             "trained_now": got.spec.key in zoo.trained})
    if args.json:
        print_json(rows)
    else:
        print_table(rows)
    return 0
