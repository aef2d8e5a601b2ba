"""A run's provenance reads library versions from their metadata, without importing them."""

from __future__ import annotations

import sys
from importlib import metadata

from bench.results import provenance


def test_torchvision_version_is_read_without_importing_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torchvision", None)  # any `import torchvision` now fails
    info = provenance.collect(tmp_path, "cpu")
    assert info["torchvision"] == metadata.version("torchvision")
    assert info["torch"] and info["device"] == "cpu"


def test_a_missing_distribution_has_no_version():
    assert provenance.installed_version("no-such-distribution-here") is None
