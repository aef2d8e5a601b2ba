"""The CI script lints before it tests, so a red lint is a red CI."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _commands() -> list[str]:
    """The command lines of .ci/run, comments and blank lines left out."""
    lines = (REPO / ".ci" / "run").read_text().splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


def test_ci_fails_on_a_red_lint():
    commands = _commands()
    assert "set -euo pipefail" in commands  # any failing command fails the script
    assert "ruff check ." in commands
    tests = next(i for i, c in enumerate(commands) if c.startswith("pytest tests/"))
    assert commands.index("ruff check .") < tests


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    test_line = next(c for c in _commands() if c.startswith("pytest tests/"))
    assert test_line in readme
