"""Registers the benchmark's pytest plugin for suites/ and tests/."""

pytest_plugins = ["bench.plugin"]
