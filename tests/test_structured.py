"""Physical channel removal: option-A ResNets of every pinned depth, exact equivalence with the
dense model whose removed channels are zeroed, targets met in params and MACs, saving and loading."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from bench import models
from bench.context import Target, UnreachableCompressionError
from bench.metrics.profile import profile
from bench.metrics.size import count_params
from bench.models.cifar_resnet import ShortcutA
from bench.structured import io
from bench.structured.graph import channel_groups, dependency_graph, remove
from bench.structured.search import channel_counts, prune_to_target
from bench.structured.select import InvalidScoresError, group_scores, plan, validate_scores
from bench.structured.shortcut import ShortcutAPruner

SHAPE = (3, 8, 8)


def _model(arch: str, shape=SHAPE, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    model = models.build(arch, shape, 10).eval()
    with torch.no_grad():  # batch norms that are not the identity, so zeroed channels matter
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    return model


def _scores(model: nn.Module, seed: int = 1) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    classifier = f"{models.classifier_name(model)}.weight"
    return {n: torch.rand(p.shape[0], generator=g) for n, p in model.named_parameters()
            if p.dim() > 1 and n != classifier}


def _dense(model: nn.Module, x: torch.Tensor) -> dict:
    return {"params_dense": count_params(model)[0], "macs_dense": profile(model, x).macs_total}


@pytest.mark.parametrize("arch", ["resnet20", "resnet32", "resnet44", "resnet56", "resnet110"])
def test_every_pinned_cifar_resnet_prunes_and_still_classifies(arch):
    model = _model(arch)
    x = torch.randn(4, *SHAPE)
    graph = dependency_graph(model, x[:1])
    groups = channel_groups(model, graph)
    n = (int(arch[6:]) - 2) // 6
    assert len(groups) == 3 + 3 * n  # a residual stream per stage, one inner group per block
    removal = plan(groups, group_scores(groups, _scores(model)), 0.5, "global")
    remove(model, graph, removal)
    assert model(x).shape == (4, 10)
    assert model.fc.out_features == 10  # the classifier's outputs are never removed
    assert count_params(model)[0] < count_params(_model(arch))[0] / 2.5
    assert type(model.layers[n].shortcut) is ShortcutA  # the architecture was not swapped


@pytest.mark.parametrize("arch,shape", [("resnet20", SHAPE), ("lenet5", (1, 28, 28)),
                                        ("resnet32", SHAPE)])
def test_removal_equals_the_dense_model_with_those_channels_zeroed(arch, shape):
    dense = _model(arch, shape)
    x = torch.randn(5, *shape)
    pruned = copy.deepcopy(dense)
    graph = dependency_graph(pruned, x[:1])
    groups = channel_groups(pruned, graph)
    removal = plan(groups, group_scores(groups, _scores(pruned)), 0.4, "global")
    # zero, in the dense model, every output channel the coupled groups remove
    zero_graph = dependency_graph(dense, x[:1])
    modules = dict(dense.named_modules())
    keep: dict[nn.Module, torch.Tensor] = {}
    for root, idxs in removal.items():
        group = zero_graph.get_pruning_group(modules[root], zero_graph.get_pruner_of_module(
            modules[root]).prune_out_channels, idxs)
        for item in group:
            module = item.dep.target.module
            if zero_graph.is_out_channel_pruning_fn(item.dep.handler) and (
                    isinstance(module, (nn.Conv2d, nn.Linear, nn.BatchNorm2d, ShortcutA))):
                channels = zero_graph.get_out_channels(module)
                mask = keep.setdefault(module, torch.ones(channels))
                mask[item.idxs] = 0
    hooks = [m.register_forward_hook(lambda _m, _i, out, k=k: out * k.view(1, -1, *[1] * (out.dim() - 2)))
             for m, k in keep.items()]
    expected = dense(x)
    for h in hooks:
        h.remove()
    remove(pruned, graph, removal)
    assert any(removal.values())
    torch.testing.assert_close(pruned(x), expected, rtol=1e-4, atol=1e-5)


def test_the_shortcut_pruner_keeps_each_channel_where_it_was():
    shortcut = ShortcutA(16, 16)  # 16 -> 32 channels, input i at output i + 8
    x = torch.randn(2, 16, 4, 4)
    pruner = ShortcutAPruner()
    pruner.prune_in_channels(shortcut, [0, 3])  # inputs 0 and 3 gone: outputs 8 and 11 are zeros
    pruner.prune_out_channels(shortcut, [1, 9, 20])  # outputs 1, 9 (input 1), 20 (input 12) gone
    out = shortcut(torch.cat([x[:, 1:3], x[:, 4:]], 1))
    assert out.shape == (2, 29, 2, 2)
    full = torch.nn.functional.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, 8, 8))
    full[:, [8, 11]] = 0
    kept = [c for c in range(32) if c not in (1, 9, 20)]
    torch.testing.assert_close(out, full[:, kept])


@pytest.mark.parametrize("unit,scope,value", [("params", "global", 2), ("params", "layer", 4),
                                              ("macs", "global", 4), ("macs", "layer", 2)])
def test_the_target_is_met_within_the_stated_tolerance(unit, scope, value):
    model = _model("resnet20")
    x = torch.randn(1, *SHAPE)
    dense = _dense(model, x)
    result = prune_to_target(model, _scores(model), Target(value, unit), dense, x, scope)
    assert result.tolerance < 0.15  # resnet20 channels are fine enough
    measured = (dense["params_dense"] / count_params(result.model)[1] if unit == "params"
                else dense["macs_dense"] / profile(result.model, x).macs_nonzero)
    assert measured == pytest.approx(result.achieved)
    assert measured == pytest.approx(value, rel=result.tolerance)
    assert result.model(x).shape == (1, 10)
    assert count_params(model)[0] == dense["params_dense"]  # the model given is left as it was


@pytest.mark.parametrize("scope", ["global", "layer"])
def test_tied_scores_are_counted_and_scores_that_decide_are_not(scope):
    model = _model("resnet20")
    x = torch.randn(1, *SHAPE)
    dense = _dense(model, x)
    tied = {n: torch.ones_like(s) for n, s in _scores(model).items()}
    assert prune_to_target(model, tied, Target(2, "macs"), dense, x, scope).ties == 1.0
    assert prune_to_target(model, _scores(model), Target(2, "macs"), dense, x, scope).ties == 0.0
    # half of each layer's scores tie at the cut: ties are counted among the removed
    half = {n: torch.where(s < 0.5, torch.zeros_like(s), s) for n, s in _scores(model).items()}
    share = prune_to_target(model, half, Target(1.3), dense, x, scope).ties
    assert 0 < share <= 1
    assert prune_to_target(model, tied, Target(1), dense, x, scope).ties is None  # nothing removed


def test_round_to_keeps_channel_counts_multiples_of_it():
    model = _model("resnet20")
    x = torch.randn(1, *SHAPE)
    result = prune_to_target(model, _scores(model), Target(3), _dense(model, x), x, round_to=4)
    counts = channel_counts(result.model)
    assert all(out % 4 == 0 for name, (_, out) in counts.items() if name != "fc")
    assert counts["fc"][1] == 10


def test_an_unreachable_target_and_bad_scores_are_refused_by_name():
    model = _model("lenet5", (1, 28, 28))
    x = torch.randn(1, 1, 28, 28)
    only_conv = {k: v for k, v in _scores(model).items() if k.startswith("conv")}
    with pytest.raises(UnreachableCompressionError, match="out of reach"):
        prune_to_target(model, only_conv, Target(50), _dense(model, x), x)
    with pytest.raises(InvalidScoresError, match=r"conv1\.weight.*6"):
        validate_scores({"conv1.weight": torch.rand(5)}, model, "m")
    with pytest.raises(InvalidScoresError, match="NaN"):
        validate_scores({"conv1.weight": torch.full((6,), float("nan"))}, model, "m")
    with pytest.raises(InvalidScoresError, match="not a conv or linear weight"):
        validate_scores({"conv1.bias": torch.rand(6)}, model, "m")


@pytest.mark.parametrize("arch,shape", [("resnet20", SHAPE), ("lenet5", (1, 28, 28))])
def test_a_pruned_model_saved_and_loaded_gives_identical_outputs(arch, shape, tmp_path):
    model = _model(arch, shape)
    x = torch.randn(3, *shape)
    result = prune_to_target(model, _scores(model), Target(3), _dense(model, x[:1]), x[:1])
    io.save(result.model, tmp_path / "pruned.pt", arch, shape, 10)
    loaded = io.load(tmp_path / "pruned.pt").eval()
    assert channel_counts(loaded) == channel_counts(result.model)
    assert torch.equal(loaded(x), result.model.eval()(x))
