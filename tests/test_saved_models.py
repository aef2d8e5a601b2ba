"""--bench-save-models: each case's final model is kept, loads again, and scores what its row says."""

from __future__ import annotations

import types

import pytest

from bench import data
from bench.data.loaders import make_loader
from bench.harness.case import Case
from bench.harness.env import BenchEnv
from bench.harness.run import run_case
from bench.plugin import fixtures
from bench.results.store import Store
from bench.structured import io
from bench.training.cache import sha256
from bench.training.loop import evaluate
from bench.training.zoo import Zoo


@pytest.mark.parametrize("method", ["channel_l1", "magnitude_global"])
def test_a_kept_model_reproduces_its_row(method, shared_cache, tmp_path):
    env = BenchEnv(zoo=Zoo(shared_cache), methods_dir="methods", measure_latency=False,
                   save_models=str(tmp_path / "models"))
    case = Case(method, "digits", "lenet5", 4)
    row = run_case(case, env, {})
    path = tmp_path / "models" / f"{case.key}.pt"
    assert row["model_path"] == str(path) and row["model_sha256"] == sha256(path)

    model = io.load(path)
    _, test_set = data.load("digits")
    result = evaluate(model, make_loader(test_set, 256, shuffle=False))
    assert result.top1 == row["top1"]  # the very model the row measured
    assert sum(p.count_nonzero().item() for p in model.parameters()) >= row["params_nonzero"]

    saved = io.read(path)
    assert saved["info"]["case_key"] == case.key and saved["info"]["top1"] == row["top1"]
    if method == "magnitude_global":  # masks kept, and the weights they prune are zero
        state = model.state_dict()
        assert saved["masks"] and all(not state[name][~mask].any()
                                      for name, mask in saved["masks"].items())
    else:  # channels removed for real: no masks, fewer parameters than the dense model
        assert saved["masks"] == {}
        assert sum(p.numel() for p in model.parameters()) < row["params_dense"]

    store = Store(tmp_path / "r.duckdb")
    store.write_case(row | {"run_id": "r", "nodeid": case.id, "status": "passed"})
    assert store.con.execute("SELECT model_path FROM results").fetchone()[0] == str(path)
    store.close()


def test_without_the_option_nothing_is_kept(shared_cache, tmp_path):
    env = BenchEnv(zoo=Zoo(shared_cache), methods_dir="methods", measure_latency=False)
    row = run_case(Case("magnitude_global", "digits", "lenet5", 2), env, {})
    assert "model_path" not in row


def test_an_unwritable_folder_stops_the_run_before_any_case(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    options = {"bench_threads": "1", "bench_save_models": str(blocker / "models")}
    config = types.SimpleNamespace(getoption=options.get)
    with pytest.raises(pytest.UsageError, match=r"--bench-save-models .* cannot be written"):
        fixtures.pytest_configure(config)
    options["bench_save_models"] = str(tmp_path / "new" / "models")
    fixtures.pytest_configure(config)  # a missing folder is made
    assert (tmp_path / "new" / "models").is_dir()
