"""Keeping a language-model case's final model: its weights, masks, and the width of every
structure it was narrowed to, beside the name of the dense model it came from and that model's
sha256; loaded again by rebuilding the dense model, narrowing it and loading the weights strictly,
so that it computes the same logits. Read with torch.load(weights_only=True)."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import torch
from torch import nn

from bench.errors import InvalidValueError
from bench.lm import models, shrink
from bench.lm.structures import UnknownBlockError, structures
from bench.structured.io import FORMAT
from bench.training.cache import atomic_write

TASK = "lm"


class KeptModelMismatchError(InvalidValueError):
    """A kept LM whose dense model in the cache is not the one it was pruned from."""


def save(model: nn.Module, path: str | os.PathLike, arch: str, pretrained_sha256: str,
         masks: dict[str, torch.Tensor] | None = None, info: dict | None = None) -> None:
    """Write `model` (pruned from the language model `arch`, whose weights had
    `pretrained_sha256`) to `path` atomically, with the widths of its structures."""
    try:
        widths = shrink.widths(model, structures(model))
    except UnknownBlockError:  # a family channel pruning does not know: masked, never narrowed
        widths = {}
    saved = {"format": FORMAT, "task": TASK, "arch": arch, "pretrained_sha256": pretrained_sha256,
             "widths": widths,
             "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
             "masks": {k: v.detach().cpu().bool() for k, v in (masks or {}).items()},
             "info": dict(info or {})}
    atomic_write(Path(path), lambda f: torch.save(saved, f))


def is_kept_lm(saved: dict) -> bool:
    """True when a loaded kept-model file holds a language model."""
    return isinstance(saved, dict) and saved.get("task") == TASK


def load(path: str | os.PathLike, cache: str | os.PathLike | None = None,
         dense: models.LanguageModel | None = None) -> nn.Module:
    """The kept language model at `path`, in eval mode, on the CPU: its dense model (a copy of
    `dense` when given, else loaded from the cache; refused when its sha256 differs from the one
    recorded), narrowed, its weights loaded."""
    saved = torch.load(path, map_location="cpu", weights_only=True)
    if not is_kept_lm(saved) or saved.get("format") != FORMAT:
        raise InvalidValueError(f"{path}: not a kept language model of format {FORMAT} "
                                "(saved by bench.lm.kept.save)")
    dense = dense or models.load(saved["arch"], cache)
    if dense.sha256 != saved["pretrained_sha256"]:
        raise KeptModelMismatchError(
            f"{path} was pruned from {saved['arch']} with sha256 {saved['pretrained_sha256'][:12]}, "
            f"but the cache holds {dense.sha256[:12]}; point --bench-cache at the run's cache")
    model = copy.deepcopy(dense.model).cpu()
    if saved["widths"]:
        shrink.narrow(model, structures(model), saved["widths"])
    model.load_state_dict(saved["state_dict"], strict=True)
    return model.eval()
