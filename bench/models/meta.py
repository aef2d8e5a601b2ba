"""Build a model on the meta device (shapes without data) for counting, whatever its constructor does."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn


def build_on_meta(build: Callable[[], nn.Module]) -> nn.Module:
    """`build()` with every parameter and buffer on the meta device: no memory, no initialisation.

    Constructors run under `torch.device("meta")`; one that computes with tensors (RegNet derives
    its widths with torch.arange(...).tolist(), which has no data on meta) is built again with
    its own tensors on the CPU and only the parameters and buffers it registers moved to meta."""
    try:
        with torch.device("meta"):
            return build()
    except (NotImplementedError, RuntimeError) as exc:
        if "meta" not in str(exc):
            raise
    with _registered_on_meta():
        return build()


@contextmanager
def _registered_on_meta() -> Iterator[None]:
    """While active, nn.Module.register_parameter and register_buffer move what they get to meta
    (the CPU tensors passed in are allocated but never initialised: torch.empty costs nothing)."""
    register_parameter, register_buffer = nn.Module.register_parameter, nn.Module.register_buffer

    def parameter(module, name, param):
        if param is not None and not param.is_meta:
            param = type(param)(param.to("meta"), requires_grad=param.requires_grad)
        register_parameter(module, name, param)

    def buffer(module, name, tensor, persistent=True):
        register_buffer(module, name, None if tensor is None else tensor.to("meta"), persistent)

    nn.Module.register_parameter, nn.Module.register_buffer = parameter, buffer
    try:
        yield
    finally:
        nn.Module.register_parameter, nn.Module.register_buffer = register_parameter, register_buffer
