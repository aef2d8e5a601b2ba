"""Timing a case's kept model again, against the dense model it was pruned from, away from the
run that made it: serially on a quiet machine, or on another device."""

from __future__ import annotations

from pathlib import Path

from bench import data, models
from bench.errors import InvalidValueError, MissingFileError
from bench.harness import measure
from bench.structured import io
from bench.training.cache import WeightsCache, sha256
from bench.training.zoo import MissingWeightsError


class KeptModelChangedError(InvalidValueError):
    """The kept model file holds other weights than the row describes."""


def check(row: dict, cache: WeightsCache) -> tuple[Path, tuple]:
    """The row's kept model file and its dense weights (state dict, metadata), or an error that
    says why it cannot be timed again: the file is gone or overwritten, or the dense model is
    not in the cache with the sha256 the row records."""
    path = Path(row.get("model_path") or "")
    if not row.get("model_path") or not path.is_file():
        raise MissingFileError(f"{row['case_id']}: no kept model at {path}; run the case with "
                               "--bench-save-models DIR (and --bench-rerun if it already passed)")
    if sha256(path) != row.get("model_sha256"):
        raise KeptModelChangedError(f"{row['case_id']}: {path} holds other weights than this row "
                                    "describes (a later run of the case wrote it); retime that "
                                    "run's row (--run)")
    found = cache.load(row["pretrained_key"])
    if found is None or found[1].get("sha256") != row.get("pretrained_sha256"):
        weights = f"{row['pretrained_key']}, sha256 {(row.get('pretrained_sha256') or '')[:12]}"
        raise MissingWeightsError(f"{row['case_id']}: the dense model it was pruned from "
                                  f"({weights}) is not in the cache {cache.root}; point "
                                  "--bench-cache at the run's cache, or bring it with "
                                  "python -m bench zoo export/import")
    return path, found


def retime(row: dict, cache: WeightsCache, device: str = "cpu") -> dict:
    """The latency columns of `row` measured again now (sweep, A/A checks, speedups and gaps),
    from its kept model and its dense model from the cache (both checked by `check`)."""
    path, (state, _) = check(row, cache)
    ds = data.get(row["dataset"])
    dense = models.build(row["arch"], ds.input_shape, ds.num_classes, ds.name)
    dense.load_state_dict(state)
    dense, pruned = dense.to(device).eval(), io.load(path).to(device).eval()
    backend = "dense" if row.get("method_kind") == "channel" else "dense-masked"
    figures = measure.latencies(dense, pruned, ds.input_shape, parallel=False, backend=backend)
    return figures | measure.realisation(figures | {"speedup_theoretical": row["speedup_theoretical"]})
