"""The keys of a result row, made in one place: the case's identity, its layers, its epochs, and
the rows of cases that crashed or could not be stored. The schema (bench/results/schema.py) owns
the columns; the store refuses a key without one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict

from bench.context import weight_name
from bench.harness.case import Case
from bench.metrics.macs import LayerCount
from bench.training.loop import EpochLog


def identity(case: Case) -> dict:
    """The case's coordinates, conditions, test id and key as row columns."""
    return case.columns()


def layer_entries(layers: Iterable[LayerCount], masks: dict) -> list[dict]:
    """One `layers` row per conv/linear layer: size, nonzeros, MACs and activations."""
    return [{"layer": c.name, "kind": c.kind, "pruned": weight_name(c.name) in masks,
             "params": c.weight_numel, "nonzero": c.weight_nonzero, "sparsity": c.sparsity,
             "macs": c.macs, "macs_nonzero": c.macs_nonzero, "calls": c.calls,
             "activations": c.activations, "activations_nonzero": c.activations_nonzero}
            for c in layers]


def add_channels(entries: list[dict], channels: dict[str, tuple[int, int]],
                 dense: dict[str, tuple[int, int]]) -> None:
    """Input and output channels (features) of each layer now and in the dense model; a layer
    whose channels were removed counts as pruned."""
    for entry in entries:
        now, before = channels.get(entry["layer"]), dense.get(entry["layer"])
        if now and before:
            entry.update(in_channels=now[0], out_channels=now[1], in_channels_dense=before[0],
                         out_channels_dense=before[1])
            entry["pruned"] = entry["pruned"] or now != before


def epoch_entries(logs: Iterable[EpochLog], phase: str, round_: int = 0) -> list[dict]:
    """One `epochs` row per training epoch, tagged with its phase (pretrain, finetune ...) and
    round (iterative protocols train several times)."""
    return [asdict(log) | {"phase": phase, "round": round_, "phase_epoch": log.epoch} for log in logs]


def crashed(run_id: str, nodeid: str, longrepr: str) -> dict:
    """The row of a test whose worker process died before it could report."""
    return {"run_id": run_id, "nodeid": nodeid, "status": "error",
            "case_id": nodeid.partition("[")[2].rstrip("]") or None,
            "error": f"the worker process running this test crashed\n{longrepr}"}


IDENTITY_COLUMNS = ("run_id", "nodeid", "case_id", "case_key", "method", "dataset", "arch",
                    "worker")


def unstorable(row: dict, reason: Exception) -> dict:
    """What is kept of a row the database refused: its identity, status error and the reason."""
    keep = {k: str(row[k]) for k in IDENTITY_COLUMNS if row.get(k) is not None}
    return keep | {"status": "error",
                   "error": f"row not storable: {reason}\n{row.get('error') or ''}"}
