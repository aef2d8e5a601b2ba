"""`info` and the case profile count the same for every architecture; `info` matches torchvision."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from bench import models
from bench.cli.info import describe
from bench.metrics.profile import profile
from bench.models.meta import build_on_meta

torchvision = pytest.importorskip("torchvision")

# The smallest member of each torchvision family (a new family fails test_sample_covers_every_family),
# plus the ones whose products run outside their modules' forward: ViT (nn.MultiheadAttention),
# Swin (F.linear on qkv.weight), Swin V2 (a position-bias MLP run once per batch). MaxViT runs
# only at 224 pixels and more (5.6 G MACs): too slow to run for real here, it is counted on meta
# against torchvision's figure below.
TV_SAMPLE = [
    "tv_alexnet", "tv_convnext_tiny", "tv_densenet121", "tv_efficientnet_b0", "tv_efficientnet_v2_s",
    "tv_googlenet", "tv_inception_v3", "tv_mnasnet0_5", "tv_mobilenet_v2",
    "tv_mobilenet_v3_small", "tv_regnet_x_400mf", "tv_regnet_y_400mf", "tv_resnet18",
    "tv_resnext50_32x4d", "tv_shufflenet_v2_x0_5", "tv_squeezenet1_0", "tv_swin_t", "tv_swin_v2_t",
    "tv_vgg11_bn", "tv_vit_b_16", "tv_wide_resnet50_2",
]


@pytest.fixture(autouse=True)
def _one_thread():
    """One thread: these tests run many small kernels, which more threads only slow down under load."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _family(name: str) -> str:
    return name.removeprefix("tv_").split("_")[0].rstrip("0123456789")


def _small_input(name: str) -> tuple[int, int, int]:
    spec = models.get(name)
    if spec.source == "torchvision":
        return (3, spec.min_size, spec.min_size)
    return {"lenet5": (1, 28, 28), "mlp": (1, 8, 8)}.get(name, (3, 32, 32))


def test_sample_covers_every_family():
    families = {_family(n) for n in models.names() if models.get(n).source == "torchvision"}
    assert families == {_family(n) for n in TV_SAMPLE} | {"maxvit"}


def _real(arch: str, shape: tuple[int, int, int], params: int) -> nn.Module:
    """The model as a case builds it; over 30 M parameters, the same modules built on meta and
    given CPU memory without the costly random init (counts do not depend on the values)."""
    if params <= 30e6:
        torch.manual_seed(0)
        return models.build(arch, shape, 10)
    model = build_on_meta(lambda: models.build(arch, shape, 10)).to_empty(device="cpu")
    with torch.no_grad():
        for t in [*model.parameters(), *model.buffers()]:
            t.fill_(0.5) if t.is_floating_point() else t.zero_()
    return model


@pytest.mark.parametrize("arch", models.names(torchvision=False) + TV_SAMPLE)
def test_info_equals_the_case_profile(arch):
    """Counted on the meta device (info) and on a real model run as a case runs it (eval mode,
    no_grad, a batch of inputs): the same MACs per layer, outside layers, and in total."""
    shape = _small_input(arch)
    info = describe(arch, shape, 10)
    model = _real(arch, shape, info["params_total"])
    case = profile(model, torch.randn(2, *shape))
    assert case.macs_total == info["macs_total"] > 0
    assert case.macs_other == info["macs_other"]
    assert [(c.name, c.macs, c.calls) for c in case.layers] == \
        [(r["name"], r["macs"], r["calls"]) for r in info["layers"]]
    assert case.activations_total == info["activations_total"]
    assert sum(p.numel() for p in model.parameters()) == info["params_total"]


def _tv_reference(arch: str):
    weights = next(iter(torchvision.models.get_model_weights(arch)))
    return weights.meta, weights.transforms().crop_size[0]


# every family at full size, and all 15 RegNets (whose constructors compute with tensors)
OPS_SAMPLE = sorted({n.removeprefix("tv_") for n in TV_SAMPLE} | {"maxvit_t"} | {
    n for n in torchvision.models.list_models(module=torchvision.models) if n.startswith("regnet_")})


@pytest.mark.parametrize("arch", OPS_SAMPLE)
def test_info_matches_torchvision_documented_ops(arch):
    """torchvision documents each classifier's GFLOPS (multiply-accumulates, 3 decimals) at its
    weights' evaluation size: info gives the same, RegNets and transformers included. (Checked
    once over all 80 classifiers: every one agrees; the sample keeps the test fast.)"""
    meta, size = _tv_reference(arch)
    info = describe(arch, (3, size, size), len(meta["categories"]))
    assert abs(info["macs_total"] / 1e9 - meta["_ops"]) <= 0.0005 + 1e-9
    if arch not in ("googlenet", "inception_v3"):  # built without their auxiliary classifiers
        assert info["params_total"] == meta["num_params"]


def test_vit_b16_attention_is_attributed_to_its_modules():
    """ViT-B/16 at 224: the input projection counts for the attention module, out_proj for itself,
    and only the attention products (2 x tokens^2 x width per block) are left outside layers."""
    info = describe("vit_b_16", (3, 224, 224), 1000)
    layers = {r["name"]: r["macs"] for r in info["layers"]}
    tokens, width, blocks = 197, 768, 12
    block = "encoder.layers.encoder_layer_0.self_attention"
    assert layers[block] == tokens * width * 3 * width
    assert layers[f"{block}.out_proj"] == tokens * width * width
    assert info["macs_other"] == blocks * 2 * tokens * tokens * width


class _Attention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc(self.attn(x, x, x, need_weights=False)[0].mean(1))


def test_attention_fast_path_is_counted_and_pruning_out_proj_counts():
    """Eval mode under no_grad takes PyTorch's fused attention path; the count is still exact, the
    fast path is switched back on afterwards, and zeros in out_proj lower its nonzero MACs."""
    model = _Attention().eval()
    x = torch.randn(4, 5, 8)
    prof = profile(model, x)
    layers = {c.name: c for c in prof.layers}
    assert layers["attn"].macs == 5 * 8 * 24 and layers["attn.out_proj"].macs == 5 * 8 * 8
    assert prof.macs_other == 2 * 5 * 5 * 8 and layers["fc"].macs == 8 * 3
    assert torch.backends.mha.get_fastpath_enabled()
    with torch.no_grad():
        model.attn.out_proj.weight[:4] = 0
    assert {c.name: c for c in profile(model, x).layers}["attn.out_proj"].macs_nonzero == 5 * 8 * 4


def test_swin_v2_batch_independent_work_counts_whole():
    """Swin V2's position-bias MLP runs once per forward whatever the batch: per input it counts
    whole (as for one input at inference), so the count does not depend on the batch size."""
    torch.manual_seed(0)
    model = models.build("tv_swin_v2_t", (3, 32, 32), 10)
    one, many = profile(model, torch.randn(1, 3, 32, 32)), profile(model, torch.randn(3, 3, 32, 32))
    assert one.macs_total == many.macs_total
