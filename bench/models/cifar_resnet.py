"""The CIFAR ResNets of He et al. 2016 (resnet20 ... resnet110) with shortcut option A."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from bench.errors import InvalidValueError
from bench.models.spec import ModelSpec, register


class ShortcutA(nn.Module):
    """Option A: subsample by 2 and zero-pad the new channels (no parameters).

    After channel pruning (bench.structured) the input channels no longer sit in one block in the
    middle of the output: `src` lists the input channels passed on and `dst` their output
    positions; every other output channel is zero, as the padding was. Both are non-persistent
    buffers, so the dense model's state_dict is unchanged."""

    def __init__(self, extra_channels: int, in_channels: int | None = None) -> None:
        super().__init__()
        self.pad = extra_channels // 2
        self.in_channels = in_channels
        self.out_channels = None if in_channels is None else in_channels + 2 * self.pad
        self.register_buffer("src", None, persistent=False)
        self.register_buffer("dst", None, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        x = x[:, :, ::2, ::2]
        if self.src is None:
            return F.pad(x, (0, 0, 0, 0, self.pad, self.pad))
        out = x.new_zeros(x.shape[0], self.out_channels, *x.shape[2:])
        return out.index_copy(1, self.dst, x.index_select(1, self.src))


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with an identity (or option-A) shortcut."""

    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_planes != planes:
            self.shortcut = ShortcutA(planes - in_planes, in_planes)

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """ResNet-(6n+2) for 32x32 inputs: three stages of n blocks with 16, 32 and 64 channels."""

    classifier_name = "fc"

    def __init__(self, depth: int, input_shape: tuple[int, int, int], num_classes: int) -> None:
        super().__init__()
        if (depth - 2) % 6:
            raise InvalidValueError(f"CIFAR ResNet depth must be 6n+2, not {depth}")
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(input_shape[0], 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        blocks, planes = [], 16
        for stage, width in enumerate((16, 32, 64)):
            for i in range(n):
                stride = 2 if stage > 0 and i == 0 else 1
                blocks.append(BasicBlock(planes, width, stride))
                planes = width
        self.layers = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, num_classes)
        self.reset_weights()

    def reset_weights(self) -> None:
        """He et al.'s initialisation of the conv and linear weights (whatever their widths)."""
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)

    def forward(self, x: Tensor) -> Tensor:
        out = self.layers(F.relu(self.bn1(self.conv1(x))))
        return self.fc(F.adaptive_avg_pool2d(out, 1).flatten(1))


def _builder(depth: int):
    def build(input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
        return CifarResNet(depth, input_shape, num_classes)

    return build


for _depth in (20, 32, 44, 56, 110):
    register(ModelSpec(f"resnet{_depth}", _builder(_depth),
                       f"CIFAR ResNet-{_depth} (He et al. 2016), shortcut option A",
                       min_size=8, max_size=64, dataset="cifar10"))
