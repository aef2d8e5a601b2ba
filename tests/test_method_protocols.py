"""Every shipped method runs under every protocol (digits, the MLP, tiny recipes), from the
registries, so a new method file or a new protocol is covered with no edit here."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.harness.case import Case
from bench.harness.checks import assert_sound
from bench.harness.env import BenchEnv
from bench.harness.protocols import PROTOCOLS
from bench.harness.run import run_case
from bench.harness.steps import UnsupportedKindError
from bench.methods import discover
from bench.training.zoo import Zoo

REPO = Path(__file__).resolve().parents[1]
METHODS = sorted(n for n, m in discover(REPO / "methods").items()
                 if not m.ok or "classification" in m.tasks)  # LM-only methods: tests/test_lm_*
TINY = {"pretrain": "pretrain-small-fast", "finetune": "finetune-small-fast"}


@pytest.fixture(scope="module")
def env(shared_cache):
    return BenchEnv(zoo=Zoo(shared_cache), methods_dir=str(REPO / "methods"),
                    measure_latency=False)


METHODS_FOUND = discover(REPO / "methods")
# Channel methods remove conv channels physically: they run on ResNet-20 (the MLP has no channel
# group to score, LeNet-5 no batch norm for channel_bn), and protocols that rewind weights to a
# dense checkpoint refuse them clearly.
REWINDING = ("imp",)
LM_ONLY = ("recover",)  # a short next-token recovery: tests/test_lm_channel_suite.py


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS.names()))
@pytest.mark.parametrize("method", METHODS)
def test_every_method_runs_under_every_protocol(method, protocol, env):
    channel = METHODS_FOUND[method].kind == "channel"
    case = Case(method, "digits", "resnet20" if channel else "mlp", 3, 0, protocol=protocol, **TINY)
    if protocol in LM_ONLY:
        with pytest.raises(UnsupportedKindError, match="for language models"):
            run_case(case, env, {})
        return
    if channel and protocol in REWINDING:
        with pytest.raises(UnsupportedKindError, match=r"removed channels physically.*oneshot"):
            run_case(case, env, {})
        return
    row = run_case(case, env, {})
    assert_sound(case, row)
    assert row["protocol"] == protocol and row["prune_steps"] >= 1
    assert row["train_steps"] > 0 and row["train_examples"] >= row["train_steps"]
    assert {e["phase"] for e in row["epochs"]}, "every training phase leaves its epochs"
