"""Block-by-block calibration, as Wanda's and SparseGPT's code do it: the calibration windows run
through the blocks one at a time, each block's inputs coming from the blocks before it as already
pruned; within a block, statistics of every prunable layer's input are gathered for the method.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import Tensor, nn

from bench.lm.models import blocks

CHUNK = 8  # calibration windows per forward pass through a block


class LayerInputs:
    """Statistics of the inputs X (tokens x in) each prunable layer of a block saw on the
    calibration windows: squared L2 norms per input feature, and the Gram matrix X^T X when asked."""

    def __init__(self, gram: bool) -> None:
        self.tokens: dict[str, int] = {}
        self._sq: dict[str, Tensor] = {}
        self._gram: dict[str, Tensor] | None = {} if gram else None

    def add(self, name: str, x: Tensor) -> None:
        """Take in one batch of inputs of layer `name` (any leading shape, last dim = in)."""
        x = x.detach().reshape(-1, x.shape[-1]).float()
        self.tokens[name] = self.tokens.get(name, 0) + x.shape[0]
        sq = x.pow(2).sum(0)
        self._sq[name] = self._sq[name] + sq if name in self._sq else sq
        if self._gram is not None:
            g = x.t() @ x
            self._gram[name] = self._gram[name] + g if name in self._gram else g

    def norm(self, name: str) -> Tensor:
        """L2 norm of each input feature over every calibration token (Wanda's ||X_j||_2)."""
        return self._sq[name].sqrt()

    def gram(self, name: str) -> Tensor:
        """X^T X over every calibration token (SparseGPT's Hessian is 2/n of it)."""
        if self._gram is None:
            raise RuntimeError("the Gram matrix was not gathered: declare CALIBRATION = 'gram'")
        return self._gram[name]


class DenseCalibration:
    """What channel methods measure of the dense model on a case's calibration windows (input
    norms, Taylor scores), each computed on first use and kept in `store`, which the bench keys
    by (model, windows): the cases of several methods, ratios and protocols with the same seed
    share one pass instead of repeating it."""

    def __init__(self, model: nn.Module, windows: Tensor, layers: list[str], store: dict) -> None:
        self.model, self.windows, self.layers, self.store = model, windows, layers, store

    def memo(self, key: object, make: Callable[[], object]) -> object:
        """The value kept under `key`, made by `make()` the first time."""
        if key not in self.store:
            self.store[key] = make()
        return self.store[key]

    def norm(self, name: str) -> Tensor:
        """L2 norm of each input feature of layer `name` over every calibration token (the
        dense model's blocks in turn, as `sequential` runs them)."""
        return self.memo("norms", self._norms)[name]

    def _norms(self) -> dict[str, Tensor]:
        found: dict[str, Tensor] = {}
        sequential(self.model, self.windows, self.layers,
                   lambda names, stats: found.update({n: stats.norm(n) for n in names}))
        return found


def sequential(model: nn.Module, windows: Tensor, layer_names: Iterable[str],
               prune_block: Callable[[list[str], LayerInputs], None], gram: bool = False) -> int:
    """Run `windows` through the model's blocks in turn; for each block, gather the inputs of its
    layers among `layer_names` (module names) and call `prune_block(names, inputs)`, then feed the
    block's outputs, computed after pruning, to the next block. Returns the tokens seen."""
    prefix, layers = blocks(model)
    wanted = set(layer_names)
    device = next(model.parameters()).device
    states = [_first_block_inputs(model, layers[0], chunk.to(device)) for chunk in windows.split(CHUNK)]
    for index, block in enumerate(layers):
        inner = {f"{prefix}.{index}.{n}": m for n, m in block.named_modules()
                 if f"{prefix}.{index}.{n}" in wanted}
        stats = LayerInputs(gram)
        hooks = [m.register_forward_pre_hook(_recorder(stats, name)) for name, m in inner.items()]
        try:
            with torch.no_grad():
                for args, kwargs in states:
                    block(*args, **kwargs)
        finally:
            for h in hooks:
                h.remove()
        if inner:
            prune_block(list(inner), stats)
        with torch.no_grad():
            states = [((_hidden(block(*args, **kwargs)), *args[1:]), kwargs) for args, kwargs in states]
    return int(windows.numel())


def _recorder(stats: LayerInputs, name: str):
    def hook(_module, inputs):
        stats.add(name, inputs[0])
    return hook


def _hidden(output) -> Tensor:
    """The hidden states a block returns (a tensor, or the first item of a tuple)."""
    return output[0] if isinstance(output, tuple | list) else output


_CACHE_ARGUMENTS = ("cache", "past_key_values", "past_key_value", "layer_past", "use_cache")


class _Caught(Exception):
    """Raised by the first block to stop the forward pass once its inputs are known."""


def _first_block_inputs(model: nn.Module, first: nn.Module, ids: Tensor) -> tuple[tuple, dict]:
    """The positional and keyword arguments the first block receives for `ids` (hidden states,
    attention mask, position embeddings ...), caught by stopping the forward pass there."""
    caught: dict = {}

    def hook(_module, args, kwargs):
        caught["args"], caught["kwargs"] = args, kwargs
        raise _Caught

    handle = first.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        with torch.no_grad():
            model(input_ids=ids, use_cache=False)
    except _Caught:
        pass
    finally:
        handle.remove()
    kwargs = {k: v for k, v in caught["kwargs"].items() if k not in _CACHE_ARGUMENTS}
    args = caught["args"]
    if not args:  # hidden states passed by keyword
        args = (kwargs.pop("hidden_states"),)
    return args, kwargs
