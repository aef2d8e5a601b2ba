"""A user's error is one clear line; a bug keeps its traceback."""

from __future__ import annotations

import pytest

from bench import cli
from bench.errors import BenchError
from bench.registry import UnknownNameError


def test_a_user_error_prints_one_line(capsys):
    assert cli.main(["report", "--db", "/nonexistent/r.duckdb"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no results database at /nonexistent/r.duckdb") and err.count("\n") == 1


def test_a_programming_error_keeps_its_traceback(monkeypatch):
    def broken(args):
        return {}["x"]

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda *argv: parser)
    parser._subparsers._group_actions[0].choices["methods"].set_defaults(func=broken)
    with pytest.raises(KeyError, match="'x'"):
        cli.main(["methods"])


def test_user_errors_share_a_base_and_keep_their_standard_type():
    exc = UnknownNameError("unknown method 'x'")
    assert isinstance(exc, BenchError) and isinstance(exc, KeyError)
    assert str(exc) == "unknown method 'x'"  # not quoted as a KeyError would be
