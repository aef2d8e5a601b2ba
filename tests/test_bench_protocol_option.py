"""--bench-protocol runs a suite's cases under the named protocols; -k selects them."""

from __future__ import annotations

import textwrap

import pytest
from inprocess import run_pytest
from test_plugin import rows, run_suite

from bench.harness.case import Case
from bench.harness.grid import under_protocols

SUITE = '''
import pytest

from bench.harness import grid


@pytest.mark.parametrize("case", grid.cases(methods=["magnitude_global"], datasets=["digits"],
                                            archs=["mlp"], ratios=[2], seeds=[0],
                                            pretrain="pretrain-small-fast",
                                            finetune="finetune-small-fast"))
def test_prune(case, bench_case):
    row = bench_case(case)
    assert row["compression"] == pytest.approx(case.ratio, rel=0.02)
'''


@pytest.mark.slow
def test_one_shot_cases_are_run_under_each_named_protocol_and_k_selects(tmp_path, shared_cache):
    db = tmp_path / "r.duckdb"
    code, out = run_suite(SUITE, tmp_path / "s", db, shared_cache, "--bench-protocol", "imp",
                          "--bench-protocol", "gmp:prunings=3", "-k", "imp or gmp")
    assert code == 0, out
    got = rows(db, "SELECT protocol, case_id, prune_steps FROM results ORDER BY protocol")
    assert [(r["protocol"], r["case_id"]) for r in got] == [
        ("gmp:prunings=3", "magnitude_global-digits-mlp-r2-s0-pre=pretrain-small-fast-"
                           "ft=finetune-small-fast-gmp:prunings=3"),
        ("imp", "magnitude_global-digits-mlp-r2-s0-pre=pretrain-small-fast-"
                "ft=finetune-small-fast-imp")]
    assert got[0]["prune_steps"] == 3


def test_an_unknown_protocol_is_a_usage_error_listing_the_valid_ones(tmp_path, shared_cache, monkeypatch,
                                                                    capsys):
    (tmp_path / "suite_tiny.py").write_text(textwrap.dedent(SUITE))
    code, out = run_pytest(tmp_path, ["suite_tiny.py", "-p", "bench.plugin", "-p", "no:cacheprovider",
                                      "--rootdir", str(tmp_path), "--bench-db", str(tmp_path / "r.duckdb"),
                                      "--bench-cache", str(shared_cache), "--bench-protocol", "lottery"],
                           monkeypatch, capsys)  # refused at the door: no process of its own needed
    assert code != 0 and "unknown --bench-protocol" in out and "imp" in out


@pytest.mark.parametrize("named, expected", [
    ([], ["oneshot", "imp:fraction=0.5"]),
    (["imp", "at_init"], ["imp", "at_init", "imp:fraction=0.5"]),
    (["at_init"], ["at_init"]),
])
def test_under_protocols_expands_one_shot_cases_and_filters_the_others(named, expected):
    cases = [Case("m", "d", "a", 2), Case("m", "d", "a", 2, protocol="imp:fraction=0.5")]
    assert [c.protocol for c in under_protocols(cases, named)] == expected
