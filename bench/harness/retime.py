"""Timing a case's kept model again, against the dense model it was pruned from, away from the
run that made it: serially on a quiet machine, or on another device."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from bench import data
from bench.errors import InvalidValueError, MissingFileError
from bench.harness import measure
from bench.harness.env import BenchEnv
from bench.structured import io
from bench.training import recipes
from bench.training.cache import sha256
from bench.training.zoo import PretrainedSpec


class KeptModelChangedError(InvalidValueError):
    """The kept model file, or the dense model in the cache, is not the one the row describes."""


def kept_file_problem(row: dict) -> str:
    """Why the row's kept model file cannot be timed, in one line ('' when it can): it is gone,
    truncated or corrupt, of a newer format, or holds other weights than `model_sha256` (a later
    run of the case wrote it)."""
    path = Path(row.get("model_path") or "")
    again = "run the case again with --bench-save-models DIR (and --bench-rerun if it passed)"
    if not row.get("model_path") or not path.is_file():
        return f"{row['case_id']}: no kept model at {path}; {again}"
    reason = io.unreadable(path)
    if reason:
        return f"{row['case_id']}: {reason}" + ("" if "upgrade" in reason else f"; {again}")
    if sha256(path) != row.get("model_sha256"):
        return (f"{row['case_id']}: {path} holds other weights than this row describes (a later "
                "run of the case wrote it); retime that run's row (--run)")
    return ""


def check(row: dict, env: BenchEnv) -> None:
    """Refuse a row that cannot be timed again, saying why: its kept model file (kept_file_problem),
    or its dense model is not in the cache with the sha256 the row records. The dense model is
    loaded once per process (env.dense_model)."""
    problem = kept_file_problem(row)
    if problem:
        raise (MissingFileError if "no kept model" in problem else KeptModelChangedError)(problem)
    dense_model(row, env)


def dense_model(row: dict, env: BenchEnv) -> nn.Module:
    """The dense model `row` was pruned from, from the zoo (never trained here), on env.device;
    a language model from its cache, checked by sha256."""
    if row.get("task") == "lm":
        from bench.lm import retime as lm_retime

        return lm_retime.dense_model(row, env).model
    spec = PretrainedSpec(row["dataset"], row["arch"], recipes.get(row["pretrain_recipe"]),
                          row.get("pretrain_seed") or 0)
    pretrained = env.zoo.load(spec) if spec.key == row["pretrained_key"] else None
    if pretrained is None or pretrained.meta.get("sha256") != row.get("pretrained_sha256"):
        raise KeptModelChangedError(f"{row['case_id']}: the cache {env.zoo.root} holds other dense "
                                    f"weights than the row's ({row['pretrained_key']}); point "
                                    "--bench-cache at the run's cache, or bring it with "
                                    "python -m bench zoo export/import")
    return env.dense_model(pretrained)


def retime(row: dict, env: BenchEnv) -> dict:
    """The latency columns of `row` measured again now (sweep, A/A checks, speedups and gaps),
    from its kept model against its dense model; `check` the row first. A language model's are
    its prefill and decode tokens per second (bench.lm.retime)."""
    if row.get("task") == "lm":
        from bench.lm import retime as lm_retime

        return lm_retime.retime(row, env)
    dense = dense_model(row, env)
    pruned = io.load(row["model_path"]).to(env.device).eval()
    backend = "dense" if row.get("method_kind") == "channel" else "dense-masked"
    input_shape = data.get(row["dataset"]).input_shape
    figures = measure.latencies(dense, pruned, input_shape, parallel=False, backend=backend)
    return figures | measure.realisation(figures | {"speedup_theoretical": row["speedup_theoretical"]})
