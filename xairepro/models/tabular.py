"""The saliency blog's tabular model: chainer-chemistry's ``MLP`` on iris.

``n_layers`` counts the linear layers as chainer-chemistry does (``n_layers - 1`` hidden layers of
``hidden_dim`` units, then the output layer); each hidden layer is followed by ReLU and an
``nn.Dropout`` module, so MC dropout (BayesGrad) samples it. Returns class logits ``(B, n_out)``.
"""
from __future__ import annotations

from torch import nn

from .registry import register_model

__all__ = ["TabularMLP"]


@register_model("tabular_mlp")
class TabularMLP(nn.Module):
    def __init__(self, n_in: int, hidden_dim: int = 48, n_layers: int = 2, dropout: float = 0.5, n_out: int = 3):
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"tabular_mlp: n_layers must be >= 1, got {n_layers}")
        layers, width = [], n_in
        for _ in range(n_layers - 1):
            layers += [nn.Linear(width, hidden_dim), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden_dim
        layers.append(nn.Linear(width, n_out))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)
