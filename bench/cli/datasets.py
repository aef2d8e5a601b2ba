"""List the datasets: classes, shapes, sizes, where their files come from and whether they are here.

Datasets on disk live under the data root (--bench-data DIR or $BENCH_DATA, default ~/data).
Nothing is downloaded unless asked: `python -m bench datasets --download cifar10 --bench-data DIR`.
"""

from __future__ import annotations

import argparse

from bench import data
from bench.cli._output import print_json, print_table
from bench.errors import BenchError, InvalidValueError
from bench.settings import add_options


def configure(parser: argparse.ArgumentParser) -> None:
    add_options(parser.add_argument, "--bench-data")
    parser.add_argument("--download", default=None, metavar="NAME",
                        help="fetch dataset NAME's files into the data root (needs the internet)")
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    if args.download:
        return _download(args.download, args.bench_data)
    rows = []
    for name in data.names():
        spec = data.get(name)
        rows.append({
            "name": name, "classes": spec.num_classes, "input": "x".join(map(str, spec.input_shape)),
            "train": spec.train_size, "test": spec.test_size,
            "available": data.available(name, args.bench_data),
            "pretrain": spec.pretrain_recipe, "finetune": spec.finetune_recipe,
            "augmentation": spec.augmentation, "source": spec.source,
        })
    corpora = _corpora(args.bench_data)
    if args.json:
        print_json([r | {"task": "classification"} for r in rows] + corpora)
        return 0
    print_table([{k: v for k, v in r.items() if k != "augmentation"} for r in rows])
    print("\ntext corpora (language models; cases of these datasets are of task lm):\n")
    print_table([{k: v for k, v in r.items() if k != "task"} for r in corpora])
    print(f"\ndata root: {data.data_root(args.bench_data)}")
    return 0


def _corpora(root: str | None) -> list[dict]:
    """The language-model corpora: window length, test windows, whether their files are here."""
    from bench.lm import corpus

    out = []
    for name, spec in corpus.CORPORA.items():
        here = corpus.available(name, root)
        out.append({"name": name, "task": "lm", "window": spec.window,
                    "test windows": spec.eval_windows or "all", "available": here,
                    "source": spec.description})
    return out


def _download(name: str, root: str | None) -> int:
    spec = data.get(name)
    if spec.embedded:
        print(f"{name} ships inside an installed package; nothing to download")
        return 0
    if spec.download is None:
        raise InvalidValueError(f"{name} cannot be downloaded automatically; put {spec.files} under "
                         f"{data.data_root(root)}")
    target = data.data_root(root)
    try:
        target.mkdir(parents=True, exist_ok=True)
        spec.download(target)
    except (OSError, RuntimeError) as exc:  # URLError is an OSError; torchvision's mirrors: Runtime
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        reason = getattr(exc, "reason", None) or " ".join(dict.fromkeys(lines[:1] + lines[-1:])) \
            or type(exc).__name__
        raise DownloadError(f"could not download {name} into {target} ({reason}); without a network, "
                            f"fetch its files ({spec.files}) where there is one and copy them under "
                            f"{target}, or point --bench-data DIR at a folder that has them") from None
    print(f"{name}: files are in {target} ({spec.files})")
    return 0


class DownloadError(BenchError, OSError):
    """A dataset's files could not be fetched (no network, a mirror down, a folder not writable)."""
