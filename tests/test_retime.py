"""python -m bench retime: kept models timed again against their dense models, or refused clearly."""

from __future__ import annotations

import json
import os

import duckdb
import pytest

from bench.cli import main
from bench.harness.case import Case
from bench.harness.env import BenchEnv
from bench.harness.retime_fresh import unstable_across
from bench.harness.run import run_case
from bench.training.zoo import Zoo

pytestmark = pytest.mark.xdist_group("retime")  # one worker runs the module's two cases, once


@pytest.fixture(scope="module")
def kept(shared_cache, tmp_path_factory):
    """A channel case and a mask case run with their models kept, latency not measured."""
    folder = tmp_path_factory.mktemp("kept")
    env = BenchEnv(zoo=Zoo(shared_cache), methods_dir="methods", measure_latency=False,
                   save_models=str(folder))
    rows = []
    for method in ("channel_l1", "magnitude_global"):
        case = Case(method, "digits", "lenet5", 2)
        rows.append(run_case(case, env, {}) | {"nodeid": case.id, "status": "passed"})
    return rows


def _retime(db, cache, capsys, *more) -> tuple[int, str, str]:
    code = main(["retime", "--db", str(db), "--bench-cache", str(cache), *more])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_kept_models_are_timed_again_with_the_harness_figures(kept, make_results_db,
                                                                shared_cache, capsys):
    db = make_results_db("r.duckdb", {"run1": kept})
    code, out, _ = _retime(db, shared_cache, capsys, "--json")
    assert code == 0
    timed = {r["case"]: r for r in json.loads(out)}
    assert set(timed) == {r["case_id"] for r in kept}
    for row in kept:
        got = timed[row["case_id"]]
        assert row.get("speedup_measured") is None  # the run measured no latency ...
        (latency,) = got["latency"]  # ... retime does, as the harness would have
        assert [s["batch"] for s in latency["latency_sweep"]] == [1, 32, 256]
        assert latency["latency_parallel"] is False and latency["latency_threads"] == 1
        assert latency["latency_backend"] == ("dense" if row["method"] == "channel_l1"
                                              else "dense-masked")
        assert got["gap batch"] == pytest.approx(got["now batch"] / row["speedup_theoretical"])


def test_a_kept_model_overwritten_since_is_refused(kept, make_results_db, shared_cache, capsys,
                                                  tmp_path):
    stale = dict(kept[0], model_sha256="0" * 64)
    db = make_results_db("r.duckdb", {"run1": [stale]})
    code, _, err = _retime(db, shared_cache, capsys)
    assert code == 2 and "holds other weights than this row describes" in err


def test_a_dense_model_missing_from_the_cache_is_named(kept, make_results_db, capsys, tmp_path):
    db = make_results_db("r.duckdb", {"run1": kept[:1]})
    code, _, err = _retime(db, tmp_path / "empty-cache", capsys)
    assert code == 2 and "no pretrained weights of lenet5 on digits" in err
    assert str(tmp_path / "empty-cache") in err and "python -m bench zoo pretrain" in err


def test_rows_without_kept_models_say_how_to_keep_them(case_row, make_results_db, shared_cache,
                                                      capsys):
    db = make_results_db("r.duckdb", {"run1": [case_row("m", 2, 0, 0.8)]})
    code, _, err = _retime(db, shared_cache, capsys)
    assert code == 2 and "--bench-save-models" in err


def test_repeated_timings_give_a_median_and_a_range(kept, make_results_db, shared_cache, capsys):
    db = make_results_db("r.duckdb", {"run1": kept[1:]})
    code, out, _ = _retime(db, shared_cache, capsys, "--json", "--repeat", "2")
    assert code == 0
    (got,) = json.loads(out)
    speedups = sorted(t["speedup_measured_batch"] for t in got["latency"])
    assert len(speedups) == 2 and got["now batch"] == pytest.approx(sum(speedups) / 2)
    assert got["now batch range"] == f"{speedups[0]:.3g}-{speedups[1]:.3g}"
    assert got["stable"].endswith("/2") or got["stable"].startswith("no: spread")
    processes = {t["process"] for t in got["latency"]}  # each pass in a fresh process
    assert len(processes) == 2 and os.getpid() not in processes


def test_a_spread_across_processes_over_the_limit_marks_the_figure_unstable():
    assert unstable_across([1.0, 1.1, 1.2]) == ""
    assert unstable_across([1.0, 1.1, 1.7]) == "spread 64% across processes (over 50%)"
    assert unstable_across([1.0, None]) == "" and unstable_across([]) == ""


def test_saved_timings_land_in_the_database_and_the_realisation_view(kept, make_results_db,
                                                                      shared_cache, capsys):
    db = make_results_db("r.duckdb", {"run1": kept})
    code, _, _ = _retime(db, shared_cache, capsys, "--save", "--repeat", "2")
    assert code == 0
    con = duckdb.connect(str(db), read_only=True)
    stored = con.execute("SELECT run_id, nodeid, pass, model_sha256, speedup_measured_batch, "
                         "latency_sweep FROM retimes ORDER BY nodeid, pass").fetchall()
    con.close()
    assert [(r[1], r[2]) for r in stored] == sorted((row["nodeid"], n) for row in kept
                                                    for n in range(2))
    assert {r[3] for r in stored} == {row["model_sha256"] for row in kept}
    assert all(r[4] > 0 and len(json.loads(r[5])) == 3 for r in stored)
    assert main(["report", "--db", str(db), "--view", "realisation", "--format", "json"]) == 0
    (table,) = json.loads(capsys.readouterr().out).values()
    assert sorted(line["retimed"] for line in table) == [2, 2]  # two passes of one seed each


def test_bad_kept_files_are_named_with_their_cause_and_the_rest_are_timed(kept, make_results_db,
                                                                          shared_cache, capsys,
                                                                          tmp_path):
    import shutil

    import torch

    from bench.training.cache import sha256

    channel, mask = kept
    truncated = tmp_path / "truncated.pt"
    shutil.copy(channel["model_path"], truncated)
    truncated.write_bytes(truncated.read_bytes()[: truncated.stat().st_size // 2])
    newer = tmp_path / "newer.pt"
    torch.save({"format": 99, "arch": "lenet5"}, newer)
    rows = [dict(channel, model_path=str(truncated)), mask,
            dict(mask, nodeid="newer", case_id="newer", case_key="f" * 12, model_path=str(newer),
                 model_sha256=sha256(newer))]
    db = make_results_db("r.duckdb", {"run1": rows})
    code, out, err = _retime(db, shared_cache, capsys, "--json")
    assert code == 1, err
    assert [r["case"] for r in json.loads(out)] == [mask["case_id"]]  # the good one is timed
    lines = err.splitlines()
    assert any(line.startswith(f"not timed: {channel['case_id']}: {truncated} is truncated or corrupt")
               for line in lines), err
    assert any(line.startswith(f"not timed: newer: {newer} is a kept model of format 99, newer than")
               for line in lines), err
    assert "a later run" not in err
