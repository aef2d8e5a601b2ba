"""Refusals at the door: each exits non-zero with one line naming the valid choices."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import textwrap
import urllib.error
from pathlib import Path

import duckdb
import pytest
from inprocess import run_pytest

from bench.cli import main
from bench.training.cache import CacheNotWritableError, WeightsCache

REPO = Path(__file__).resolve().parents[1]

SUITE = '''
import pytest

from bench.harness import grid

pytestmark = pytest.mark.bench_suite("tiny")


@pytest.mark.parametrize("case", grid.cases(methods=["magnitude_global", "slow"], datasets=["digits"],
                                            archs=["mlp"], ratios=[1, 2, 16], seeds=[0, 1]))
def test_prune(case, bench_case):
    bench_case(case)
'''

SLOW_METHOD = '''
"""Sleeps in prune: a method far slower than the others."""

import time

from bench.select import global_topk
from bench.scores import magnitude


def prune(model, compression, ctx):
    time.sleep(60)
    return global_topk(magnitude(ctx), ctx.keep_fraction)
'''


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A folder with a tiny suite ('tiny') and a methods folder with a slow method."""
    root = tmp_path_factory.mktemp("refusals")
    (root / "suite_tiny.py").write_text(textwrap.dedent(SUITE))
    methods = root / "methods"
    methods.mkdir()
    shutil.copy(REPO / "methods" / "magnitude_global.py", methods)
    (methods / "slow.py").write_text(textwrap.dedent(SLOW_METHOD))
    return root


def pytest_run(project: Path, cache: Path, *args: str, db: str = "r.duckdb") -> tuple[int, str]:
    """The tiny suite in a fresh pytest process (for what needs one: a case that runs, a timeout)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "BENCH_"))}
    env |= {"OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", *_args(project, cache, db), *args],
        cwd=project, env=env, capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout + proc.stderr


def _args(project: Path, cache: Path, db: str = "r.duckdb") -> list[str]:
    return ["suite_tiny.py", "-p", "bench.plugin", "-p", "no:cacheprovider", "--rootdir", str(project),
            "--bench-db", str(project / db), "--bench-cache", str(cache),
            "--bench-methods", str(project / "methods"), "--bench-no-latency", "-q"]


@pytest.fixture
def refused(project, shared_cache, monkeypatch, capsys):
    """Factory: refused(*args) -> (exit code, output) of the tiny suite run in this process: the
    door refuses before any case runs, so a fresh interpreter would add nothing but its start."""
    return lambda *args: run_pytest(project, [*_args(project, shared_cache), *args], monkeypatch, capsys)


def _error_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("ERROR:")]


@pytest.mark.parametrize("args,expected", [
    (["--bench-suite", "tiyn"], "unknown --bench-suite 'tiyn' (did you mean 'tiny'?); valid names: "
                                "all, default, tiny"),
    (["--bench-suite", "tiny", "-k", "magnitude_globl"],
     "-k 'magnitude_globl' --bench-suite ['tiny'] selects none of the 12 cases collected (did you "
     "mean 'magnitude_global'?); they have methods: magnitude_global, slow; ratios: 1, 2, 16; "
     "seeds: 0, 1"),
    (["--bench-suite", "tiny", "--bench-ratios", "3"], "--bench-ratios 3 selects none of the 12"),
    (["--bench-device", "cdua"], "--bench-device 'cdua' is not a torch device (did you mean 'cuda'?)"),
    (["--bench-seeds", "one"], "--bench-seeds takes comma-separated ints"),
    (["--bench-protocol", "imp:rewind=nope"], "--bench-protocol 'imp:rewind=nope': protocol 'imp', "
                                              "option rewind='nope': choose one of"),
    (["--bench-protocol", "imp:fraction=2"], "--bench-protocol 'imp:fraction=2': protocol 'imp', "
                                             "option fraction='2': the fraction of the kept weights"),
    (["--bench-protocol", "imp:rewnd=lr"], "--bench-protocol 'imp:rewnd=lr': protocol 'imp' has no "
                                           "option 'rewnd' (did you mean 'rewind' or 'rewind_step'?)"),
])
def test_refused_in_one_line_before_any_case(project, refused, args, expected):
    code, out = refused(*args)
    assert code == pytest.ExitCode.USAGE_ERROR, out
    (line,) = _error_lines(out)
    assert expected in line and "Traceback" not in out
    assert not (project / "r.duckdb").exists()  # nothing written, nothing left behind


def test_a_device_this_machine_lacks_is_refused(refused):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    code, out = refused("--bench-suite", "tiny", "--bench-device", "cuda")
    assert code == pytest.ExitCode.USAGE_ERROR, out
    (line,) = _error_lines(out)
    assert line.startswith("ERROR: --bench-device cuda: this machine cannot run it") and \
        line.endswith("devices here: cpu")


def test_exact_ratio_and_seed_selection(refused):
    code, out = refused("--bench-suite", "tiny", "--bench-ratios", "1,2", "--bench-seeds", "1",
                        "-k", "magnitude", "--co")
    assert code == 0, out
    ids = sorted(line.split("[")[1].rstrip("]") for line in out.splitlines() if "::test_prune[" in line)
    assert ids == ["magnitude_global-digits-mlp-r1-s1", "magnitude_global-digits-mlp-r2-s1"]


@pytest.mark.slow
def test_a_case_over_the_timeout_fails_with_its_row(project, shared_cache):
    """The slow method sleeps a minute in prune; at 4 s the case fails and its row says why.
    (That rows record the pruning time, prune_seconds, tests/test_case_metrics.py checks.)"""
    code, out = pytest_run(project, shared_cache, "--bench-suite", "tiny", "--bench-ratios", "2",
                           "--bench-seeds", "0", "-k", "slow", "--bench-timeout", "4",
                           db="timeout.duckdb")
    assert code == pytest.ExitCode.TESTS_FAILED and "1 failed" in out, out
    con = duckdb.connect(str(project / "timeout.duckdb"), read_only=True)
    try:
        (row,) = con.execute("SELECT method, status, error FROM results").fetchall()
    finally:
        con.close()
    assert row[0] == "slow" and row[1] == "failed" and "Timeout (>4.0s)" in row[2]


def test_report_refuses_a_name_the_database_lacks(make_results_db, case_row, capsys):
    db = make_results_db("r.duckdb", {"r1": [case_row("magnitude_global", 2, 0, 0.9)]})
    for argv, expected in ((["--method", "magnitude_globl"], "did you mean 'magnitude_global'?"),
                           (["--dataset", "tyo"], "did you mean 'toy'?"),
                           (["--arch", "nett"], "valid names: net")):
        for command in ("report", "plot"):
            assert main([command, "--db", str(db), *argv]) == 2
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and expected in err and f"unknown {argv[0]} " in err


def test_report_compare_refuses_unknown_methods_by_name(make_results_db, case_row, capsys):
    db = make_results_db("r.duckdb", {"r1": [case_row("magnitude_global", 2, 0, 0.9),
                                             case_row("random", 2, 0, 0.5)]})
    for view in ([], ["--view", "paired"]):
        assert main(["report", "--db", str(db), *view, "--compare", "magnitude_globl", "rnd"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "'magnitude_globl', 'rnd'" in err, err
        assert "did you mean 'magnitude_global'?" in err and "magnitude_global, random" in err
    assert main(["report", "--db", str(db), "--view", "paired", "--compare", "magnitude_global",
                 "random"]) == 0


def test_a_cache_that_cannot_be_written_names_the_folder_and_the_option(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    cache = WeightsCache(blocker / "cache")
    expected = rf"{blocker / 'cache'} cannot be written.*--bench-cache"
    with pytest.raises(CacheNotWritableError, match=expected), cache.lock("key"):
        pass


def test_a_download_without_network_is_one_line(monkeypatch, tmp_path, capsys):
    from bench import data

    def offline(root):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    spec = dataclasses.replace(data.get("mnist"), download=offline)
    monkeypatch.setattr("bench.cli.datasets.data.get", lambda name: spec)
    assert main(["datasets", "--download", "mnist", "--bench-data", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "could not download mnist" in err and "Name or service" in err


@pytest.mark.slow
def test_a_method_named_like_a_standard_module_does_not_shadow_it(tmp_path):
    """Run from inside a methods folder holding random.py, `python -m bench` and pytest still get
    the standard library's random (Python puts the current folder first on sys.path for -m)."""
    methods = tmp_path / "methods"
    methods.mkdir()
    shutil.copy(REPO / "methods" / "random.py", methods)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "BENCH_"))}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.run([sys.executable, "-m", "bench", "methods", "--dir", ".", "--check"],
                          cwd=methods, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "random" in proc.stdout and "ok" in proc.stdout, proc.stderr
    (tmp_path / "suite_x.py").write_text(textwrap.dedent(SUITE))
    pytest_script = Path(sys.executable).with_name("pytest")
    proc = subprocess.run([str(pytest_script), "../suite_x.py", "-p", "bench.plugin", "--co", "-q",
                           "--rootdir", str(tmp_path), "--bench-suite", "tiny", "--bench-methods", "."],
                          cwd=methods, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "12 tests collected" in proc.stdout, proc.stdout + proc.stderr


PAIRS_SUITE = '''
import pytest

from bench.harness import grid


@pytest.mark.parametrize("case", grid.cases(methods=METHODS, datasets=["digits"], archs=["resnet20"],
                                            ratios=[2], seeds=[0]))
def test_prune(case, bench_case):
    bench_case(case)
'''


@pytest.mark.parametrize("methods", [["magnitude_global", "channel_l1"], ["channel_l1"]])
def test_a_channel_method_under_imp_is_deselected_with_the_reason(tmp_path, shared_cache, methods):
    project = tmp_path / "pairs"
    project.mkdir()
    (project / "suite_tiny.py").write_text(PAIRS_SUITE.replace("METHODS", repr(methods)))
    (project / "methods").symlink_to(REPO / "methods")
    code, out = pytest_run(project, shared_cache, "--bench-protocol", "imp", "--co")
    reason = ("deselected 1 cases of channel_l1 under imp: imp rewinds the weights to a dense "
              "checkpoint, which a channel method's removed channels cannot take")
    assert reason in out and "Traceback" not in out, out
    if len(methods) == 1:  # nothing left: refused, saying why
        assert code == pytest.ExitCode.USAGE_ERROR, out
        (line,) = _error_lines(out)
        assert line.startswith("ERROR: none of the selected cases can run: " + reason)
    else:
        assert code == 0, out
        assert "magnitude_global-digits-resnet20-r2-s0-imp" in out and "channel_l1-digits" not in out
    assert not (project / "r.duckdb").exists()


XDIST_PAIRS_SUITE = '''
import pytest

from bench.harness import grid

CASES = (grid.cases(methods=["magnitude_global"], datasets=["digits"], archs=["mlp"], ratios=[1], seeds=[0])
         + grid.cases(methods=["channel_l1"], datasets=["digits"], archs=["resnet20"], ratios=[2], seeds=[0]))


@pytest.mark.parametrize("case", CASES)
def test_prune(case, bench_case):
    bench_case(case)
'''


def test_under_xdist_the_deselected_pairs_are_said_and_the_rest_run(tmp_path, shared_cache):
    project = tmp_path / "pairs"
    project.mkdir()
    (project / "suite_tiny.py").write_text(XDIST_PAIRS_SUITE)
    (project / "methods").symlink_to(REPO / "methods")
    code, out = pytest_run(project, shared_cache, "--bench-protocol", "imp", "-n", "2")
    assert code == 0 and "1 passed" in out, out
    assert "bench: deselected 1 cases of channel_l1 under imp: imp rewinds the weights" in out, out
