"""List the architectures: bench's pinned ones and every torchvision classifier (as tv_<name>).

With --dataset NAME, each is built for that dataset's input and classes: its parameter count,
or why it does not fit.
"""

from __future__ import annotations

import argparse

from bench import data, models
from bench.cli._output import print_rows


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default=None, metavar="NAME",
                        help="count parameters (or say why it does not fit) on this dataset")
    parser.add_argument("--no-torchvision", action="store_true", help="hide the torchvision models")
    parser.add_argument("--filter", default="", metavar="TEXT", help="only names containing TEXT")
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    ds = data.get(args.dataset) if args.dataset else None
    rows = []
    for name in models.names(torchvision=not args.no_torchvision):
        if args.filter not in name:
            continue
        spec = models.get(name)
        row = {"name": name, "source": spec.source,
               "sizes": f"{spec.min_size}..{spec.max_size or 'any'}", "description": spec.description}
        if ds is not None:
            reason = models.incompatibility(name, ds.input_shape, ds.name)
            if reason is None:
                model = models.build(name, ds.input_shape, ds.num_classes, ds.name)
                row |= {"params": sum(p.numel() for p in model.parameters()),
                        "classifier": models.classifier_name(model)}
            else:
                row |= {"params": None, "classifier": reason}
        rows.append(row)
    if ds is None:  # language models: any text corpus; a local folder is named by its path
        from bench.lm.models import EMBEDDED

        rows += [{"name": name, "source": "language model (task lm)", "sizes": "tokens",
                  "description": what} for name, what in EMBEDDED.items() if args.filter in name]
    print_rows(rows, args.json)
    return 0
