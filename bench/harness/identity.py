"""What a case's result depends on, known before it runs: its key, method source, recipes and the
sha256 of its pretrained weights (read from the cache's metadata, so nothing is trained)."""

from __future__ import annotations

from bench import data
from bench.harness.case import Case
from bench.methods import Method
from bench.training import recipes
from bench.training.cache import WeightsCache
from bench.training.zoo import PretrainedSpec

# The row columns that identify what produced a result; equal values: the same result.
IDENTITY = ("case_key", "method_hash", "pretrained_sha256", "pretrain_recipe_key", "recipe_key")


def expected(case: Case, methods: dict[str, Method], cache: WeightsCache,
             metas: dict | None = None) -> tuple | None:
    """The IDENTITY values a run of `case` would record, or None when they cannot be known
    beforehand: the method is missing, a name does not resolve, or the pretrained weights are not
    in the cache (then no row can have been made with them on this machine). `metas` keeps the
    cache metadata already read, by key, so a grid reads each pretrained entry's once."""
    found = methods.get(case.method)
    if found is None or not found.ok:
        return None
    if case.task == "lm":  # language models: no recipes; the model's sha256 as recorded
        from bench.lm.models import recorded_sha256

        sha = recorded_sha256(case.arch, cache.root)
        return (case.key, found.source_hash, sha, None, None) if sha else None
    try:
        ds = data.get(case.dataset)
        pre = recipes.get(case.pretrain or ds.pretrain_recipe_for(case.arch))
        ft = recipes.get(case.finetune or ds.finetune_recipe)
    except Exception:  # an unknown name: the case runs and fails with the reason
        return None
    key = PretrainedSpec(case.dataset, case.arch, pre, case.pretrain_seed).key
    metas = {} if metas is None else metas
    if key not in metas:
        metas[key] = cache.meta(key)
    meta = metas[key]
    sha = (meta or {}).get("sha256")
    if not sha:
        return None
    return (case.key, found.source_hash, sha, pre.key, ft.key)
