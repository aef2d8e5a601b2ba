"""The benchmark case a collected pytest item runs, if any, and what is stashed on the item."""

from __future__ import annotations

import pytest

from bench.harness.case import Case

# Kept here, outside the modules the plugin registers, so that importing the plugin does not
# import them before pytest registers them (their asserts could not be rewritten, and pytest says so).
ROW = pytest.StashKey[dict]()  # the row of the item's case, filled as it runs
EXTRA = pytest.StashKey[dict]()  # extra fields a test records with its row (bench_record)
RESUMED = pytest.StashKey[str]()  # the run id whose passed row stands for a resumed item


def case_of(item: pytest.Item) -> Case | None:
    """The Case among the item's parameters (None: not a benchmark case)."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    return next((v for v in params.values() if isinstance(v, Case)), None)
