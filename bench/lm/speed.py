"""Measured speed of a language model against its dense model: prefill tokens per second (one
window at batch 1) and decode tokens per second (one new token with the key/value cache of a
window), each with the harness's A/A check (dense, pruned, dense timed in turn)."""

from __future__ import annotations

import inspect

import torch
from torch import Tensor, nn

from bench.metrics import latency as latency_metric

PREFILL_TOKENS = 128  # tokens of the timed prefill window
BUDGET = 0.3  # seconds of timed runs per model and figure, warm-up aside
MIN_SAMPLES = 3


class _Prefill(nn.Module):
    """One forward pass over a fixed window (the input the timer passes is ignored)."""

    def __init__(self, model: nn.Module, ids: Tensor) -> None:
        super().__init__()
        self.model, self.ids = model, ids

    def forward(self, _x: Tensor) -> Tensor:
        return self.model(input_ids=self.ids, use_cache=False).logits


class _Decode(nn.Module):
    """One new token after a window held in the key/value cache, the cache cut back after it so
    that every timed step sees the same cache length."""

    def __init__(self, model: nn.Module, ids: Tensor) -> None:
        super().__init__()
        self.model = model
        with torch.no_grad():
            out = model(input_ids=ids[:, :-1], use_cache=True)
        cache = getattr(out, "cache", None)
        self.cache = cache if cache is not None else out.past_key_values
        # transformers 5 names the argument `cache`; earlier releases `past_key_values`
        self.keyword = "cache" if "cache" in inspect.signature(model.forward).parameters \
            else "past_key_values"
        self.length, self.token = ids.shape[1] - 1, ids[:, -1:]

    def forward(self, _x: Tensor) -> Tensor:
        out = self.model(input_ids=self.token, use_cache=True, **{self.keyword: self.cache}).logits
        try:
            self.cache.crop(self.length)
        except ValueError:  # releases that take only the number of tokens to drop, negated
            self.cache.crop(self.length - self.cache.get_seq_length())
        return out


def tokens_per_second(dense: nn.Module, pruned: nn.Module, window: Tensor, parallel: bool,
                      backend: str = "dense-masked") -> dict:
    """Prefill and decode tokens per second of `pruned` and `dense` on the first PREFILL_TOKENS
    of `window`, their ratios (speedup_measured_prefill, _decode), the A/A ratios and whether
    each figure is stable (latency_stable: prefill, latency_batch_stable: decode). `backend` says
    what is timed: masked dense weights (dense-masked), or a model made smaller (dense)."""
    ids = window[:PREFILL_TOKENS].unsqueeze(0).to(next(pruned.parameters()).device)
    out: dict = {"latency_threads": latency_metric.THREADS, "latency_parallel": parallel,
                 "latency_backend": backend, "prefill_tokens": ids.shape[1],
                 "latency_dtype": str(next(pruned.parameters()).dtype).removeprefix("torch.")}
    reasons = []
    for figure, wrap, stable_key in (("prefill", _Prefill, "latency_stable"),
                                     ("decode", _Decode, "latency_batch_stable")):
        d, p = wrap(dense, ids), wrap(pruned, ids)
        a, m, b = latency_metric.measure_alternating(
            [d, p, d], (1,), 1, parallel, min_run_time=BUDGET / 3, max_run_time=BUDGET,
            min_samples=MIN_SAMPLES)
        pooled = latency_metric.pooled(a, b)
        tokens = ids.shape[1] if figure == "prefill" else 1
        out[f"tokens_per_s_{figure}"] = tokens * 1e3 / m.median_ms
        out[f"tokens_per_s_{figure}_dense"] = tokens * 1e3 / pooled.median_ms
        out[f"speedup_measured_{figure}"] = pooled.median_ms / m.median_ms
        out[f"latency_aa_{figure}"] = a.median_ms / b.median_ms
        reason = latency_metric.instability(a, b, m)
        out[stable_key] = reason is None
        if reason:
            reasons.append(f"{figure}: {reason}")
    out["latency_unstable_reason"] = "; ".join(reasons) or None
    return out
