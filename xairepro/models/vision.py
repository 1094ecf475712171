"""CIFAR-10 ResNet-20 (He et al. 2016, "Deep residual learning", section 4.2).

The CIFAR variant of the original (v1, post-activation) ResNet: a 3x3 conv with
16 filters, three stages of ``n = 3`` basic blocks with 16, 32 and 64 filters
(the first block of stages 2 and 3 halves the resolution), global average
pooling and a linear classifier: 6n + 2 = 20 weighted layers, about 0.27 M
parameters.  The shortcuts are identities; where the shape changes, the
identity is subsampled and zero-padded in the channels ("option A", the one the
paper uses on CIFAR-10), so the network has no projection parameters.

``dropout > 0`` adds an ``nn.Dropout`` before the classifier, the one place a
BayesGrad-style MC-dropout explanation needs it (not in the paper's ResNet).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .registry import register_model

__all__ = ["BasicBlock", "ResNetCifar", "resnet20"]


class BasicBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.stride, self.pad = stride, planes - in_planes

    def shortcut(self, x):
        if self.stride == 1 and self.pad == 0:
            return x
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNetCifar(nn.Module):
    def __init__(self, blocks_per_stage: int = 3, num_classes: int = 10, dropout: float = 0.0,
                 widths=(16, 32, 64)):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        layers, in_planes = [], widths[0]
        for i, w in enumerate(widths):
            blocks = []
            for b in range(blocks_per_stage):
                stride = 2 if (i > 0 and b == 0) else 1
                blocks.append(BasicBlock(in_planes, w, stride))
                in_planes = w
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = layers
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(in_planes, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def features(self, x):
        """The pooled 64-d bottleneck (the input of the mask network in the masks paper)."""
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        return torch.flatten(F.adaptive_avg_pool2d(out, 1), 1)

    def forward(self, x):
        return self.fc(self.dropout(self.features(x)))


@register_model("resnet20")
def resnet20(num_classes: int = 10, dropout: float = 0.0) -> ResNetCifar:
    """ResNet-20 for 32x32 inputs (3 stages x 3 basic blocks)."""
    return ResNetCifar(3, num_classes=num_classes, dropout=dropout)
