"""Small networks for MNIST-sized inputs: LeNet-5 and the LeNet-300-100 MLP."""

from __future__ import annotations

from torch import Tensor, nn

from bench.models.spec import ModelSpec, register


class LeNet5(nn.Module):
    """LeNet-5 (LeCun et al. 1998) with ReLU and max pooling, as ShrinkBench defines it.

    conv1 pads by 2, so a 28x28 input is seen at 32x32 as in the original. On inputs under
    20 pixels a side (the 8x8 digits), conv2 pads by 2 as well so that a spatial map survives.
    """

    classifier_name = "fc3"

    def __init__(self, input_shape: tuple[int, int, int], num_classes: int) -> None:
        super().__init__()
        c, h, w = input_shape
        pad2 = 0 if min(h, w) >= 20 else 2
        self.conv1 = nn.Conv2d(c, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5, padding=pad2)
        self.pool = nn.MaxPool2d(2)
        self.relu = nn.ReLU()
        fh = (h // 2 - 4 + 2 * pad2) // 2
        fw = (w // 2 - 4 + 2 * pad2) // 2
        self.fc1 = nn.Linear(16 * fh * fw, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        x = x.flatten(1)
        return self.fc3(self.relu(self.fc2(self.relu(self.fc1(x)))))


class MLP(nn.Module):
    """LeNet-300-100: a fully connected net with hidden layers of 300 and 100 units."""

    classifier_name = "fc3"

    def __init__(self, input_shape: tuple[int, int, int], num_classes: int) -> None:
        super().__init__()
        c, h, w = input_shape
        self.fc1 = nn.Linear(c * h * w, 300)
        self.fc2 = nn.Linear(300, 100)
        self.fc3 = nn.Linear(100, num_classes)
        self.relu = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        x = x.flatten(1)
        return self.fc3(self.relu(self.fc2(self.relu(self.fc1(x)))))


register(ModelSpec("lenet5", LeNet5, "LeNet-5 (LeCun et al. 1998), ReLU and max pooling",
                   min_size=8, max_size=64, dataset="mnist5k"))
register(ModelSpec("mlp", MLP, "LeNet-300-100 fully connected network", max_size=64,
                   dataset="mnist5k"))
