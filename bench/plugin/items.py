"""The benchmark case a collected pytest item runs, if any."""

from __future__ import annotations

import pytest

from bench.harness.case import Case


def case_of(item: pytest.Item) -> Case | None:
    """The Case among the item's parameters (None: not a benchmark case)."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    return next((v for v in params.values() if isinstance(v, Case)), None)
