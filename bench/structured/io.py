"""Save and load a pruned model: its architecture's name and input, every layer's channel counts
and shortcut mappings, its weights, and its masks if it has any; read back with
torch.load(weights_only=True)."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from bench import models
from bench.errors import InvalidValueError
from bench.models.cifar_resnet import ShortcutA
from bench.training.cache import atomic_write

FORMAT = 1
SHAPE_ATTRIBUTES = ("in_channels", "out_channels", "in_features", "out_features", "num_features",
                    "groups")


def describe(model: nn.Module) -> dict:
    """The widths of every layer (the attributes channel removal changes), and each option-A
    shortcut's mapping, as plain Python values."""
    shapes, shortcuts = {}, {}
    for name, module in model.named_modules():
        found = {a: getattr(module, a) for a in SHAPE_ATTRIBUTES if isinstance(getattr(module, a, None), int)}
        if found:
            shapes[name] = found
        if isinstance(module, ShortcutA) and module.src is not None:
            shortcuts[name] = {"src": module.src.tolist(), "dst": module.dst.tolist()}
    return {"shapes": shapes, "shortcuts": shortcuts}


def save(model: nn.Module, path: str | os.PathLike, arch: str, input_shape: tuple[int, ...],
         num_classes: int, masks: dict[str, torch.Tensor] | None = None,
         info: dict | None = None) -> None:
    """Write `model` (a registered architecture `arch`, possibly with channels removed) to `path`
    atomically, with its `masks` (weight name -> bool tensor) and `info` (plain values, e.g. the
    case it came from) if given."""
    saved = {"format": FORMAT, "arch": arch, "input_shape": list(input_shape),
             "num_classes": num_classes, **describe(model),
             "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
             "masks": {k: v.detach().cpu().bool() for k, v in (masks or {}).items()},
             "info": dict(info or {})}
    atomic_write(Path(path), lambda f: torch.save(saved, f))


def load(path: str | os.PathLike) -> nn.Module:
    """The model saved at `path`: the architecture rebuilt, narrowed to the saved widths, weights
    loaded strictly (every key and shape must match)."""
    saved = read(path)
    model = models.build(saved["arch"], tuple(saved["input_shape"]), saved["num_classes"])
    modules = dict(model.named_modules())
    for name, attributes in saved["shapes"].items():
        for attribute, value in attributes.items():
            setattr(modules[name], attribute, value)
    for name, mapping in saved["shortcuts"].items():
        modules[name].src = torch.tensor(mapping["src"], dtype=torch.long)
        modules[name].dst = torch.tensor(mapping["dst"], dtype=torch.long)
    _resize(model, saved["state_dict"])
    model.load_state_dict(saved["state_dict"], strict=True)
    return model


def read(path: str | os.PathLike) -> dict:
    """Everything saved at `path` as plain values and tensors: `masks` and `info` beside what
    `load` builds the model from."""
    saved = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        raise InvalidValueError(f"{path}: not a pruned model of format {FORMAT} (saved by "
                                "bench.structured.io.save)")
    return saved


def unreadable(path: str | os.PathLike) -> str:
    """Why `path` cannot be loaded as a kept model ('' when it can): truncated or corrupt, written
    in a newer format than this bench reads, or not a kept model at all."""
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a cut-off zip, flipped bytes, a pickle with code
        detail = (str(exc).strip().splitlines() or [""])[0]
        return f"{path} is truncated or corrupt ({type(exc).__name__}: {detail})"
    found = saved.get("format") if isinstance(saved, dict) else None
    if isinstance(found, int) and found > FORMAT:
        return (f"{path} is a kept model of format {found}, newer than this bench reads ({FORMAT}); "
                "upgrade prunebench to load it")
    if found != FORMAT:
        return f"{path} is not a pruned model of format {FORMAT} (saved by bench.structured.io.save)"
    return ""


def _resize(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Give every parameter and buffer the shape it has in `state` (values are loaded after)."""
    modules = dict(model.named_modules())
    for key, value in state.items():
        owner, _, attribute = key.rpartition(".")
        module = modules.get(owner)
        current = getattr(module, attribute, None) if module is not None else None
        if not isinstance(current, torch.Tensor) or current.shape == value.shape:
            continue
        if isinstance(current, nn.Parameter):
            setattr(module, attribute, nn.Parameter(torch.empty_like(value, dtype=current.dtype),
                                                    requires_grad=current.requires_grad))
        else:
            setattr(module, attribute, torch.empty_like(value, dtype=current.dtype))
