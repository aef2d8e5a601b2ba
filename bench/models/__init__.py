"""Architecture registry: pinned model definitions that adapt to a dataset's shape and classes."""

from __future__ import annotations

from torch import nn

from bench.errors import BenchError
from bench.models.spec import MODELS, Builder, ModelSpec, find_classifier, register

__all__ = ["Builder", "IncompatibleModelError", "ModelSpec", "build", "classifier_name", "get",
           "incompatibility", "names", "register"]


class IncompatibleModelError(BenchError, ValueError):
    """The architecture cannot run on the dataset's input shape; the message says why."""


def get(name: str) -> ModelSpec:
    """The architecture spec named `name` (the error lists the valid names)."""
    _load_builtin()
    if name not in MODELS:
        _load_torchvision()  # imported only when needed: it costs about two seconds
    return MODELS.get(name)


def names(torchvision: bool = True) -> list[str]:
    """All registered architecture names (the torchvision ones too unless `torchvision=False`)."""
    _load_builtin()
    if torchvision:
        _load_torchvision()
        return MODELS.names()
    return [n for n in MODELS.names() if MODELS.get(n).source != "torchvision"]


def incompatibility(name: str, input_shape: tuple[int, int, int], dataset: str = "") -> str | None:
    """Why architecture `name` cannot run on inputs of `input_shape`, or None if it can."""
    spec = get(name)
    if min(input_shape[1:]) >= spec.min_size and (
            spec.max_size is None or max(input_shape[1:]) <= spec.max_size):
        return None
    limit = f"{spec.min_size}..{spec.max_size or 'any'}"
    where = f"{dataset} ({input_shape[1]}x{input_shape[2]} images)" if dataset else f"{input_shape}"
    return (f"{name} does not fit {where}: it is made for images of {limit} pixels a side; "
            "pick an architecture made for this resolution")


def build(name: str, input_shape: tuple[int, int, int], num_classes: int,
          dataset: str = "") -> nn.Module:
    """A freshly initialised `name` for inputs of `input_shape` (C, H, W) and `num_classes`;
    an architecture that does not fit the input is refused with the reason."""
    reason = incompatibility(name, input_shape, dataset)
    if reason:
        raise IncompatibleModelError(reason)
    return get(name).build(input_shape, num_classes)


def classifier_name(model: nn.Module) -> str:
    """Name of the model's classifier layer: its `classifier_name` attribute, else find_classifier."""
    return getattr(model, "classifier_name", None) or find_classifier(model)


_builtin_loaded = False


def _load_builtin() -> None:
    global _builtin_loaded
    if not _builtin_loaded:
        _builtin_loaded = True
        from bench.models import cifar_resnet, cifar_vgg, small  # noqa: F401  (register on import)


_torchvision_loaded = False


def _load_torchvision() -> None:
    global _torchvision_loaded
    if not _torchvision_loaded:
        _torchvision_loaded = True
        from bench.models import torchvision  # noqa: F401  (registers every tv_<name>)
