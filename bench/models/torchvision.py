"""Every torchvision classification model as `tv_<name>`: random init, or a local weights file."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from bench.errors import InvalidValueError
from bench.models.spec import ModelSpec, find_classifier, register

PREFIX = "tv_"
# smallest input side each family accepts (default 32): AlexNet pools 63 to 1x1, MaxViT needs
# its 7x7 partitions after a /32 stem-and-stages
MIN_SIZE = {"inception_v3": 75, "alexnet": 63, "maxvit_t": 224}
DEFAULT_MIN_SIZE = 32


def _first_conv(model: nn.Module) -> tuple[nn.Module, str, nn.Conv2d] | None:
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            parent_name, _, attr = name.rpartition(".")
            return model.get_submodule(parent_name), attr, module
    return None


def build_torchvision(tv_name: str, input_shape: tuple[int, int, int], num_classes: int,
                      weights: str | os.PathLike | None = None) -> nn.Module:
    """torchvision's `tv_name` for `num_classes`, its first conv adapted to the input channels,
    randomly initialised, or loaded from a local `weights` file (weights_only=True)."""
    import torchvision.models as tvm

    c, h, _ = input_shape
    kwargs: dict = {"weights": None, "num_classes": num_classes}
    if tv_name.startswith("vit_"):
        kwargs["image_size"] = h
    if tv_name.startswith("maxvit_"):
        kwargs["input_size"] = input_shape[1:]
    if tv_name in ("inception_v3", "googlenet"):
        kwargs.update(aux_logits=False, init_weights=True)
    model = tvm.get_model(tv_name, **kwargs)
    found = _first_conv(model)
    if found is not None and found[2].in_channels != c:
        parent, attr, old = found
        setattr(parent, attr, nn.Conv2d(c, old.out_channels, old.kernel_size, old.stride,
                                        old.padding, old.dilation, old.groups, old.bias is not None))
    model.classifier_name = find_classifier(model)  # type: ignore[assignment]
    if weights is not None:
        path = Path(weights).expanduser()
        state = torch.load(path, map_location="cpu", weights_only=True)
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            raise InvalidValueError(f"weights file {path} does not fit {tv_name} with input {input_shape} "
                             f"and {num_classes} classes: {exc}") from None
    return model


def register_torchvision(name: str, tv_name: str, weights: str | os.PathLike | None = None,
                         description: str = "") -> ModelSpec:
    """Register torchvision's `tv_name` under `name`, optionally with a local weights file."""

    def build(input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
        return build_torchvision(tv_name, input_shape, num_classes, weights)

    family = tv_name.split("_")[0]
    text = description or f"torchvision {tv_name}" + (f" with weights {weights}" if weights else "")
    return register(ModelSpec(name, build, text,
                              min_size=MIN_SIZE.get(tv_name, MIN_SIZE.get(family, DEFAULT_MIN_SIZE)),
                              source="torchvision", dataset="imagenet"))


def _register_all() -> None:
    import torchvision.models as tvm

    for tv_name in tvm.list_models(module=tvm):
        register_torchvision(PREFIX + tv_name, tv_name)


_register_all()
