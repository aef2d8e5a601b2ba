"""The thread policy: threads per process from cores and workers, refused when malformed."""

from __future__ import annotations

import types

import pytest

from bench.harness import threads
from bench.plugin import fixtures


def test_threads_follow_cores_and_workers(monkeypatch):
    monkeypatch.setattr(threads, "cores", lambda: 8)
    assert threads.per_process("auto", 1) == 8
    assert threads.per_process("auto", 2) == 4
    assert threads.per_process("auto", 16) == 1  # never zero
    assert threads.per_process("3", 2) == 3
    assert threads.per_process(None, 4) == threads.per_process(threads.DEFAULT, 4)


@pytest.mark.parametrize("bad", ["0", "-1", "many", ""])
def test_a_bad_thread_count_stops_the_run_before_any_case(bad):
    config = types.SimpleNamespace(getoption=lambda name: bad)
    with pytest.raises(pytest.UsageError, match="--bench-threads must be a positive number or auto"):
        fixtures.pytest_configure(config)
