"""Figures of a language model as evaluated: perplexity, parameters and MACs per token against
the dense model. The dense figures are computed once per (model, corpus, windows) and kept on
disk beside the cached models."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import torch
from torch import Tensor, nn

from bench.harness import row as rows
from bench.lm.perplexity import perplexity
from bench.metrics.macs import LayerCount
from bench.metrics.profile import Profile, profile
from bench.metrics.size import count_params
from bench.training.cache import atomic_write

DENSE_FOLDER = "lm/dense"  # under the cache root: dense figures, one JSON file per key


def dense_profile(model: nn.Module, windows: Tensor) -> Profile:
    """Per-layer counts of the dense model on one test window (its MACs per window)."""
    return profile(model, windows[:1])


def dense_figures(model: nn.Module, windows: Tensor, prof: Profile, cache_root: Path,
                  key: str) -> dict:
    """Perplexity, parameters and MACs per token (from its profile `prof`) of the dense model,
    read from the cache when this key was measured before."""
    path = Path(cache_root) / DENSE_FOLDER / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"
    try:
        found = json.loads(path.read_text())
        if found.get("key") == key:
            return {k: v for k, v in found.items() if k != "key"} | {"seconds_eval": 0.0}
    except (OSError, ValueError):
        pass
    start = time.perf_counter()
    ppl = perplexity(model, windows)
    evaluated = time.perf_counter()
    params, _ = count_params(model)
    out = {"perplexity_dense": ppl.value, "params_dense": params,
           "macs_dense": round(prof.macs_total / windows.shape[1]),
           "seconds_eval": evaluated - start, "seconds_count": time.perf_counter() - evaluated}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda f: f.write(json.dumps(out | {"key": key}).encode()))
    except OSError:
        pass  # a read-only cache only costs the dense evaluation next time
    return out


def model_figures(model: nn.Module, windows: Tensor, masks: dict, dense: dict,
                  dense_prof: Profile | None) -> dict:
    """Every metric of the model as evaluated; MACs are per token (of a window of the test
    length), compression and theoretical speedup against the dense model's counts. A masked
    model keeps the dense model's shapes, so its MACs are the dense profile `dense_prof`'s, each
    layer's scaled by the nonzeros counted on its weight now (no second counting pass); a model
    made smaller (`dense_prof` None) is counted afresh."""
    start = time.perf_counter()
    ppl = perplexity(model, windows)
    evaluated = time.perf_counter()
    total, nonzero = count_params(model)
    prof = recount(model, dense_prof) if dense_prof is not None else profile(model, windows[:1])
    length = windows.shape[1]
    return {
        "seconds_eval": evaluated - start, "seconds_count": time.perf_counter() - evaluated,
        "perplexity": ppl.value, "loss": ppl.loss, "eval_tokens": ppl.tokens,
        "eval_windows": ppl.windows, "eval_examples": ppl.windows,
        "params_total": total, "params_nonzero": nonzero,
        "compression": dense["params_dense"] / nonzero if nonzero else float("inf"),
        "sparsity": 1 - nonzero / total,
        "macs_total": round(prof.macs_total / length), "macs_nonzero": round(prof.macs_nonzero / length),
        "macs_other": round(prof.macs_other / length),
        "speedup_theoretical": (dense["macs_dense"] * length / prof.macs_nonzero if prof.macs_nonzero
                                else float("inf")),
        "layers": rows.layer_entries(prof.layers, masks),
        "device": str(next(model.parameters()).device), "threads": torch.get_num_threads(),
    }


def recount(model: nn.Module, dense: Profile) -> Profile:
    """The dense profile with each layer's weight nonzeros counted on `model` now, and its
    nonzero MACs scaled by them (activations are not counted again: None)."""
    modules = dict(model.named_modules())
    layers = []
    for c in dense.layers:
        weight = modules[c.name].weight
        nonzero = int(torch.count_nonzero(weight))
        layers.append(LayerCount(c.name, c.kind, c.weight_numel, nonzero, c.macs,
                                 round(c.macs * nonzero / max(c.weight_numel, 1)), c.params,
                                 c.calls, c.output_shape, c.activations, None))
    return Profile(layers, dense.macs_other, dense.examples)
