"""Per-process state shared by the cases: the zoo, the methods, and dense figures computed once."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

from bench.errors import BenchError
from bench.methods import BrokenMethodError, Method, discover
from bench.training.zoo import Pretrained, Zoo


class UnknownMethodError(BenchError, KeyError):
    """A case names a method that has no file in the methods folder."""


@dataclass
class BenchEnv:
    """What every case of one process shares; built once per pytest session (or worker)."""

    zoo: Zoo
    methods_dir: str | None = None
    device: str = "cpu"
    measure_latency: bool = True
    parallel: bool = False  # other workers running: latency is flagged as taken under load
    save_models: str | None = None  # folder where each case's final model is kept (None: not kept)
    _methods: dict[str, Method] | None = None
    dense: dict[str, dict] = field(default_factory=dict)  # figures of each dense model, by key
    _dense_models: dict[str, nn.Module] = field(default_factory=dict)
    # what a task keeps per process beside these, by its own keys (the LM task: its loaded
    # language models and the dense profile of each (model, corpus, windows))
    task_state: dict = field(default_factory=dict)

    def dense_model(self, pretrained: Pretrained) -> nn.Module:
        """The dense pretrained model on the bench device, built once per process and key
        (a reference for latency: never pruned or trained)."""
        key = pretrained.spec.key
        if key not in self._dense_models:
            self._dense_models[key] = pretrained.build().to(self.device).eval()
        return self._dense_models[key]

    def methods(self) -> dict[str, Method]:
        """Methods discovered once per process."""
        if self._methods is None:
            self._methods = discover(self.methods_dir)
        return self._methods

    def method(self, name: str) -> Method:
        """A loaded method, or an error carrying why it is broken."""
        found = self.methods()
        if name not in found:
            raise UnknownMethodError(f"unknown method {name!r}; valid names: {', '.join(sorted(found))}")
        method = found[name]
        if not method.ok:
            raise BrokenMethodError(f"method {name!r} is broken: {method.error}")
        return method
