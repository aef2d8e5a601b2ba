"""The architecture registry's entries: a spec per architecture, and the classifier rule."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from bench.registry import Registry

Builder = Callable[[tuple[int, int, int], int], nn.Module]  # (input_shape, num_classes) -> model


@dataclass(frozen=True)
class ModelSpec:
    """A registered architecture: its builder, a description and the inputs it accepts."""

    name: str
    build: Builder
    description: str
    min_size: int = 1  # smallest input height/width it accepts
    max_size: int | None = None  # largest, for nets whose classifier is sized for small inputs
    source: str = "bench"  # where the definition lives: bench (pinned here) or torchvision
    dataset: str = ""  # the dataset it is made for: `info ARCH` counts at its input by default


MODELS: Registry[ModelSpec] = Registry("architecture")


def register(spec: ModelSpec) -> ModelSpec:
    """Add an architecture to the registry."""
    return MODELS.register(spec.name, spec)


def find_classifier(model: nn.Module) -> str:
    """The classifier by position: the last Linear defined, else (as in SqueezeNet) the last Conv2d."""
    for kind in (nn.Linear, nn.Conv2d):
        found = [name for name, m in model.named_modules() if isinstance(m, kind)]
        if found:
            return found[-1]
    raise ValueError(f"{type(model).__name__} has no Linear or Conv2d layer; set model.classifier_name")
