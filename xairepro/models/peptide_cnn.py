"""The hemolytic-peptide classifier of the dmol.pub interpretability chapter (section 10.3), in torch.

Input: one-hot peptides ``(B, L, A)`` whose channel 0 is the gap (padding) letter. Three
convolutions (16 filters, kernels 5/3/3, "same" padding) each multiplied by the padding mask,
tanh, and max-pooling 4/2/2 (the mask is pooled alike); the flattened features are concatenated
with the amino-acid fractions (mean of channels 1..A-1 over all L rows) and the pooled length;
dense 256 -> 64 -> 1 with tanh and no biases, so an all-zero input gives logit 0 (P = 0.5),
the integrated-gradients baseline. Returns one logit per peptide ``(B, 1)``. ``dropout > 0`` (not the
chapter's model, which has none) puts an ``nn.Dropout`` before each dense layer: the dropout variant
that the MC-dropout methods (BayesGrad) sample; with the default 0 the module list is the chapter's.

:class:`IdsToOneHot` feeds the same model token ids (``0`` gap, ``1..A-1`` letters, ``A`` an
all-zero row), which is what token-level faithfulness curves need. :class:`ResidueRows` feeds it the
residue rows ``(B, n, A)`` of peptides of ``n`` residues followed by their common gap rows, so that
explanations of the residues keep the padding fixed (the dmol chapter restricts its Shapley swaps so).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .registry import register_model

__all__ = ["PeptideCNN", "IdsToOneHot", "ResidueRows"]


@register_model("peptide_cnn")
class PeptideCNN(nn.Module):
    def __init__(self, length: int = 200, n_letters: int = 21, filters: int = 16,
                 kernels=(5, 3, 3), pools=(4, 2, 2), dense=(256, 64), n_out: int = 1, dropout: float = 0.0):
        super().__init__()
        if len(kernels) != len(pools):
            raise ValueError("peptide_cnn: kernels and pools must have the same length")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"peptide_cnn: dropout must be in [0, 1), got {dropout}")
        self.pools = tuple(int(p) for p in pools)
        self.convs = nn.ModuleList()
        width, out_len = n_letters, length
        for k, p in zip(kernels, self.pools):
            self.convs.append(nn.Conv1d(width, filters, int(k), padding="same"))
            width, out_len = filters, out_len // p
        sizes = [filters * out_len + (n_letters - 1) + 1, *dense, n_out]
        layers = []
        for i in range(len(sizes) - 1):
            if dropout > 0:
                layers.append(nn.Dropout(float(dropout)))
            layers.append(nn.Linear(sizes[i], sizes[i + 1], bias=False))
            if i < len(sizes) - 2:
                layers.append(nn.Tanh())
        self.head = nn.Sequential(*layers)

    def forward(self, x):
        fracs = x.mean(1)[:, 1:]                                     # (B, A-1)
        mask = x[..., 1:].sum(-1, keepdim=True).transpose(1, 2)     # (B, 1, L)
        h = x.transpose(1, 2)                                        # (B, A, L)
        for conv, p in zip(self.convs, self.pools):
            h = torch.tanh(conv(h) * mask)
            h = F.max_pool1d(h, p, p)
            mask = F.max_pool1d(mask, p, p)
        feats = torch.cat([h.transpose(1, 2).flatten(1), fracs, mask.sum(-1)], dim=1)
        return self.head(feats)


class IdsToOneHot(nn.Module):
    """``model`` on token ids ``(B, L)``: id ``a < n_letters`` is that one-hot row, id ``n_letters``
    the all-zero row (removed)."""

    def __init__(self, model: nn.Module, n_letters: int = 21):
        super().__init__()
        self.model, self.n_letters = model, int(n_letters)

    def forward(self, ids):
        onehot = F.one_hot(ids.long(), self.n_letters + 1)[..., : self.n_letters]
        return self.model(onehot.to(next(self.model.parameters()).dtype))


class ResidueRows(nn.Module):
    """``model`` on the residue rows ``(B, n, A)`` of peptides of ``n`` residues: their common ``gap_rows``
    ``(L - n, A)`` (the gaps follow the residues) are appended to every example, so only the residues
    vary (and are attributed)."""

    def __init__(self, model: nn.Module, gap_rows: torch.Tensor):
        super().__init__()
        self.model = model
        self.register_buffer("gap_rows", gap_rows.detach().clone(), persistent=False)

    def forward(self, residues):
        tail = self.gap_rows.to(residues.dtype).unsqueeze(0).expand(residues.shape[0], -1, -1)
        return self.model(torch.cat([residues, tail], dim=1))
