"""The installed package's entry points: the pytest plugin (pytest11) and the `prunebench` script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import duckdb
import pytest

tomllib = pytest.importorskip("tomllib")

REPO = Path(__file__).resolve().parents[1]

SUITE = '''
import pytest

from bench.harness import grid


@pytest.mark.bench_suite("elsewhere")
@pytest.mark.parametrize("case", grid.cases(methods=["magnitude_global"], datasets=["digits"],
                                            archs=["mlp"], ratios=[1], seeds=[0]))
def test_prune(case, bench_case):
    bench_case(case)
'''


def project() -> dict:
    """The [project] table of pyproject.toml."""
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """A folder holding the metadata that installing the package writes: a dist-info with the
    entry points of pyproject.toml, as pip would write them (the code stays on PYTHONPATH)."""
    root = tmp_path_factory.mktemp("site")
    info = root / "prunebench_entry_probe-0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: prunebench-entry-probe\nVersion: 0.0\n")
    groups = {"console_scripts": project()["scripts"]} | project()["entry-points"]
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in entries.items()) + "\n"
        for group, entries in groups.items()))
    return root


def test_pyproject_declares_the_plugin_under_its_module_name():
    assert project()["entry-points"]["pytest11"] == {"bench.plugin": "bench.plugin"}
    assert project()["scripts"] == {"prunebench": "bench.cli:main"}
    conftest = (REPO / "conftest.py").read_text()
    assert 'pytest_plugins = ["bench.plugin"]' in conftest  # the same name: registered once


def test_the_console_script_runs_the_same_commands(site, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(site))
    # the stand-in's, and the installed package's too where it is installed: the same script
    found = metadata.entry_points(group="console_scripts", name="prunebench")
    assert len({ep.value for ep in found}) == 1, found
    script = next(iter(found))
    monkeypatch.setattr(sys, "argv", [str(site / "bin" / "prunebench"), "methods", "--json"])
    assert script.load()() == 0
    names = {m["name"] for m in json.loads(capsys.readouterr().out)}
    assert "magnitude_global" in names
    with pytest.raises(SystemExit):
        script.load()(["--help"])
    assert capsys.readouterr().out.startswith("usage: prunebench ")


def _pytest(folder: Path, site: Path, cache: Path, *args: str) -> subprocess.CompletedProcess:
    """pytest in `folder`, no `-p bench.plugin`: only the entry point in `site` can load the plugin."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "BENCH_"))}
    env |= {"OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(site), str(REPO)])}
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--bench-cache", str(cache),
           "--bench-methods", str(REPO / "methods"), "--bench-no-latency", *args]
    return subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_the_plugin_runs_suites_from_any_folder(site, tmp_path, shared_cache):
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "suite_elsewhere.py").write_text(textwrap.dedent(SUITE))
    proc = _pytest(tmp_path, site, shared_cache, "--bench-suite", "elsewhere",
                   "--bench-db", str(tmp_path / "r.duckdb"), "suites")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    con = duckdb.connect(str(tmp_path / "r.duckdb"), read_only=True)
    try:
        found = con.execute("select status, method from results").fetchall()
    finally:
        con.close()
    assert found == [("passed", "magnitude_global")]



@pytest.mark.slow
def test_the_entry_point_and_a_conftest_register_the_plugin_once(site, tmp_path, shared_cache):
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["bench.plugin"]\n')
    (tmp_path / "suite_elsewhere.py").write_text(textwrap.dedent(SUITE))
    proc = _pytest(tmp_path, site, shared_cache, "--bench-suite", "elsewhere", "--collect-only",
                   "suite_elsewhere.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 test collected" in proc.stdout


def test_the_installed_plugin_imports_none_of_its_modules_before_pytest_registers_them(tmp_path):
    """pytest rewrites the asserts of an installed plugin's modules, and warns of each one already
    imported when it comes to register it (what a user of the installed package would see)."""
    proc = subprocess.run([sys.executable, "-m", "pytest", str(REPO / "suites"), "--rootdir", str(REPO),
                           "-c", str(REPO / "pyproject.toml"), "-p", "no:cacheprovider", "-q",
                           "--bench-db", str(tmp_path / "r.duckdb"), "--bench-no-latency",
                           "-k", "magnitude_global and lenet5 and r1 and s0"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "cannot be rewritten" not in proc.stdout + proc.stderr, proc.stdout
