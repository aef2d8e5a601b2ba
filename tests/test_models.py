"""Architecture registry: pinned parameter counts, input adaptation, classifier marking, refusals."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from bench import data, models
from bench.models import IncompatibleModelError
from bench.models.torchvision import build_torchvision, register_torchvision
from bench.registry import UnknownNameError

# He et al. 2016, option A, 10 classes (the counts every CIFAR ResNet reimplementation reports).
PINNED_PARAMS = {"resnet20": 269_722, "resnet32": 464_154, "resnet44": 658_586,
                 "resnet56": 853_018, "resnet110": 1_727_962,
                 "lenet5": 61_706, "mlp": 266_610, "cifar_vgg": 14_991_946}
OWN = models.names(torchvision=False)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", sorted(PINNED_PARAMS))
def test_pinned_parameter_counts(name):
    shape = (3, 32, 32) if name.startswith(("resnet", "cifar")) else (1, 28, 28)
    assert n_params(models.build(name, shape, 10)) == PINNED_PARAMS[name]


@pytest.mark.parametrize("name", OWN)
@pytest.mark.parametrize("dataset", ["digits", "mnist5k", "cifar100"])
def test_own_models_adapt_to_each_small_dataset(name, dataset):
    spec = data.get(dataset)
    model = models.build(name, spec.input_shape, spec.num_classes, dataset).eval()
    out = model(torch.zeros(2, *spec.input_shape))
    assert out.shape == (2, spec.num_classes)
    classifier = model.get_submodule(models.classifier_name(model))
    assert isinstance(classifier, nn.Linear) and classifier.out_features == spec.num_classes


@pytest.mark.parametrize("name", OWN)
def test_own_models_refuse_imagenet_with_the_reason(name):
    spec = data.get("imagenet")
    with pytest.raises(IncompatibleModelError, match=rf"{name} does not fit imagenet \(224x224"):
        models.build(name, spec.input_shape, spec.num_classes, "imagenet")


def test_unknown_architecture_lists_valid_names():
    with pytest.raises(UnknownNameError, match=r"valid names: .*lenet5.*resnet56.*tv_resnet18"):
        models.get("resnet19")


def test_torchvision_models_are_registered_by_name():
    names = models.names()
    assert {"tv_resnet18", "tv_vgg16_bn", "tv_mobilenet_v2", "tv_vit_b_16"} <= set(names)


@pytest.mark.parametrize("name,shape", [("tv_resnet18", (1, 32, 32)), ("tv_squeezenet1_1", (3, 48, 48)),
                                        ("tv_mobilenet_v3_small", (3, 32, 32))])
def test_torchvision_adapts_channels_and_classes(name, shape):
    model = models.build(name, shape, 7).eval()
    assert model(torch.zeros(2, *shape)).shape == (2, 7)
    classifier = model.get_submodule(models.classifier_name(model))
    assert getattr(classifier, "out_features", getattr(classifier, "out_channels", None)) == 7


def test_torchvision_refuses_tiny_inputs():
    with pytest.raises(IncompatibleModelError, match="tv_resnet18 does not fit digits"):
        models.build("tv_resnet18", (1, 8, 8), 10, "digits")


def test_torchvision_local_weights_load(tmp_path):
    torch.manual_seed(0)
    source = build_torchvision("resnet18", (3, 32, 32), 5)
    path = tmp_path / "weights.pt"
    torch.save(source.state_dict(), path)
    register_torchvision("resnet18_local_test", "resnet18", weights=path)
    loaded = models.build("resnet18_local_test", (3, 32, 32), 5)
    assert all(torch.equal(a, b) for a, b in zip(source.state_dict().values(),
                                                  loaded.state_dict().values(), strict=True))
    with pytest.raises(ValueError, match="does not fit resnet18"):
        build_torchvision("resnet18", (3, 32, 32), 10, weights=path)  # classifier shape differs


def test_torchvision_weights_refuse_pickled_code(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"fc.weight": torch.zeros(1), "hook": print}, path)
    with pytest.raises(Exception, match=r"(?i)weights_only|unsupported global"):
        build_torchvision("resnet18", (3, 32, 32), 5, weights=path)


def test_cli_lists_params_and_refusals(capsys):
    import json

    from bench.cli import main

    assert main(["models", "--json", "--no-torchvision", "--dataset", "cifar10"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(rows) == set(OWN)
    assert rows["resnet56"]["params"] == PINNED_PARAMS["resnet56"]
    assert main(["models", "--json", "--filter", "tv_resnet1", "--dataset", "digits"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["params"] is None and "does not fit" in r["classifier"] for r in rows)
