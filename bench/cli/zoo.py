"""List the pretrained models in the cache, or pretrain a grid of them ahead of time.

    python -m bench zoo                                   # what is cached, with each model's
                                                          # reproducibility record
    python -m bench zoo pretrain --datasets digits mnist5k --archs lenet5 mlp resnet20
    python -m bench zoo export weights.tar --datasets mnist5k   # entries into one archive
    python -m bench zoo import weights.tar                      # on another machine, verified
    python -m bench zoo clean --kind imp-round --dry-run        # what freeing space would remove
"""

from __future__ import annotations

import argparse

import torch

from bench import data, models
from bench.cli._output import print_rows
from bench.settings import SHARED_OPTIONS, add_options
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
    pre.add_argument("--threads", type=int, default=None,
                     help="torch CPU threads outside training (pretraining itself always runs "
                          "with 1, so that the weights do not depend on the thread count)")
    exp = sub.add_parser("export", help="write chosen entries (weights, metadata, checkpoints) to a "
                                        "tar archive")
    exp.add_argument("path", metavar="ARCHIVE")
    exp.add_argument("--keys", nargs="+", default=None, metavar="KEY", help="entries by key")
    exp.add_argument("--datasets", nargs="+", default=None, metavar="NAME")
    exp.add_argument("--archs", nargs="+", default=None, metavar="NAME")
    exp.add_argument("--seeds", nargs="+", type=int, default=None, metavar="N")
    imp = sub.add_parser("import", help="take in an archive's entries, each sha256 verified")
    imp.add_argument("path", metavar="ARCHIVE")
    imp.add_argument("--replace", action="store_true",
                     help="overwrite entries cached here with other weights under the same key")
    clean = sub.add_parser("clean", help="remove entries chosen by kind, dataset, arch, seed or "
                                         "key (at least one); entries in use are left alone")
    clean.add_argument("--kind", nargs="+", default=None, metavar="KIND",
                       help="model, checkpoint, imp-round (iterative-pruning rounds kept to "
                            "resume) or damaged (checksum mismatch, unreadable metadata)")
    clean.add_argument("--keys", nargs="+", default=None, metavar="KEY")
    clean.add_argument("--datasets", nargs="+", default=None, metavar="NAME")
    clean.add_argument("--archs", nargs="+", default=None, metavar="NAME")
    clean.add_argument("--seeds", nargs="+", type=int, default=None, metavar="N")
    clean.add_argument("--dry-run", action="store_true", help="list what would go, remove nothing")
    # --bench-cache also after the action (zoo import A --bench-cache DIR); SUPPRESS: when it is
    # absent there, the value given before the action stands
    after = SHARED_OPTIONS["--bench-cache"] | {"default": argparse.SUPPRESS}
    for action in (pre, exp, imp, clean):
        action.add_argument("--bench-cache", **after)


def run(args: argparse.Namespace) -> int:
    if getattr(args, "action", None) == "pretrain":
        return _pretrain(args)
    if getattr(args, "action", None) == "clean":
        return _clean(args)
    if getattr(args, "action", None) in ("export", "import"):
        return _archive(args)
    zoo = Zoo(args.bench_cache)
    rows = [{"key": m["key"], "dataset": m["dataset"], "arch": m["arch"], "seed": m.get("seed"),
             "recipe_key": m.get("recipe_key"), "step": m.get("step"), "top1": m.get("top1"),
             "sha256": m.get("sha256", "")[:12], "torch": m.get("torch"),
             "threads": m.get("threads"), "train_s": m.get("train_seconds"),
             "created_at": m.get("created_at")} | ({"valid": m["valid"]} if args.verify else {})
            for m in zoo.cached(verify=args.verify) if "arch" in m]  # models, not other entries
    if not print_rows(rows, args.json):
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
    print_rows(rows, args.json)
    return 0


def _archive(args: argparse.Namespace) -> int:
    from bench.training import archive

    zoo = Zoo(args.bench_cache)
    if args.action == "export":
        keys = archive.select(zoo.cache, args.keys, args.datasets, args.archs, args.seeds)
        n = archive.export_entries(zoo.cache, keys, args.path)
        print(f"wrote {n} entries to {args.path}")
        return 0
    outcome = archive.import_entries(zoo.cache, args.path, args.replace)
    rows = [{"key": key, "result": what} for key, what in outcome.items()]
    print_rows(rows, args.json)
    return 0


def _clean(args: argparse.Namespace) -> int:
    from bench.training import cleanup

    zoo = Zoo(args.bench_cache)
    chosen = cleanup.choose(zoo.cache, args.kind, args.datasets, args.archs, args.seeds, args.keys)
    outcome = ({e.key: "would remove" for e in chosen} if args.dry_run
               else cleanup.remove(zoo.cache, chosen))
    rows = [{"key": e.key, "kind": e.kind, "dataset": e.meta.get("dataset"),
             "arch": e.meta.get("arch"), "seed": e.meta.get("seed"), "MB": round(e.bytes / 2**20, 2),
             "result": outcome[e.key]} for e in chosen]
    if print_rows(rows, args.json):
        return 0
    freed = sum(e.bytes for e in chosen if outcome[e.key] != "in use")
    verb = "would free" if args.dry_run else "freed"
    print(f"\n{len(chosen)} entries, {verb} {freed / 2**20:.1f} MB in {zoo.root}")
    return 0
