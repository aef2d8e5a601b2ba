"""`python -m bench info`: parameters and MACs in total and per layer."""

from __future__ import annotations

import json

import pytest

from bench.cli import main


def run_json(capsys, *argv):
    assert main(["info", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_resnet50_reference_numbers(capsys):
    pytest.importorskip("torchvision")
    info = run_json(capsys, "resnet50", "--input", "3,224,224")
    assert (info["params_total"], info["macs_total"]) == (25_557_032, 4_089_184_256)
    assert info["flops_2x_macs"] == 2 * info["macs_total"] and info["classes"] == 1000
    assert sum(r["macs"] for r in info["layers"]) == info["macs_total"]
    assert len(info["layers"]) == 54  # 53 convolutions and the classifier


def test_registered_model_on_a_dataset(capsys):
    info = run_json(capsys, "lenet5", "--dataset", "mnist5k")
    assert info["source"] == "registry" and info["input_shape"] == [1, 28, 28]
    assert info["params_total"] == 61_706 and info["macs_total"] == 416_520
    assert [r["name"] for r in info["layers"]] == ["conv1", "conv2", "fc1", "fc2", "fc3"]
    assert info["activations_total"] == 6_518


@pytest.mark.parametrize("arch,dataset", [("lenet5", "mnist5k"), ("mlp", "mnist5k"),
                                          ("resnet20", "cifar10"), ("tv_resnet18", "imagenet")])
def test_without_an_input_the_architecture_s_own_dataset_is_used(capsys, arch, dataset):
    from bench import data

    info = run_json(capsys, arch)
    spec = data.get(dataset)
    assert info["input_shape"] == list(spec.input_shape) and info["classes"] == spec.num_classes


def test_classes_override_and_table(capsys):
    assert main(["info", "mlp", "--input", "1,8,8", "--classes", "3"]) == 0
    out = capsys.readouterr().out
    assert "FLOPs (2 x MACs)" in out and "fc3" in out
    assert f"{64 * 300 + 300 * 100 + 100 * 3:,} MACs" in out


@pytest.mark.parametrize("argv,message", [
    (["nope", "--input", "3,32,32"], "unknown architecture 'nope'"),
    (["lenet5", "--input", "3,x,4"], "C,H,W"),
    (["lenet55"], "did you mean 'lenet5'"),
    (["lenet5", "--input", "1,28,28", "--classes", "0"], "--classes"),
])
def test_bad_input_is_a_clear_error(capsys, argv, message):
    assert main(["info", *argv]) == 2
    assert message in capsys.readouterr().err
