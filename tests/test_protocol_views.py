"""The report's protocols view: accuracy and cost per protocol, protocols paired over seeds."""

from __future__ import annotations

import json

import pytest

from bench.analysis.protocol_views import plain
from bench.cli import main

# (protocol, top-1 offset from one-shot, train steps, pretrain steps)
PROTOCOLS = [("oneshot", 0.0, 32, 96), ("imp", 0.05, 1600, 96), ("at_init", -0.02, 96, 0),
             ("at_init:control=shuffle", -0.03, 96, 0)]


@pytest.fixture
def protocols_db(make_results_db, case_row):
    rows = []
    for seed in range(3):
        for protocol, offset, steps, pre in PROTOCOLS:
            for method in ("snip", "synflow"):
                top1 = 0.8 + offset + 0.01 * seed + (0.1 if method == "synflow" else 0)
                name = f"{method}-r8-s{seed}-{protocol}"
                rows.append(case_row(method, 8, seed, top1, protocol=protocol,
                                     train_steps=steps, pretrain_steps=pre,
                                     pretrained_sha256="abc", case_id=name,
                                     nodeid=f"x::t[{name}]"))
    return make_results_db("protocols.duckdb", {"run1": rows})


def test_plain_drops_only_the_control():
    assert plain("imp:control=shuffle,fraction=0.5") == "imp:fraction=0.5"
    assert plain("at_init:control=invert") == "at_init" and plain("imp") == "imp"


def test_protocols_view_pairs_protocols_with_one_shot_and_controls_with_their_plain_run(
        protocols_db, capsys):
    assert main(["report", "--db", str(protocols_db), "--format", "json",
                 "--view", "protocols"]) == 0
    tables = json.loads(capsys.readouterr().out)
    cost, pairs, methods = tables.values()
    imp = next(r for r in cost if r["protocol"] == "imp" and r["method"] == "snip")
    assert imp["seeds"] == 3 and imp["train steps"] == 1600 and imp["total steps"] == 1696
    assert imp["top1 mean"] == pytest.approx(0.86)
    got = {(r["method"], r["A"], r["B"]): r for r in pairs}
    assert set(got) == {(m, a, b) for m in ("snip", "synflow") for a, b in (
        ("imp", "oneshot"), ("at_init", "oneshot"), ("at_init:control=shuffle", "at_init"))}
    shuffled = got[("snip", "at_init:control=shuffle", "at_init")]
    assert shuffled["pairs"] == 3 and shuffled["top1 diff"] == pytest.approx(-0.01)
    assert shuffled["A wins"] == "0/3"
    assert got[("synflow", "imp", "oneshot")]["top1 diff"] == pytest.approx(0.05)
    synflow_snip = [r for r in methods if r["A"] == "synflow" and r["B"] == "snip"]
    assert len(synflow_snip) == 4  # one per protocol
    assert all(r["top1 diff"] == pytest.approx(0.1) and r["pairs"] == 3 for r in synflow_snip)


def test_protocols_view_prints_as_a_table(protocols_db, capsys):
    assert main(["report", "--db", str(protocols_db), "--view", "protocols"]) == 0
    out = capsys.readouterr().out
    assert "protocols paired" in out and "total steps" in out and "at_init:control=shuffle" in out
