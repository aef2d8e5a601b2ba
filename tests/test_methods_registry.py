"""Method registry: discovery, broken files, the CLI listing, and broken methods inside a suite run."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from inprocess import run_pytest

from bench.cli import methods as methods_cli
from bench.methods import discover

REPO = Path(__file__).resolve().parents[1]

GOOD = '''"""Keeps everything: a test method.

More text.
"""
from _shared import keep_all

KIND = "unstructured"
ALLOW_EMPTY_LAYERS = True


def prune(model, compression, ctx):
    return keep_all(ctx)
'''
SHARED = '''"""Helpers shared by methods (not a method)."""
from bench.select import global_topk
from bench.scores import magnitude


def keep_all(ctx):
    return global_topk(magnitude(ctx), ctx.keep_fraction)
'''
FILES = {
    "good.py": GOOD,
    "_shared.py": SHARED,
    "crashes.py": '"""Fails on import."""\nraise ZeroDivisionError("boom at import")\n',
    "noprune.py": '"""Defines no prune."""\ndef prun(model, compression, ctx):\n    return {}\n',
    "badargs.py": '"""Wrong signature."""\ndef prune(model):\n    return {}\n',
    "Bad-Name.py": '"""Invalid stem."""\ndef prune(model, compression, ctx):\n    return {}\n',
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_discovery_keeps_broken_files_with_their_error(folder):
    found = discover(folder)
    assert set(found) == {"good", "crashes", "noprune", "badargs", "Bad-Name"}  # _shared skipped
    good = found["good"]
    assert good.ok and good.description == "Keeps everything: a test method."
    assert good.attributes == {"KIND": "unstructured", "ALLOW_EMPTY_LAYERS": True}
    assert "ZeroDivisionError: boom at import" in found["crashes"].error
    assert "defines no function prune" in found["noprune"].error
    assert "must accept (model, compression, ctx)" in found["badargs"].error
    assert "not a valid method name" in found["Bad-Name"].error and "bad_name.py" in found["Bad-Name"].error
    assert not any(found[n].ok for n in ("crashes", "noprune", "badargs", "Bad-Name"))


def test_the_hash_follows_the_source_and_the_helpers_it_imports(folder):
    first = discover(folder)
    (folder / "good.py").write_text(GOOD + "\n# changed\n")
    second = discover(folder)
    assert second["good"].source_hash != first["good"].source_hash
    (folder / "_shared.py").write_text(SHARED + "\n# changed\n")
    third = discover(folder)
    assert third["good"].source_hash != second["good"].source_hash
    assert third["crashes"].source_hash == first["crashes"].source_hash


def test_cli_lists_methods_and_broken_ones_with_their_error(folder, capsys):
    assert methods_cli.run(argparse.Namespace(dir=str(folder), json=True, check=True)) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["good"]["status"] == "ok" and rows["good"]["error"] is None
    assert rows["crashes"]["status"] == "broken" and "boom at import" in rows["crashes"]["error"]
    assert methods_cli.run(argparse.Namespace(dir=str(folder), json=False, check=True)) == 0
    out = capsys.readouterr().out
    assert "crashes is broken: ZeroDivisionError: boom at import" in out


def test_cli_reads_files_without_importing_them_by_default(folder, capsys):
    """Without --check the files are parsed, not run: the same names, descriptions, constants
    and static errors as an import finds; an error raised on import needs --check."""
    assert methods_cli.run(argparse.Namespace(dir=str(folder), json=True)) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    found = discover(folder)
    assert set(rows) == set(found)
    assert rows["good"]["description"] == found["good"].description
    assert rows["good"]["attributes"] == found["good"].attributes
    assert rows["good"]["hash"] == found["good"].source_hash and not rows["good"]["imported"]
    for name in ("noprune", "badargs", "Bad-Name"):
        assert rows[name]["status"] == "broken"
    # crashes.py defines no prune either: that shows; its ZeroDivisionError only an import shows
    assert "defines no function prune" in rows["crashes"]["error"] and "boom" not in rows["crashes"]["error"]


def test_a_file_read_without_importing_is_not_called_ok(folder, capsys):
    """crashes.py raises on import: without --check it is not known to be ok, and says so."""
    prune = "\n\ndef prune(model, compression, ctx):\n    return {}\n"
    (folder / "crashes.py").write_text((folder / "crashes.py").read_text() + prune)
    assert methods_cli.run(argparse.Namespace(dir=str(folder), json=False, check=False)) == 0
    out = capsys.readouterr().out
    (line,) = [x for x in out.splitlines() if x.startswith("crashes ")]
    assert "not imported; --check imports it" in line and " ok " not in line
    assert methods_cli.run(argparse.Namespace(dir=str(folder), json=True, check=True)) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["crashes"]["status"] == "broken" and "ZeroDivisionError" in rows["crashes"]["error"]


def test_shipped_methods_are_listed_by_the_cli(capsys):
    assert methods_cli.run(argparse.Namespace(dir=str(REPO / "methods"), json=True)) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert {"random", "gradient_layer", "activation_global"} <= set(rows)
    assert all(r["status"] == "not imported" and len(r["hash"]) == 12 for r in rows.values())


SUITE = '''
import pytest
from bench.harness import grid

@pytest.mark.parametrize("case", grid.cases(datasets=["digits"], archs=["mlp"], ratios=[2], seeds=[0]))
def test_prune(case, bench_case):
    assert bench_case(case)["compression"] == pytest.approx(2, rel=0.02)
'''


def _run_suite(tmp_path: Path, methods: Path, cache: Path, *extra: str) -> subprocess.CompletedProcess:
    (tmp_path / "suite_tiny.py").write_text(SUITE)
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "pytest", "-p", "bench.plugin", "suite_tiny.py", "-q",
           "-p", "no:cacheprovider", "--bench-methods", str(methods),
           "--bench-db", str(tmp_path / "results.duckdb"), "--bench-cache", str(cache),
           "--bench-no-latency", "--rootdir", str(tmp_path), *extra]
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def suite_dir(tmp_path: Path, folder: Path) -> tuple[Path, Path]:
    run = tmp_path / "run"
    run.mkdir()
    return run, folder


@pytest.mark.slow
def test_a_broken_method_fails_only_its_own_cases(suite_dir, shared_cache):
    run, methods = suite_dir
    result = _run_suite(run, methods, shared_cache, "-rA")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "4 failed, 1 passed" in out
    assert "PASSED suite_tiny.py::test_prune[good-digits-mlp-r2-s0]" in out
    for name in ("crashes", "noprune", "badargs", "Bad-Name"):
        assert f"FAILED suite_tiny.py::test_prune[{name}-digits-mlp-r2-s0]" in out
    assert "method 'crashes' is broken" in out and "ZeroDivisionError: boom at import" in out
    assert 'crashes.py", line 2, in <module>' in out  # the traceback points into the file
    assert "method 'noprune' is broken: noprune.py defines no function prune" in out
    with duckdb.connect(str(run / "results.duckdb"), read_only=True) as db:
        rows = dict(db.execute("select method, status from results").fetchall())
        error = db.execute("select error from results where method = 'crashes'").fetchone()[0]
    assert rows == {"good": "passed", "crashes": "failed", "noprune": "failed", "badargs": "failed",
                    "Bad-Name": "failed"}
    assert "ZeroDivisionError: boom at import" in error


def test_strict_flag_makes_a_broken_method_a_collection_error(suite_dir, shared_cache, monkeypatch, capsys):
    run, methods = suite_dir
    (run / "suite_tiny.py").write_text(SUITE)
    code, out = run_pytest(run, ["-p", "bench.plugin", "suite_tiny.py", "-q", "-p", "no:cacheprovider",
                                 "--bench-methods", str(methods), "--bench-db", str(run / "results.duckdb"),
                                 "--bench-cache", str(shared_cache), "--rootdir", str(run),
                                 "--bench-strict-methods"], monkeypatch, capsys)  # refused: in-process
    assert code != 0 and "passed" not in out
    assert "broken method files (--bench-strict-methods)" in out and "crashes" in out
