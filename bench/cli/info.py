"""Parameters, MACs and activations of an architecture, in total and per conv/linear layer.

The model is built with random weights on the meta device (no memory, no compute) and counted for
one input: --dataset takes the dataset's input shape and classes, --input C,H,W a shape (with
--classes, default 1000). MACs are multiply-accumulates; the FLOPs column is 2 x MACs. Names that
the architecture registry lacks are looked up in torchvision.models.
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

from bench import data, models
from bench.cli._output import print_json, print_table
from bench.errors import InvalidValueError
from bench.metrics.profile import profile
from bench.models.meta import build_on_meta
from bench.registry import UnknownNameError
from bench.suggest import unknown


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("arch", help="architecture name (python -m bench models lists them)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--dataset", help="count at this dataset's input shape and classes "
                       "(default: the dataset the architecture is made for, e.g. lenet5: mnist5k, "
                       "torchvision models: imagenet)")
    where.add_argument("--input", metavar="C,H,W", help="count at this input shape, e.g. 3,224,224")
    parser.add_argument("--classes", type=int, default=None,
                        help="number of classes (default: the dataset's, else 1000)")
    parser.add_argument("--json", action="store_true", help="print JSON")


def parse_shape(text: str) -> tuple[int, int, int]:
    """'3,224,224' -> (3, 224, 224); anything else is an error that shows the expected form."""
    try:
        shape = tuple(int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise InvalidValueError(f"--input must be three positive integers C,H,W such as 3,224,224; "
                         f"got {text!r}")
    return shape  # type: ignore[return-value]


def default_dataset(arch: str) -> str:
    """The dataset `arch` is made for (torchvision's classifiers: imagenet)."""
    if arch in models.names():
        name = models.get(arch).dataset
    else:
        import torchvision

        name = "imagenet" if arch in torchvision.models.list_models() else ""
    if not name:
        build(arch, (3, 32, 32), 10)  # an unknown name: the error that lists the valid ones
        raise InvalidValueError(f"{arch} names no dataset it is made for; give the input as "
                                "--dataset NAME or --input C,H,W (e.g. 3,224,224)")
    return name


def build(arch: str, shape: tuple[int, int, int], classes: int) -> tuple[nn.Module, str]:
    """`arch` with random weights on the meta device, and where it came from."""
    if arch in models.names():
        return build_on_meta(lambda: models.build(arch, shape, classes)), "registry"
    import torchvision

    from bench.models.torchvision import build_torchvision

    if arch in torchvision.models.list_models():  # sized for the input as tv_<name> is (ViT)
        return build_on_meta(lambda: build_torchvision(arch, shape, classes)), "torchvision"
    raise UnknownNameError(unknown("architecture", arch, models.names())
                           + " (or a name in torchvision.models.list_models())")


def describe(arch: str, shape: tuple[int, int, int], classes: int) -> dict:
    """Totals and per-layer counts of `arch` for one input of `shape`."""
    model, source = build(arch, shape, classes)
    with torch.device("meta"):
        prof = profile(model, torch.zeros(1, *shape))
    layers = [{"name": c.name, "kind": c.kind, "params": c.params, "output_shape": c.output_shape,
               "macs": c.macs, "flops_2x_macs": 2 * c.macs, "activations": c.activations,
               "calls": c.calls} for c in prof.layers]
    return {"arch": arch, "source": source, "input_shape": list(shape), "classes": classes,
            "params_total": sum(p.numel() for p in model.parameters()),
            "macs_total": prof.macs_total, "macs_layers": prof.macs_total - prof.macs_other,
            "macs_other": prof.macs_other, "flops_2x_macs": 2 * prof.macs_total,
            "activations_total": prof.activations_total, "layers": layers}


def run(args: argparse.Namespace) -> int:
    if args.input:
        shape, classes = parse_shape(args.input), 1000
    else:
        spec = data.get(args.dataset or default_dataset(args.arch))
        shape, classes = spec.input_shape, spec.num_classes
    if args.classes is not None:
        if args.classes < 1:
            raise InvalidValueError(f"--classes must be a positive integer, got {args.classes}")
        classes = args.classes
    info = describe(args.arch, tuple(shape), classes)
    if args.json:
        print_json(info)
        return 0
    print_table([{"layer": r["name"], "kind": r["kind"], "params": r["params"],
                  "output": "x".join(map(str, r["output_shape"])), "MACs": r["macs"],
                  "FLOPs (2 x MACs)": r["flops_2x_macs"], "activations": r["activations"]}
                 for r in info["layers"]])
    print(f"\n{info['arch']} ({info['source']}) at input {tuple(shape)}, {classes} classes: "
          f"{info['params_total']:,} parameters, {info['macs_total']:,} MACs "
          f"({info['flops_2x_macs']:,} FLOPs = 2 x MACs; {info['macs_other']:,} MACs outside "
          f"conv/linear layers), {info['activations_total']:,} activations per input")
    return 0
