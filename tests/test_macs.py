"""MAC counts: conventional references, hand formulas, reuse, sharing and the nonzero convention."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from bench import models
from bench.metrics.macs import counted_layers
from bench.metrics.profile import layer_counts, profile, total_macs

torchvision = pytest.importorskip("torchvision")

# torchvision definitions, 1000 classes, one 3x224x224 input: (MACs, parameters).
REFERENCES = {
    "resnet18": (1_814_073_344, 11_689_512),
    "resnet50": (4_089_184_256, 25_557_032),
    "vgg16": (15_470_264_320, 138_357_544),
    "mobilenet_v2": (300_774_272, 3_504_872),  # grouped (depthwise) convolutions
}


@pytest.mark.parametrize("arch", sorted(REFERENCES))
def test_torchvision_reference_counts(arch):
    """Counted on the meta device (shapes only): exact MACs and parameters of the references."""
    with torch.device("meta"):
        model = torchvision.models.get_model(arch, num_classes=1000)
        prof = profile(model, torch.zeros(1, 3, 224, 224))
    assert (prof.macs_total, sum(p.numel() for p in model.parameters())) == REFERENCES[arch]
    assert prof.macs_other == 0  # all of it in conv and linear layers
    assert {c.name for c in prof.layers} == set(counted_layers(model))
    assert all(c.macs > 0 and c.calls == 1 for c in prof.layers)


def test_real_weights_count_like_meta():
    """On real (random) weights the dense count is the same as on the meta device."""
    model = torchvision.models.resnet18(num_classes=1000)
    with torch.no_grad():  # random init can draw an exact zero; make every weight nonzero
        for p in model.parameters():
            p.copy_(p.abs() + 1e-3)
    dense, nonzero = total_macs(model, (3, 224, 224))
    assert dense == nonzero == REFERENCES["resnet18"][0]
    layers = {c.name: c for c in layer_counts(model, (3, 224, 224))}
    # a nested name as named_modules gives it: 64 x 64 x 3 x 3 on a 56 x 56 map
    assert layers["layer1.0.conv1"].macs == 64 * 64 * 9 * 56 * 56
    assert layers["fc"].macs == 512 * 1000


def test_cifar_resnet56_reference():
    """CIFAR ResNet-56 (option A shortcuts, 10 classes) at 32x32: 125,485,696 MACs."""
    if "resnet56" not in models.names():
        pytest.skip("architecture 'resnet56' is not registered (bench/models/cifar_resnet.py)")
    with torch.device("meta"):
        model = models.build("resnet56", (3, 32, 32), 10)
        prof = profile(model, torch.zeros(1, 3, 32, 32))
    assert prof.macs_total == 125_485_696


def conv_macs(c_in, c_out, k, stride, pad, dil, groups, size):
    """Hand formula: output positions x output channels x (input channels per group x kernel)."""
    out = (size + 2 * pad - dil * (k - 1) - 1) // stride + 1
    return out * out * c_out * (c_in // groups) * k * k


@pytest.mark.parametrize("c_in,c_out,k,stride,pad,dil,groups", [
    (8, 16, 3, 1, 1, 1, 1), (8, 16, 3, 2, 1, 1, 4), (12, 12, 5, 1, 4, 2, 12), (6, 9, 3, 3, 0, 1, 3),
])
def test_conv_hand_formula(c_in, c_out, k, stride, pad, dil, groups):
    conv = nn.Conv2d(c_in, c_out, k, stride=stride, padding=pad, dilation=dil, groups=groups)
    [count] = layer_counts(nn.Sequential(conv), (c_in, 17, 17))
    assert count.macs == conv_macs(c_in, c_out, k, stride, pad, dil, groups, 17)
    assert count.weight_numel == c_out * (c_in // groups) * k * k


def test_conv1d_and_linear_on_sequences():
    model = nn.Sequential(nn.Conv1d(4, 8, 3, padding=1), nn.Flatten(), nn.Linear(8 * 20, 5))
    counts = layer_counts(model, (4, 20))
    assert [c.macs for c in counts] == [20 * 8 * 4 * 3, 160 * 5]


def test_physically_smaller_model_counted_on_its_shapes():
    """Fewer channels: fewer MACs, from the shapes that actually ran."""
    def net(width):
        return nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU(),
                             nn.Conv2d(width, width, 3, padding=1), nn.Flatten(),
                             nn.Linear(width * 8 * 8, 10))
    full, slim = total_macs(net(8), (3, 8, 8))[0], total_macs(net(4), (3, 8, 8))[0]
    assert full == 64 * (8 * 27 + 8 * 72) + 512 * 10
    assert slim == 64 * (4 * 27 + 4 * 36) + 256 * 10


class Reused(nn.Module):
    """One conv applied twice, one linear registered under two names, one functional matmul."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.fc = nn.Linear(4, 4)
        self.alias = self.fc
        self.proj = nn.Parameter(torch.ones(4, 3))

    def forward(self, x):
        x = self.conv(self.conv(x)).mean((2, 3))
        return self.alias(x) @ self.proj


def test_reused_and_shared_modules_and_functional_matmul():
    prof = profile(Reused(), torch.zeros(2, 4, 6, 6))
    layers = {c.name: c for c in prof.layers}
    assert set(layers) == {"conv", "fc"}  # the shared linear under its first name
    assert layers["conv"].macs == 2 * 36 * 4 * 4 * 9 and layers["conv"].calls == 2
    assert layers["fc"].macs == 16 and layers["fc"].calls == 1
    assert prof.macs_other == 12  # the matmul outside any conv/linear module
    assert prof.macs_total == layers["conv"].macs + 16 + 12


def test_nonzero_macs_are_dense_times_weight_density():
    model = nn.Sequential(nn.Conv2d(2, 4, 3), nn.Flatten(), nn.Linear(4 * 4 * 4, 10))
    with torch.no_grad():
        model[0].weight[:, :1] = 0  # half of the conv's weight
        model[2].weight[:, ::4] = 0  # a quarter of the linear's
    conv, fc = layer_counts(model, (2, 6, 6))
    assert conv.macs_nonzero * 2 == conv.macs and conv.sparsity == 0.5
    assert fc.macs_nonzero * 4 == fc.macs * 3
    assert total_macs(model, (2, 6, 6)) == (conv.macs + fc.macs, conv.macs_nonzero + fc.macs_nonzero)


def test_lenet5_counts():
    model = models.build("lenet5", (1, 28, 28), 10)
    counts = [c.macs for c in layer_counts(model, (1, 28, 28))]
    assert counts == [28 * 28 * 6 * 25, 10 * 10 * 16 * 6 * 25, 400 * 120, 120 * 84, 84 * 10]


def test_training_mode_is_restored():
    model = models.build("mlp", (1, 8, 8), 10).train()
    layer_counts(model, (1, 8, 8))
    assert model.training


FIRST_COUNT = """
import sys, torch
from bench import models
from bench.metrics.macs import load_counter
from bench.metrics.profile import profile
model = models.build("lenet5", (1, 28, 28), 10, "mnist5k")
lazy = "torch._dynamo" not in sys.modules
load_counter()
before = set(sys.modules)
profile(model, torch.zeros(2, 1, 28, 28))
print(lazy, sorted(set(sys.modules) - before))
"""


@pytest.mark.slow
def test_after_load_counter_the_first_count_imports_nothing():
    """A fresh process (an xdist worker) pays torch's lazy import of torch._dynamo in load_counter,
    not in its first case's seconds_count."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    out = subprocess.run([sys.executable, "-c", FIRST_COUNT], env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    assert out == ["True", "[]"]
