"""The schema of the results database: its tables and columns (the one list of them), their keys,
migrations, and what a case's status means."""

from __future__ import annotations

from collections.abc import Iterable

SCHEMA_VERSION = 7
# Steps that adding missing columns cannot do (renames, backfills), keyed by the version they reach.
# Added columns need no step: every open adds the columns of the dicts below that a table lacks.
MIGRATIONS: dict[int, list[str]] = {
    2: [],  # v2 added runs.options, runs.pytest and results.worker (added as missing columns)
    3: [],  # v3 added case_key, pretrained_sha256, protocol, training cost, per-layer activations,
            # epoch phases (added as missing columns)
    4: [],  # v4 added results.model_path and model_sha256 (added as missing columns)
    5: [],  # v5 added the retimes table (created as a missing table)
    6: [],  # v6 added results.channel_ties, the task and pattern coordinates and the
            # language-model columns (added as missing columns)
    7: [],  # v7 added the structured LM columns (head groups removed, recovery steps, the
            # perplexity before recovery) and a kept LM's tokens per second to retimes
}

RUN_COLUMNS = {
    "run_id": "VARCHAR PRIMARY KEY", "started_at": "TIMESTAMP", "finished_at": "TIMESTAMP",
    "exit_status": "INTEGER", "git_commit": "VARCHAR", "git_dirty": "BOOLEAN",
    "command": "VARCHAR", "host": "VARCHAR", "platform": "VARCHAR", "cpu": "VARCHAR",
    "cpu_count": "INTEGER", "gpu": "VARCHAR", "python": "VARCHAR", "torch": "VARCHAR",
    "torchvision": "VARCHAR", "bench_version": "VARCHAR", "pytest": "VARCHAR", "workers": "INTEGER",
    "device": "VARCHAR", "options": "JSON",
    # long grids (issue 15): the grid a run belongs to (--bench-grid) and its shard (--bench-shard K/N)
    "grid": "VARCHAR", "shard": "VARCHAR",
}

RESULT_COLUMNS = {
    "run_id": "VARCHAR NOT NULL", "nodeid": "VARCHAR NOT NULL", "case_id": "VARCHAR",
    "case_key": "VARCHAR", "status": "VARCHAR NOT NULL", "error": "VARCHAR", "protocol": "VARCHAR",
    "method": "VARCHAR", "method_hash": "VARCHAR", "dataset": "VARCHAR", "arch": "VARCHAR",
    "ratio": "DOUBLE", "seed": "INTEGER", "pretrain_seed": "INTEGER",
    "include_classifier": "BOOLEAN", "calibration_size": "INTEGER",
    "pretrained_key": "VARCHAR", "pretrained_sha256": "VARCHAR", "pretrain_recipe": "VARCHAR",
    "pretrain_recipe_key": "VARCHAR",
    "finetune_recipe": "VARCHAR", "recipe_key": "VARCHAR", "keep_fraction": "DOUBLE",
    "pruned_weights_zero": "BOOLEAN",
    "top1": "DOUBLE", "top5": "DOUBLE", "loss": "DOUBLE", "eval_examples": "INTEGER",
    "top1_dense": "DOUBLE", "top5_dense": "DOUBLE",
    "params_total": "BIGINT", "params_nonzero": "BIGINT", "compression": "DOUBLE",
    "sparsity": "DOUBLE", "macs_total": "BIGINT", "macs_nonzero": "BIGINT",
    "speedup_theoretical": "DOUBLE", "latency_ms": "DOUBLE", "latency_iqr_ms": "DOUBLE",
    "latency_dense_ms": "DOUBLE", "speedup_measured": "DOUBLE", "latency_parallel": "BOOLEAN",
    "params_dense": "BIGINT", "macs_dense": "BIGINT", "macs_other": "BIGINT",
    "activations_total": "BIGINT", "activations_nonzero": "DOUBLE",
    "latency_runs": "INTEGER", "latency_dense_iqr_ms": "DOUBLE", "latency_dense_runs": "INTEGER",
    "latency_batch_size": "INTEGER", "latency_batch_ms": "DOUBLE",
    "latency_batch_iqr_ms": "DOUBLE", "latency_batch_runs": "INTEGER",
    "latency_dense_batch_ms": "DOUBLE", "latency_dense_batch_iqr_ms": "DOUBLE",
    "latency_dense_batch_runs": "INTEGER", "speedup_measured_batch": "DOUBLE",
    "device": "VARCHAR", "threads": "INTEGER", "worker": "VARCHAR", "started_at": "TIMESTAMP",
    "duration_s": "DOUBLE", "extra": "JSON",
    "train_steps": "BIGINT", "train_examples": "BIGINT", "prune_seconds": "DOUBLE",
    # issue 12, latency you can trust: the fixed timing threads and the A/A check
    "latency_threads": "INTEGER", "latency_aa": "DOUBLE", "latency_aa_batch": "DOUBLE",
    "latency_stable": "BOOLEAN", "latency_batch_stable": "BOOLEAN",
    "latency_unstable_reason": "VARCHAR",
    # long grids (issue 15): seconds per phase of the case (bench/harness/timing.py)
    "seconds_pretrain": "DOUBLE", "seconds_prune": "DOUBLE", "seconds_train": "DOUBLE",
    "seconds_eval": "DOUBLE", "seconds_count": "DOUBLE", "seconds_latency": "DOUBLE",
    # protocols (issue 13): resolved options, sanity control, pretraining used, pruning calls,
    # rounds taken from the trajectory cache
    "protocol_options": "JSON", "control": "VARCHAR", "pretrain_steps": "BIGINT",
    "prune_steps": "INTEGER", "resumed_rounds": "INTEGER",
    # structured and N:M pruning, measured beside theoretical speedup (issue 14)
    "target": "VARCHAR", "round_to": "INTEGER", "method_kind": "VARCHAR",
    "target_achieved": "DOUBLE", "target_tolerance": "DOUBLE", "channel_scope": "VARCHAR",
    "channel_fraction": "DOUBLE", "nm_pattern": "VARCHAR",
    # a channel method's removed channels chosen among tied scores, by index (issue 21)
    "channel_ties": "DOUBLE",
    "latency_dtype": "VARCHAR", "latency_backend": "VARCHAR",
    "latency_sweep": "JSON", "realisation_gap": "DOUBLE", "realisation_gap_batch": "DOUBLE",
    "latency_semistructured_ms": "DOUBLE", "speedup_semistructured": "DOUBLE",
    "semistructured_backend": "VARCHAR", "reinitialised": "BOOLEAN",
    # the case's final model, kept with --bench-save-models DIR (bench/harness/saved_models.py)
    "model_path": "VARCHAR", "model_sha256": "VARCHAR",
    # language models (bench/lm): the task, the pattern coordinate, perplexity over the test
    # windows, the calibration windows' identity, MACs per token, measured tokens per second
    "task": "VARCHAR", "pattern": "VARCHAR", "perplexity": "DOUBLE", "perplexity_dense": "DOUBLE",
    "eval_windows": "INTEGER", "eval_tokens": "BIGINT", "window_length": "INTEGER",
    "calibration_windows": "INTEGER", "calibration_length": "INTEGER",
    "calibration_sha256": "VARCHAR", "eval_sha256": "VARCHAR", "model_source": "VARCHAR",
    "updates_weights": "BOOLEAN", "keep_fraction_achieved": "DOUBLE", "dense_layers": "JSON",
    "prefill_tokens": "INTEGER", "tokens_per_s_prefill": "DOUBLE",
    "tokens_per_s_prefill_dense": "DOUBLE", "tokens_per_s_decode": "DOUBLE",
    "tokens_per_s_decode_dense": "DOUBLE", "speedup_measured_prefill": "DOUBLE",
    "speedup_measured_decode": "DOUBLE", "latency_aa_prefill": "DOUBLE",
    "latency_aa_decode": "DOUBLE", "prune_threads": "INTEGER",
    # structured LM pruning (issue 20): key/value head groups removed of all, and the recovery
    "heads_removed": "INTEGER", "heads_total": "INTEGER", "recovery_steps": "INTEGER",
    "recovery_tokens": "BIGINT", "recovery_loss": "DOUBLE", "perplexity_unrecovered": "DOUBLE",
}

LAYER_COLUMNS = {
    "run_id": "VARCHAR NOT NULL", "nodeid": "VARCHAR NOT NULL", "layer": "VARCHAR NOT NULL",
    "kind": "VARCHAR", "pruned": "BOOLEAN", "params": "BIGINT", "nonzero": "BIGINT",
    "sparsity": "DOUBLE", "macs": "BIGINT", "macs_nonzero": "BIGINT", "calls": "INTEGER",
    "activations": "BIGINT", "activations_nonzero": "DOUBLE",
    # structured pruning (issue 14): channels (features) now and in the dense model
    "in_channels": "INTEGER", "out_channels": "INTEGER", "in_channels_dense": "INTEGER",
    "out_channels_dense": "INTEGER",
}

EPOCH_COLUMNS = {
    "run_id": "VARCHAR NOT NULL", "nodeid": "VARCHAR NOT NULL", "epoch": "INTEGER NOT NULL",
    "train_loss": "DOUBLE", "train_top1": "DOUBLE", "lr": "DOUBLE",
    "phase": "VARCHAR", "round": "INTEGER", "phase_epoch": "INTEGER",
}

# A kept model timed again after its run (python -m bench retime --save): one row per timing.
RETIME_COLUMNS = {
    "retime_id": "VARCHAR NOT NULL", "run_id": "VARCHAR NOT NULL", "nodeid": "VARCHAR NOT NULL",
    "pass": "INTEGER NOT NULL", "case_key": "VARCHAR", "model_sha256": "VARCHAR",
    "timed_at": "TIMESTAMP", "host": "VARCHAR", "cpu": "VARCHAR", "device": "VARCHAR",
    "torch": "VARCHAR",
    "latency_ms": "DOUBLE", "latency_iqr_ms": "DOUBLE", "latency_runs": "INTEGER",
    "latency_dense_ms": "DOUBLE", "latency_dense_iqr_ms": "DOUBLE", "latency_dense_runs": "INTEGER",
    "speedup_measured": "DOUBLE", "latency_batch_size": "INTEGER", "latency_batch_ms": "DOUBLE",
    "latency_batch_iqr_ms": "DOUBLE", "latency_batch_runs": "INTEGER",
    "latency_dense_batch_ms": "DOUBLE", "latency_dense_batch_iqr_ms": "DOUBLE",
    "latency_dense_batch_runs": "INTEGER", "speedup_measured_batch": "DOUBLE",
    "latency_threads": "INTEGER", "latency_aa": "DOUBLE", "latency_aa_batch": "DOUBLE",
    "latency_stable": "BOOLEAN", "latency_batch_stable": "BOOLEAN",
    "latency_unstable_reason": "VARCHAR", "latency_dtype": "VARCHAR", "latency_backend": "VARCHAR",
    "latency_sweep": "JSON", "latency_parallel": "BOOLEAN", "realisation_gap": "DOUBLE",
    "realisation_gap_batch": "DOUBLE",
    # language models (v7): prefill and decode timings of a kept LM
    "prefill_tokens": "INTEGER", "tokens_per_s_prefill": "DOUBLE",
    "tokens_per_s_prefill_dense": "DOUBLE", "tokens_per_s_decode": "DOUBLE",
    "tokens_per_s_decode_dense": "DOUBLE", "speedup_measured_prefill": "DOUBLE",
    "speedup_measured_decode": "DOUBLE", "latency_aa_prefill": "DOUBLE",
    "latency_aa_decode": "DOUBLE",
}

TABLES = {"runs": RUN_COLUMNS, "results": RESULT_COLUMNS, "layers": LAYER_COLUMNS,
          "epochs": EPOCH_COLUMNS, "retimes": RETIME_COLUMNS}
KEYS = {"runs": ("run_id",), "results": ("run_id", "nodeid"), "layers": ("run_id", "nodeid", "layer"),
        "epochs": ("run_id", "nodeid", "epoch"), "retimes": ("retime_id", "run_id", "nodeid", "pass")}
JSON_COLUMNS = {"extra", "options", "latency_sweep", "dense_layers"}  # in results, runs and retimes


# Keys of a case row that are not columns of `results` but rows of their own tables.
CHILDREN = {"layers": "layers", "epochs": "epochs"}

PASSED = "passed"
FAILED = ("failed", "error")


def passed(rows: Iterable[dict]) -> list[dict]:
    """The rows of cases that passed (a row without a status counts as passed)."""
    return [r for r in rows if r.get("status", PASSED) == PASSED]


class UnknownColumnError(KeyError):
    """A row carries a key that no column of its table holds (it would be lost silently)."""

    def __str__(self) -> str:
        return str(self.args[0])


def check_columns(table: str, row: dict, ignore: Iterable[str] = ()) -> None:
    """Refuse a row with a key that `table` has no column for, naming the key and the fix."""
    unknown = sorted(set(row) - set(TABLES[table]) - set(ignore))
    if unknown:
        raise UnknownColumnError(
            f"{table} has no column for {', '.join(map(repr, unknown))}; add it to "
            f"bench/results/schema.py (and bump SCHEMA_VERSION) or leave it out of the row")
