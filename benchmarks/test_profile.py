"""The MAC profile: one counted forward pass of ResNet-50 (bench.metrics.profile)."""

from __future__ import annotations

import pytest
import torch

from bench.metrics.profile import profile


@pytest.mark.benchmark(group="profile")
def test_profile_resnet50(benchmark, resnet50):
    """bench.metrics.profile.profile(resnet50, one 3x224x224 input)."""
    inputs = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    result = benchmark.pedantic(profile, args=(resnet50, inputs), rounds=5, warmup_rounds=1,
                                iterations=1)
    assert 4.0e9 < result.macs_total < 4.2e9  # resnet50: 4.1 GMACs at 224x224
