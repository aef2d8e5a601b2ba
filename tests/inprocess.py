"""Running pytest inside the test process: no new interpreter and no second torch import, for
runs where a fresh process adds nothing (refusals at the door, --help, collection only)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from bench.harness.grid import PROTOCOLS_VARIABLE

# What the plugin sets in os.environ during a run, and what the parent pytest session (an xdist
# worker's id, addopts) would otherwise hand to the inner run.
_ENVIRONMENT = ("BENCH_METHODS", PROTOCOLS_VARIABLE, "BENCH_CACHE", "PYTEST_ADDOPTS",
                "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID")


def run_pytest(folder: Path, args: list[str], monkeypatch: pytest.MonkeyPatch,
               capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """pytest.main(args) from `folder`: its exit code and output (stdout, then stderr). The
    environment is restored after the test (monkeypatch), and modules imported from `folder`
    (suite files, methods) are forgotten, so that another run's file of the same name is not
    mistaken for it."""
    for name in _ENVIRONMENT:
        monkeypatch.setenv(name, "")  # recorded, so that whatever the run sets is undone
        monkeypatch.delenv(name)
    monkeypatch.chdir(folder)
    capsys.readouterr()
    before = set(sys.modules)
    try:
        code = pytest.main(list(args))
    finally:
        root = str(Path(folder).resolve())
        for name in set(sys.modules) - before:
            origin = getattr(sys.modules[name], "__file__", None) or ""
            if os.path.realpath(origin).startswith(root):
                del sys.modules[name]
    out = capsys.readouterr()
    return int(code), out.out + out.err
