"""The language-model task: corpora and token windows, models, block-by-block calibration,
perplexity, tokens per second, and the run of one case (bench.lm.run.LMRun).

Public for users: `calibration(corpus, count, length, seed, tokenizer)` gives the calibration
windows a case uses (their sha256 is on the row as calibration_sha256)."""

from __future__ import annotations

import os

__all__ = ["calibration", "door_problem", "fingerprint", "test_windows"]


def __getattr__(name: str):
    """calibration, fingerprint and test_windows, imported on use (they need torch; listing the
    corpora does not)."""
    if name in ("calibration", "fingerprint", "test_windows"):
        from bench.lm import windows

        return getattr(windows, name)
    raise AttributeError(f"module 'bench.lm' has no attribute {name!r}")


def door_problem(dataset: str, arch: str, data_root: str | os.PathLike | None = None) -> str | None:
    """Why a language-model case of (dataset, arch) cannot run, found without loading anything
    (None: it can): an unknown model, a folder that is not a causal-LM folder, a missing file."""
    from bench.data import DatasetUnavailableError
    from bench.lm import corpus
    from bench.lm.models import EMBEDDED, causal, is_lm_arch

    if arch not in EMBEDDED:
        if not is_lm_arch(arch):
            return (f"unknown language model {arch!r}: use one of {', '.join(EMBEDDED)} or the path "
                    "of a local Hugging Face folder")
        import json
        from pathlib import Path

        folder = Path(arch).expanduser()
        if not (folder / "config.json").is_file():
            return (f"model folder {folder} {'has no config.json' if folder.is_dir() else 'does not exist'}"
                    "; name a folder written by save_pretrained")
        try:
            names = json.loads((folder / "config.json").read_text()).get("architectures") or []
        except (OSError, ValueError) as exc:
            return f"model folder {folder}: config.json cannot be read ({exc})"
        if not causal(names):
            return (f"model folder {folder} holds {', '.join(names)}, not a causal language model "
                    "(*ForCausalLM)")
    if not corpus.get(dataset).embedded:
        try:
            corpus.test_text(dataset, data_root)
            corpus.calibration_documents(dataset, data_root)
        except DatasetUnavailableError as exc:
            return str(exc)
    return None
