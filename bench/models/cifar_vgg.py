"""ShrinkBench's CIFAR VGG: VGG-16 with batch norm and dropout (Zagoruyko's cifar.torch model)."""

from __future__ import annotations

from torch import Tensor, nn

from bench.models.spec import ModelSpec, register

# (output channels, dropout after the layer or None); "M" is a 2x2 max pool with ceil mode.
CONFIG: list = [(64, 0.3), (64, None), "M", (128, 0.4), (128, None), "M",
                (256, 0.4), (256, 0.4), (256, None), "M", (512, 0.4), (512, 0.4), (512, None), "M",
                (512, 0.4), (512, 0.4), (512, None), "M"]


class ConvBNReLU(nn.Sequential):
    """3x3 convolution, batch norm (eps 1e-3, as in the Lua original) and ReLU."""

    def __init__(self, in_planes: int, out_planes: int) -> None:
        super().__init__(nn.Conv2d(in_planes, out_planes, 3, padding=1),
                         nn.BatchNorm2d(out_planes, eps=1e-3), nn.ReLU(inplace=True))


class VGGBnDrop(nn.Module):
    """13 conv layers in five pooled stages, then Dropout-Linear(512)-BN-ReLU-Dropout-Linear."""

    classifier_name = "classifier.5"

    def __init__(self, input_shape: tuple[int, int, int], num_classes: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = input_shape[0]
        for item in CONFIG:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
                continue
            width, dropout = item
            layers.append(ConvBNReLU(channels, width))
            if dropout is not None:
                layers.append(nn.Dropout(dropout))
            channels = width
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Dropout(0.5), nn.Linear(512, 512), nn.BatchNorm1d(512), nn.ReLU(inplace=True),
            nn.Dropout(0.5), nn.Linear(512, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x).flatten(1))


register(ModelSpec("cifar_vgg", VGGBnDrop, "VGG-16 with batch norm and dropout (ShrinkBench's "
                   "CIFAR VGG)", min_size=1, max_size=32, dataset="cifar10"))
