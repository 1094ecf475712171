"""The IMDB sentiment model of the explanatory-masks paper (section 3.2).

Word embeddings (100-d, GloVe-initialisable) with 40% word-level dropout, a
bidirectional GRU of width 256, the outputs averaged over time steps, a 128-unit
ReLU layer and a final classifier.  ``model.embedding`` is the attribution target
(token-embedding gradients, as in "Gradients of counterfactuals" for text).

Word dropout zeroes whole word vectors (mask shape ``(B, T, 1)``), rescaled by
``1/(1-p)`` like ordinary dropout so eval mode needs no correction.  It is a
dropout module (``is_dropout = True``), so MC dropout samples it too.  It acts
*after* the embedding module, so a hook on ``model.embedding`` sees the
un-dropped vectors and a dropped word gets a zero gradient in that sample.

``packed=True`` runs the GRU on packed sequences: each review's length is its last
non-padding position plus one, so the backward direction starts at the review's
last word instead of running through the trailing padding first (padding in the
middle, e.g. a word removed for a faithfulness curve, still runs as a zero vector).
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from .registry import register_model

__all__ = ["WordDropout", "BiGRUClassifier"]


class WordDropout(nn.Module):
    """Drop whole time steps of a ``(B, T, C)`` tensor with probability ``p``."""

    is_dropout = True  # picked up by xairepro.attribution.mc_dropout

    def __init__(self, p: float = 0.0):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError("word dropout p must be in [0, 1)")
        self.p = float(p)

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        keep = torch.empty(x.shape[0], x.shape[1], 1, device=x.device, dtype=x.dtype)
        keep.bernoulli_(1.0 - self.p)
        return x * keep / (1.0 - self.p)

    def extra_repr(self):
        return f"p={self.p}"


@register_model("bigru")
class BiGRUClassifier(nn.Module):
    """Embedding -> word dropout -> BiGRU -> mean over tokens -> 128 ReLU -> classes.

    ``padding_idx`` tokens are excluded from the time average (a 500-token window
    of a short review is mostly padding) and embed to zero, which makes token id
    ``padding_idx`` the natural zero baseline for integrated gradients.
    ``dropout`` is an ``nn.Dropout`` on the averaged GRU output and the 128-unit
    layer.  Returns logits ``(B, n_classes)``.
    """

    def __init__(self, vocab_size: int, embed_dim: int = 100, hidden: int = 256,
                 dropout: float = 0.0, word_dropout: float = 0.4, n_classes: int = 2,
                 fc_dim: int = 128, padding_idx: Optional[int] = 0, packed: bool = False):
        super().__init__()
        if packed and padding_idx is None:
            raise ValueError("packed=True needs a padding_idx to find each sequence's length")
        self.padding_idx = padding_idx
        self.packed = bool(packed)
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
        self.word_dropout = WordDropout(word_dropout)
        self.gru = nn.GRU(embed_dim, hidden, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(2 * hidden, fc_dim)
        self.out = nn.Linear(fc_dim, n_classes)

    def load_pretrained(self, vectors: torch.Tensor, freeze: bool = False) -> None:
        """Copy pre-trained (GloVe) vectors into the embedding."""
        with torch.no_grad():
            self.embedding.weight.copy_(vectors)
        self.embedding.weight.requires_grad_(not freeze)

    def encode(self, tokens):
        """Per-token BiGRU outputs ``(B, T, 2*hidden)`` (the mask network's input)."""
        emb = self.word_dropout(self.embedding(tokens))
        if not self.packed:
            out, _ = self.gru(emb)
            return out
        return self._packed_gru(emb, self.lengths(tokens))

    def lengths(self, tokens) -> torch.Tensor:
        """Last non-padding position + 1 per sequence (at least 1), on the CPU."""
        t = tokens.shape[1]
        real = tokens != self.padding_idx
        pos = torch.arange(1, t + 1, device=tokens.device).expand_as(tokens)
        return (pos * real).amax(1).clamp_min(1).cpu()

    def _packed_gru(self, emb, lengths):
        from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

        packed = pack_padded_sequence(emb, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.gru(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=emb.shape[1])
        return out

    def forward(self, tokens):
        return self.classify(self.encode(tokens), tokens)

    def classify(self, out, tokens):
        """Logits from per-token BiGRU outputs ``out`` (:meth:`encode`) of ``tokens``: the mean over the
        non-padding positions, the 128-unit layer and the classifier (a mask network that has
        encoded the review once reads the reference prediction from the same features)."""
        if self.padding_idx is None:
            pooled = out.mean(1)
        else:
            keep = (tokens != self.padding_idx).unsqueeze(-1).to(out.dtype)
            pooled = (out * keep).sum(1) / keep.sum(1).clamp_min(1.0)
        h = torch.relu(self.fc(self.dropout(pooled)))
        return self.out(self.dropout(h))
