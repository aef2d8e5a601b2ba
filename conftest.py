"""Registers the benchmark's pytest plugin for suites/ and tests/ in a checkout that is not installed.

Where the package is installed, its `pytest11` entry point, named `bench.plugin` as this module is,
has registered the plugin already, and pytest skips this second mention of the same name.
"""

pytest_plugins = ["bench.plugin"]
