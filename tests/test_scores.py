"""Scores: magnitude, |w * grad| and activation importance, checked against hand computations."""

from __future__ import annotations

import torch
from torch import nn

from bench.context import build_context
from bench.scores import activation, gradient, magnitude


class ConvNet(nn.Module):
    """A grouped conv, batch norm, a Linear on 3-d input and a Linear called twice."""

    classifier_name = "head"

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 6, 3, groups=2, bias=False)
        self.bn = nn.BatchNorm2d(6)
        self.tok = nn.Linear(6, 6)
        self.head = nn.Linear(6, 3)

    def forward(self, x):
        h = self.bn(self.conv(x)).relu()  # (B, 6, 3, 3)
        h = h.flatten(2).transpose(1, 2)  # (B, 9, 6): tokens
        h = self.tok(self.tok(h).relu())
        return self.head(h.mean(1))


def _ctx(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    batch = (torch.randn(8, 4, 5, 5, generator=g), torch.randint(0, 3, (8,), generator=g))
    return build_context(model, 2, batch, seed)


def test_magnitude_is_abs_of_each_prunable_weight():
    model = ConvNet()
    scores = magnitude(_ctx(model))
    assert list(scores) == ["conv.weight", "tok.weight"]
    assert torch.equal(scores["conv.weight"], model.conv.weight.abs())


def test_gradient_is_abs_w_times_grad_and_leaves_the_model_as_it_was():
    torch.manual_seed(0)
    model = ConvNet().train()
    ctx = _ctx(model)
    running = model.bn.running_mean.clone()
    scores = gradient(ctx)
    assert model.training and torch.equal(model.bn.running_mean, running)
    assert all(p.grad is None for p in model.parameters())
    model.eval()
    nn.functional.cross_entropy(model(ctx.batch[0]), ctx.batch[1]).backward()
    for name, p in ctx.prunable.items():
        assert torch.allclose(scores[name], (p * p.grad).abs())


def test_activation_respects_groups_and_linear_features():
    torch.manual_seed(0)
    model = ConvNet()
    ctx = _ctx(model)
    scores = activation(ctx)
    x = ctx.batch[0]
    # conv: output channel o of group o // 3 reads input channels 2 * (o // 3) + j
    per_channel = x.abs().mean(dim=(0, 2, 3))
    w = model.conv.weight.detach()
    for o in range(6):
        expected = w[o].abs() * per_channel[2 * (o // 3):2 * (o // 3) + 2].view(2, 1, 1)
        assert torch.allclose(scores["conv.weight"][o], expected)
    # tok: called twice on (B, 9, 6) inputs; features are the last dim, averaged over both calls
    with torch.no_grad():
        h = model.bn.eval()(model.conv(x)).relu().flatten(2).transpose(1, 2)
        inputs = torch.cat([h.reshape(-1, 6), model.tok(h).relu().reshape(-1, 6)])
    expected = model.tok.weight.detach().abs() * inputs.abs().mean(0)
    assert torch.allclose(scores["tok.weight"], expected, atol=1e-6)
