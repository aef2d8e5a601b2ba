"""Timing a language-model case's kept model again, against the dense model it was pruned from:
prefill and decode tokens per second on the first test window, as the case measured them."""

from __future__ import annotations

from bench.harness.env import BenchEnv
from bench.lm import kept, models
from bench.lm import windows as lm_windows
from bench.lm.corpus import get as corpus
from bench.lm.run import dense_language_model
from bench.lm.speed import tokens_per_second


def dense_model(row: dict, env: BenchEnv) -> models.LanguageModel:
    """The dense language model of `row`, loaded once per process, refused when its sha256 is
    not the one the row records."""
    lm = dense_language_model(env, row["arch"])
    if lm.sha256 != row.get("pretrained_sha256"):
        raise kept.KeptModelMismatchError(
            f"{row['case_id']}: the cache {env.zoo.root} holds other weights of {row['arch']} "
            f"({lm.sha256[:12]}) than the row's ({str(row.get('pretrained_sha256'))[:12]}); point "
            "--bench-cache at the run's cache")
    return lm


def retime(row: dict, env: BenchEnv) -> dict:
    """Prefill and decode speedups of the row's kept model measured again now (speedup_measured:
    prefill, as on the row), with their A/A checks and realisation gaps."""
    lm = dense_model(row, env)
    pruned = kept.load(row["model_path"], dense=lm).to(env.device)
    length = row.get("window_length") or min(corpus(row["dataset"]).window, lm.context)
    test = lm_windows.test_windows(row["dataset"], length, lm.tokenizer,
                                   corpus(row["dataset"]).eval_windows, env.zoo.data_root)
    backend = "dense" if row.get("method_kind") == "channel" else "dense-masked"
    out = tokens_per_second(lm.model, pruned, test[0], parallel=False, backend=backend)
    out["speedup_measured"] = out["speedup_measured_prefill"]
    theory = row.get("speedup_theoretical")
    if theory and out["speedup_measured"]:
        out["realisation_gap"] = out["speedup_measured"] / theory
    return out
