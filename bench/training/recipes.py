"""Training recipes: frozen, hashed hyperparameters for pretraining and finetuning."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields

from bench.errors import InvalidValueError
from bench.registry import Registry


@dataclass(frozen=True)
class Recipe:
    """Hyperparameters of one training phase. The key hashes only the non-default fields,
    so adding a field with a default keeps every existing key."""

    epochs: int = field(default=10, metadata={"help": "passes over the training split"})
    batch_size: int = field(default=128, metadata={"help": "examples per optimizer step"})
    optimizer: str = field(default="sgd", metadata={"help": "sgd (with momentum) or adam"})
    lr: float = field(default=0.05, metadata={"help": "peak learning rate"})
    momentum: float = field(default=0.9, metadata={"help": "SGD momentum (ignored by adam)"})
    nesterov: bool = field(default=False, metadata={"help": "Nesterov momentum for SGD"})
    weight_decay: float = field(default=5e-4, metadata={"help": "L2 penalty in the optimizer"})
    schedule: str = field(
        default="cosine", metadata={"help": "lr schedule per step: cosine, step or constant"}
    )
    step_milestones: tuple[float, ...] = field(
        default=(0.5, 0.75), metadata={"help": "fractions of training where 'step' divides lr"}
    )
    step_gamma: float = field(default=0.1, metadata={"help": "factor of each 'step' decay"})
    warmup_epochs: int = field(default=0, metadata={"help": "epochs of linear lr warm-up"})
    augment: bool = field(
        default=True, metadata={"help": "dataset's standard augmentation (if it has one)"}
    )

    def __post_init__(self) -> None:
        if self.optimizer not in ("sgd", "adam"):
            raise InvalidValueError(f"optimizer must be 'sgd' or 'adam', not {self.optimizer!r}")
        if self.schedule not in ("cosine", "step", "constant"):
            raise InvalidValueError(f"schedule must be cosine, step or constant, not {self.schedule!r}")
        if self.epochs < 0 or self.batch_size < 1 or self.lr <= 0:
            raise InvalidValueError("epochs must be >= 0, batch_size >= 1 and lr > 0")

    def non_default(self) -> dict:
        """The fields whose values differ from the class defaults."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value != f.default:
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def to_dict(self) -> dict:
        """Every field, JSON-ready."""
        return {f.name: (lambda v: list(v) if isinstance(v, tuple) else v)(getattr(self, f.name))
                for f in fields(self)}

    @property
    def key(self) -> str:
        """Stable 12-hex-digit hash of the non-default fields."""
        return stable_hash(self.non_default())


def stable_hash(payload: object) -> str:
    """Short SHA-256 of a JSON-serialisable payload, independent of dict order."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


RECIPES: Registry[Recipe] = Registry("recipe")
RECIPES.register("pretrain-small", Recipe(epochs=10, lr=0.05, augment=False))
# The 8x8 digits have 1,437 training images: batches of 32 give LeNet-5 enough steps to converge.
RECIPES.register("pretrain-digits", Recipe(epochs=10, lr=0.05, batch_size=32, augment=False))
RECIPES.register("pretrain-small-fast", Recipe(epochs=3, lr=0.1, augment=False))
RECIPES.register("finetune-small", Recipe(epochs=2, lr=0.01, schedule="constant", augment=False))
RECIPES.register("finetune-small-fast", Recipe(epochs=1, lr=0.01, schedule="constant", augment=False))
RECIPES.register("finetune-small-long", Recipe(epochs=6, lr=0.01, augment=False))
# LeNet-5 on MNIST-5k: pretrain-small (lr 0.05, batches of 128, no warm-up) left 13 of 16 conv2
# channels dead and 96% top-1; smaller batches, a lower peak and a warm-up epoch give 97.8% and
# no dead conv channel on the calibration batch, in about 15 s on one thread.
RECIPES.register("pretrain-lenet5-mnist", Recipe(epochs=20, batch_size=32, lr=0.02,
                                                 warmup_epochs=1, augment=False))
# The CIFAR recipes of He et al. 2016 / ShrinkBench, for users with a GPU.
RECIPES.register("pretrain-cifar", Recipe(epochs=160, lr=0.1, weight_decay=1e-4,
                                          schedule="step", nesterov=True))
RECIPES.register("finetune-cifar", Recipe(epochs=30, lr=0.01, weight_decay=1e-4, schedule="cosine"))
RECIPES.register("pretrain-imagenet", Recipe(epochs=90, batch_size=256, lr=0.1, weight_decay=1e-4,
                                             schedule="step", step_milestones=(1 / 3, 2 / 3, 8 / 9)))
RECIPES.register("finetune-imagenet", Recipe(epochs=10, batch_size=256, lr=0.001,
                                             weight_decay=1e-4))


def get(name: str) -> Recipe:
    """The named recipe (the error lists the valid names)."""
    return RECIPES.get(name)


def field_help() -> dict[str, str]:
    """Help text of each recipe field, with its default."""
    return {f.name: f"{f.metadata.get('help', '')} (default {f.default!r})" for f in fields(Recipe)}
