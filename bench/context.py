"""What a pruning method is given: prunable weights, the fraction to keep, data and a seeded RNG."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from bench.errors import BenchError, InvalidValueError
from bench.models import classifier_name

PRUNABLE_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


class UnreachableCompressionError(BenchError, ValueError):
    """The target compression needs more than every prunable weight removed."""


UNITS = ("params", "macs")


@dataclass(frozen=True)
class Target:
    """What the case asks for: `value` x fewer `unit` than the dense model (params or macs)."""

    value: float
    unit: str = "params"

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise InvalidValueError(f"target unit must be one of {', '.join(UNITS)}, not {self.unit!r}")


@dataclass
class PruneContext:
    """Inputs a method may use; methods read it and never need to re-derive these."""

    model: nn.Module
    compression: float
    prunable: dict[str, nn.Parameter]
    keep_fraction: float
    batch: tuple[Tensor, Tensor]
    loss_fn: Callable[[Tensor, Tensor], Tensor]
    generator: torch.Generator
    classifier: str
    masks: dict[str, Tensor] = field(default_factory=dict)  # current masks: all kept at first
    target: Target | None = None
    # language models (bench.lm): the case's N:M pattern (None: unstructured), and statistics of
    # each prunable layer's calibration inputs when the method declares CALIBRATION
    pattern: tuple[int, int] | None = None
    inputs: object | None = None  # bench.lm.calibrate.LayerInputs
    # channel methods on language models: the coupled structures (bench.lm.structures.Structure)
    # that are scored and removed whole, MLP channels and key/value head groups
    structures: list | None = None

    @property
    def device(self) -> torch.device:
        """Device of the model's parameters (methods compute there, without copies)."""
        return next(self.model.parameters()).device


def weight_name(module: str) -> str:
    """The parameter name of a module's weight, as in `model.named_parameters()`."""
    return f"{module}.weight" if module else "weight"


def prunable_parameters(model: nn.Module, include_classifier: bool = False) -> dict[str, nn.Parameter]:
    """Weights of the convolution and linear layers, keyed as in `model.named_parameters()`;
    the classifier's weight is left out unless `include_classifier`."""
    skip = None if include_classifier else classifier_name(model)
    out, seen = {}, set()
    for name, module in model.named_modules():
        if isinstance(module, PRUNABLE_TYPES) and name != skip and id(module.weight) not in seen:
            seen.add(id(module.weight))  # a weight shared by two layers is listed once
            out[weight_name(name)] = module.weight
    return out


def keep_fraction(model: nn.Module, prunable: dict[str, Tensor], compression: float) -> float:
    """Fraction of prunable weights to keep so that the whole model, all parameters counted,
    reaches `compression` = total / nonzero (ShrinkBench's fraction_to_keep)."""
    if not math.isfinite(compression) or compression < 1:
        raise InvalidValueError(f"compression must be a finite number >= 1 (total / kept parameters), "
                         f"got {compression}")
    total = sum(p.numel() for p in model.parameters())
    prunable_size = sum(p.numel() for p in prunable.values())
    if prunable_size == 0:
        raise UnreachableCompressionError("the model has no prunable weights")
    fixed = total - prunable_size
    fraction = (total / compression - fixed) / prunable_size
    if fraction <= 0:
        raise UnreachableCompressionError(
            f"compression {compression:g}x is out of reach: {fixed:,} of {total:,} parameters are "
            f"not prunable, so at most {total / max(fixed, 1):.2f}x is possible; ask for less, "
            "or make more layers prunable (e.g. include the classifier)"
        )
    return min(1.0, fraction)


def build_context(
    model: nn.Module,
    compression: float,
    batch: tuple[Tensor, Tensor],
    seed: int,
    include_classifier: bool = False,
    masks: dict[str, Tensor] | None = None,
    unit: str = "params",
) -> PruneContext:
    """A PruneContext for `model` at `compression` with a calibration `batch`, a seeded RNG and
    the current `masks` (default: every prunable weight kept)."""
    prunable = prunable_parameters(model, include_classifier)
    device = next(model.parameters()).device
    current = {name: torch.ones_like(p, dtype=torch.bool) for name, p in prunable.items()}
    current |= {name: m.to(device) for name, m in (masks or {}).items()}
    return PruneContext(
        model=model,
        compression=compression,
        prunable=prunable,
        keep_fraction=keep_fraction(model, prunable, compression),
        batch=(batch[0].to(device), batch[1].to(device)),
        loss_fn=nn.CrossEntropyLoss(),
        generator=torch.Generator(device=device).manual_seed(seed),
        classifier=classifier_name(model),
        masks=current,
        target=Target(compression, unit),
    )
