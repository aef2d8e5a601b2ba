"""Keeping each case's final model (pruned, trained, measured) as `<folder>/<case_key>.pt`, so
that it can be reused or timed again elsewhere; load it with `bench.structured.io.load` (a
language model: `bench.lm.kept.load`)."""

from __future__ import annotations

import os
from pathlib import Path

from bench.errors import BenchError
from bench.harness.steps import CaseRun
from bench.structured import io
from bench.training.cache import sha256

INFO_COLUMNS = ("case_id", "case_key", "method", "method_hash", "dataset", "arch", "ratio", "seed",
                "protocol", "pretrained_sha256", "recipe_key", "top1", "compression",
                "speedup_theoretical")


class ModelFolderError(BenchError, OSError):
    """The folder given to keep the models in cannot be written."""


def check_folder(folder: str | os.PathLike) -> Path:
    """`folder` made if missing and proved writable (before any case spends its compute)."""
    path = Path(folder).expanduser().resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ModelFolderError(f"--bench-save-models {folder}: the folder cannot be written "
                               f"({exc.strerror or exc}); give a writable folder") from None
    return path


def save_model(run: CaseRun, folder: str | os.PathLike) -> dict:
    """Write the case's model with its masks and identity; the row's model_path and model_sha256.
    A case run again overwrites its file: model_sha256 says which weights a row describes."""
    folder = Path(folder).expanduser().resolve()  # proved writable once, by check_folder
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run.row['case_key']}.pt"
    info = {k: run.row.get(k) for k in INFO_COLUMNS}
    if run.case.task == "lm":
        from bench.lm import kept

        kept.save(run.model, path, run.case.arch, run.row["pretrained_sha256"], run.masks,
                  info | {"perplexity": run.row.get("perplexity")})
        return {"model_path": str(path), "model_sha256": sha256(path)}
    io.save(run.model, path, run.case.arch, run.ds.input_shape, run.ds.num_classes,
            masks=run.masks, info=info)
    return {"model_path": str(path), "model_sha256": sha256(path)}
