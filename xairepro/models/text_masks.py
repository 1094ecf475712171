"""The explanation-mask head of the explanatory-masks paper's sentiment model (section 3.2).

It reads the frozen classifier's per-token BiGRU outputs ``(B, T, in_dim)`` and returns one mask
logit per token ``(B, T, 1)``: a 2-layer bidirectional GRU (width 100 in the paper), then per time
step a 256-unit ReLU layer and a linear layer with one output. The sigmoid of that logit is the
word's weight, which multiplies the word's embedding (applied equally across the embedding
channels); the wrapper that applies it to the frozen classifier is an
:class:`xairepro.attribution.ExplanationMaskNet` built by the text experiment.
"""
from __future__ import annotations

import torch
from torch import nn

from .registry import register_model

__all__ = ["BiGRUMaskHead"]


@register_model("bigru_mask_head")
class BiGRUMaskHead(nn.Module):
    """Per-token mask logits from a sequence of feature vectors."""

    def __init__(self, in_dim: int, hidden: int = 100, n_layers: int = 2, fc_dim: int = 256):
        super().__init__()
        if in_dim < 1 or hidden < 1 or n_layers < 1 or fc_dim < 1:
            raise ValueError("in_dim, hidden, n_layers and fc_dim must be positive")
        self.gru = nn.GRU(in_dim, hidden, num_layers=n_layers, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, fc_dim)
        self.out = nn.Linear(fc_dim, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        h, _ = self.gru(features)
        return self.out(torch.relu(self.fc(h)))
