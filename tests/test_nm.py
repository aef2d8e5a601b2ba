"""N:M masks: the validator accepts the declared pattern and refuses a broken one by its group;
every N:M method in methods/ (from the registry) keeps its pattern; no semi-structured figure
without the kernels."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from bench import models, nm
from bench.context import build_context
from bench.masks import validate
from bench.methods import discover
from bench.metrics import semistructured

REPO = Path(__file__).resolve().parents[1]
SHAPE = (1, 28, 28)
METHODS = {n: m for n, m in discover(REPO / "methods").items() if m.ok and m.kind == "nm"}


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return models.build("mlp", SHAPE, 10)


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.rand(16, *SHAPE, generator=g), torch.randint(0, 10, (16,), generator=g)


def test_topn_keeps_exactly_n_of_every_m_along_the_input_dimension():
    scores = torch.rand(8, 24)
    mask = nm.topn_mask(scores, 2, 4)
    kept = nm.groups(mask, 4).sum(-1)
    assert bool((kept == 2).all())
    # the kept ones are the largest of their group
    g, k = nm.groups(scores, 4), nm.groups(mask, 4)
    assert bool((g[k].view(8, 6, 2).min(-1).values >= g[~k].view(8, 6, 2).max(-1).values).all())
    nm.validate({"w": mask}, 2, 4, "m")


def test_a_3x3_conv_mask_keeps_n_of_every_m_input_channels_at_each_kernel_position():
    scores = torch.rand(8, 12, 3, 3)
    mask = nm.topn_mask(scores, 2, 4)
    assert mask.shape == scores.shape
    # apex's m4n2_1d and cuSPARSELt: (out, in, kh, kw) -> (out, kh, kw, in), groups along `in`
    last, s_last = mask.permute(0, 2, 3, 1), scores.permute(0, 2, 3, 1)
    assert bool((last.reshape(8, 3, 3, 3, 4).sum(-1) == 2).all())
    # the kept ones are the largest of their channel group
    g, k = s_last.reshape(-1, 4), last.reshape(-1, 4)
    assert bool((g[k].view(-1, 2).min(-1).values >= g[~k].view(-1, 2).max(-1).values).all())
    nm.validate({"conv.weight": mask}, 2, 4, "m")


def test_a_conv_is_prunable_when_its_input_channels_are_a_multiple_of_m():
    assert nm.prunable(torch.Size((8, 12, 3, 3)), 4) and nm.prunable(torch.Size((8, 8, 1, 1)), 4)
    assert not nm.prunable(torch.Size((8, 2, 2, 2)), 4)  # 8 weights per row, but 2 channels
    assert not nm.prunable(torch.Size((6, 3, 3, 3)), 4)
    assert nm.pattern_masks({"c": torch.rand(8, 2, 2, 2)}, 2, 4) == {}


def test_a_conv_mask_broken_along_its_channels_is_refused_naming_the_kernel_position():
    mask = nm.topn_mask(torch.rand(4, 8, 3, 3), 2, 4)
    mask[1, 4:8, 2, 1] = True  # output 1, kernel position (2, 1), channels 4..7 keep 4 of 4
    with pytest.raises(nm.InvalidPatternError, match=r"output row 1, kernel position \(2, 1\), "
                                                     r"input group 15 \(input channels 4\.\.7\) "
                                                     r"keeps 4 of 4"):
        nm.validate({"conv.weight": mask}, 2, 4, "m")
    # flattened (in, kh, kw) groups that hold 2 of 4 but break the channel groups are refused
    flat = (torch.arange(32) % 4 < 2).expand(2, 32)  # 2 of every 4 of the flattened row
    with pytest.raises(nm.InvalidPatternError, match=r"kernel position \(0, 0\).* keeps 4 of 4"):
        nm.validate({"conv.weight": flat.reshape(2, 8, 2, 2)}, 2, 4, "m")
    with pytest.raises(nm.InvalidPatternError, match="input channels \\(2\\) is not a multiple"):
        nm.validate({"conv.weight": torch.ones(4, 2, 2, 2, dtype=torch.bool)}, 2, 4, "m")


def test_a_broken_pattern_is_refused_naming_the_group():
    mask = nm.topn_mask(torch.rand(4, 16), 2, 4)
    mask[2, 8:12] = True  # row 2, group 2 keeps 4 of 4
    with pytest.raises(nm.InvalidPatternError, match=r"'fc\.weight': output row 2, input group 2 "
                                                     r"\(inputs 8\.\.11.*keeps 4 of 4"):
        nm.validate({"fc.weight": mask}, 2, 4, "m")
    with pytest.raises(nm.InvalidPatternError, match="not a multiple of M=4"):
        nm.validate({"fc.weight": torch.ones(4, 10, dtype=torch.bool)}, 2, 4, "m")
    with pytest.raises(nm.InvalidPatternError, match="0 < N <= M"):
        nm.check_pattern(5, 4)


def test_the_shipped_nm_methods_are_registered():
    assert {(m.attributes["N"], m.attributes["M"]) for m in METHODS.values()} >= {(2, 4), (4, 8)}


@pytest.mark.parametrize("name", sorted(METHODS))
def test_nm_methods_keep_their_pattern_and_change_nothing(name):
    method = METHODS[name]
    n, m = method.attributes["N"], method.attributes["M"]
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    masks = method.prune(model, 2, build_context(model, 2, _batch(), 0))
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    validate(masks, model, name)
    nm.validate(masks, n, m, name)
    classifier = f"{models.classifier_name(model)}.weight"
    assert masks and classifier not in masks
    for mask in masks.values():
        assert float(mask.float().mean()) == pytest.approx(n / m)
    again = method.prune(model, 2, build_context(_model(), 2, _batch(), 0))
    assert all(torch.equal(masks[k], again[k]) for k in masks)


def test_no_semi_structured_latency_without_the_kernels():
    model = _model()
    assert not semistructured.available(torch.device("cpu"))
    figures = semistructured.latencies(model, model, SHAPE, parallel=False)
    assert figures["latency_semistructured_ms"] is None and figures["speedup_semistructured"] is None


def test_a_2_4_weight_is_recognised():
    w = torch.randn(8, 16) * nm.topn_mask(torch.rand(8, 16), 2, 4)
    assert semistructured.is_2_4(w) and not semistructured.is_2_4(torch.randn(8, 16))
