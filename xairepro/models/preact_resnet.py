"""Pre-activation ResNet (ResNet v2; He et al. 2016, "Identity mappings in deep residual networks")
for 32x32 images.

Each residual unit computes BN -> ReLU -> conv (twice for the ``basic`` unit, three times with a
1x1 / 3x3 / 1x1 ``bottleneck`` of expansion 4), and the shortcut is the identity or, where the
shape changes, a 1x1 projection of the pre-activated input. Three stages of 16, 32 and 64 base
filters; ``depth = 6n + 2`` (basic) or ``9n + 2`` (bottleneck), with ``n`` units per stage:
ResNet-164 is the bottleneck network with n = 18 (1.7 M parameters, a 256-d pooled feature
vector); ResNet-20 the basic network with n = 3 (0.27 M parameters, 64-d features).

Inputs are images in [0, 1] (N, 3, H, W); the per-channel CIFAR-10 normalization is the first
operation of the network, so a black image (all zeros) is the natural baseline of the
attribution methods and the pixel ablations. ``dropout > 0`` adds an ``nn.Dropout`` on the pooled
features before the classifier (off by default; on for the BayesGrad variant, whose MC-dropout
samples need a dropout module).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .registry import register_model

__all__ = ["CIFAR10_MEAN", "CIFAR10_STD", "PreActResNet", "preact_resnet"]

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


class PreActBasic(nn.Module):
    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        out = planes * self.expansion
        self.shortcut = (nn.Conv2d(in_planes, out, 1, stride=stride, bias=False)
                         if stride != 1 or in_planes != out else None)

    def forward(self, x):
        pre = F.relu(self.bn1(x))
        short = self.shortcut(pre) if self.shortcut is not None else x
        out = self.conv1(pre)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + short


class PreActBottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        out = planes * self.expansion
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.shortcut = (nn.Conv2d(in_planes, out, 1, stride=stride, bias=False)
                         if stride != 1 or in_planes != out else None)

    def forward(self, x):
        pre = F.relu(self.bn1(x))
        short = self.shortcut(pre) if self.shortcut is not None else x
        out = self.conv1(pre)
        out = self.conv2(F.relu(self.bn2(out)))
        out = self.conv3(F.relu(self.bn3(out)))
        return out + short


_BLOCKS = {"basic": (PreActBasic, 6), "bottleneck": (PreActBottleneck, 9)}


class PreActResNet(nn.Module):
    """Pre-activation ResNet for CIFAR; ``features(x)`` is the pooled vector the classifier reads."""

    def __init__(self, depth: int = 20, block: str = "basic", n_out: int = 10, dropout: float = 0.0,
                 width: int = 16, normalize: bool = True):
        super().__init__()
        if block not in _BLOCKS:
            raise ValueError(f"block must be one of {sorted(_BLOCKS)}, got {block!r}")
        unit, per = _BLOCKS[block]
        if depth < per + 2 or (depth - 2) % per:
            raise ValueError(f"a pre-activation ResNet with {block} units needs depth = {per}n + 2 "
                             f"(n >= 1), got {depth}")
        n = (depth - 2) // per
        self.depth, self.block = depth, block
        self.register_buffer("mean", torch.tensor(CIFAR10_MEAN if normalize else (0.0,) * 3).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(CIFAR10_STD if normalize else (1.0,) * 3).view(1, 3, 1, 1))
        self.conv1 = nn.Conv2d(3, width, 3, padding=1, bias=False)
        stages, in_planes = [], width
        for i, planes in enumerate((width, 2 * width, 4 * width)):
            units = []
            for b in range(n):
                units.append(unit(in_planes, planes, 2 if (i > 0 and b == 0) else 1))
                in_planes = planes * unit.expansion
            stages.append(nn.Sequential(*units))
        self.stage1, self.stage2, self.stage3 = stages
        self.bn_final = nn.BatchNorm2d(in_planes)
        self.n_features = in_planes
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(in_planes, n_out)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def features(self, x):
        """The pooled bottleneck vector (``n_features``: 64 for basic width 16, 256 for bottleneck)."""
        out = self.conv1((x - self.mean) / self.std)
        out = self.stage3(self.stage2(self.stage1(out)))
        out = F.relu(self.bn_final(out))
        return torch.flatten(F.adaptive_avg_pool2d(out, 1), 1)

    def forward(self, x):
        return self.fc(self.dropout(self.features(x)))


@register_model("preact_resnet")
def preact_resnet(depth: int = 20, block: str = "basic", n_out: int = 10, dropout: float = 0.0,
                  width: int = 16, normalize: bool = True) -> PreActResNet:
    """Pre-activation ResNet v2: ``depth=164, block="bottleneck"`` is ResNet-164; ``depth=20``
    (basic) the small network of quick runs."""
    return PreActResNet(depth, block, n_out, dropout, width, normalize)
