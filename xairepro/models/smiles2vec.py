"""SMILES2vec (Goh et al. 2017) as DeepChem's ``Smiles2Vec`` builds it, written in torch.

Character ids ``(B, T)`` -> embedding -> 1D convolution (ReLU, no padding, as Keras' default) ->
stacked bidirectional GRUs (all but the last return sequences; the last returns its final
states) -> dense output. Two ``nn.Dropout`` modules (after the convolution and before the output)
make the model usable with MC dropout (BayesGrad). ``model.embedding`` is the attribution and
mask target; the padding id embeds to zero, so integrated gradients from the zero embedding start
at an all-padding string. ``model.output`` maps standardized predictions back to log S units.
"""
from __future__ import annotations

import torch
from torch import nn

from .gnn import OutputScale
from .registry import register_model

__all__ = ["Smiles2Vec"]


@register_model("smiles2vec")
class Smiles2Vec(nn.Module):
    def __init__(self, vocab_size: int, pad_id: int, embedding_dim: int = 50, filters: int = 192,
                 kernel_size: int = 3, rnn_sizes=(224, 384), bidirectional: bool = True,
                 dropout: float = 0.1, n_out: int = 1):
        super().__init__()
        if not rnn_sizes:
            raise ValueError("smiles2vec: rnn_sizes must name at least one GRU width")
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_id)
        self.conv = nn.Conv1d(embedding_dim, filters, kernel_size)
        self.drop_conv = nn.Dropout(dropout)
        self.grus = nn.ModuleList()
        width, dirs = filters, 2 if bidirectional else 1
        for size in rnn_sizes:
            self.grus.append(nn.GRU(width, int(size), batch_first=True, bidirectional=bidirectional))
            width = dirs * int(size)
        self.drop_out = nn.Dropout(dropout)
        self.dense = nn.Linear(width, n_out)
        self.output = OutputScale(n_out)

    def forward(self, tokens):
        h = self.embedding(tokens.long())                          # (B, T, E)
        h = torch.relu(self.conv(h.transpose(1, 2))).transpose(1, 2)
        h = self.drop_conv(h)
        for gru in self.grus[:-1]:
            h, _ = gru(h)
        _, last = self.grus[-1](h)                                 # (dirs, B, H)
        h = last.transpose(0, 1).flatten(1)                        # forward and backward final states
        return self.output(self.dense(self.drop_out(h)))
