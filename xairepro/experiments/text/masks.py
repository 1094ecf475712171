"""The explanation mask network of "Explanatory masks" section 3.2 on the IMDB BiGRU.

The mask head (``bigru_mask_head``: 2-layer BiGRU, per-step dense ReLU, one linear output) reads
the frozen classifier's BiGRU outputs; the sigmoid of its output is one weight per word that
multiplies the word's embedding. The loss is the cross-entropy between the masked prediction and
the frozen classifier's own softmax prediction (the mask explains the model, not the labels) plus
``entropy`` times the entropy of the mask normalised over the review's words (weights divided by
their sum, entropy divided by log of the number of words, so 1 means uniform attention and 0 one
word), which pushes the mask onto few words. Training is :func:`xairepro.training.train_mask_net`.

cuDNN refuses backward through an RNN in eval mode, and the frozen classifier stays in eval mode;
its GRU alone is put in training mode while the mask trains. A one-layer GRU without inter-layer
dropout computes the same function in both modes, and the classifier's dropout modules (word
dropout included) stay off.
"""
from __future__ import annotations

import logging
import math
from typing import Mapping

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ...attribution import ExplanationMaskNet
from ...context import RunContext
from ...models import build_model
from ...training import train_mask_net
from .data import OOV_ID, PAD_ID, TextCache, TextInputs, decode

log = logging.getLogger(__name__)

__all__ = ["TextMaskNet", "train_text_mask", "mask_weights", "masked_evaluation", "top_words", "mask_examples",
           "normalised_entropy", "load_mask_net", "mask_study"]


class TextMaskNet(ExplanationMaskNet):
    """Mask over the token embeddings of a frozen :class:`~xairepro.models.text.BiGRUClassifier`."""

    def __init__(self, classifier: nn.Module, head: nn.Module, entropy: float = 0.1, sparsity: float = 0.0):
        gru = classifier.gru
        if gru.num_layers > 1 and gru.dropout > 0:
            raise ValueError("the frozen classifier's GRU has inter-layer dropout; its training mode "
                             "would change its output")
        super().__init__(classifier, layer=classifier.embedding, task_loss="ce", sparsity=sparsity,
                         entropy=entropy)
        self.head = head

    def train(self, mode: bool = True):
        super().train(mode)  # the classifier goes back to eval mode
        self.model.gru.train(mode)  # same function (see the module docstring); cuDNN backward needs it
        return self

    def mask_logits(self, tokens):
        with torch.no_grad():
            features = self.model.encode(tokens)
        logits = self.head(features.float())
        return logits.masked_fill((tokens == PAD_ID).unsqueeze(-1), -30.0)

    def loss(self, tokens):
        with torch.no_grad():
            reference = self.model(tokens).float()
        out, mask, _ = self(tokens)
        task = F.cross_entropy(out.float(), torch.softmax(reference, -1))
        keep = (tokens != PAD_ID).unsqueeze(-1).to(mask.dtype)
        m = (mask * keep).squeeze(-1)
        n_words = keep.sum((1, 2))
        p = m / m.sum(1, keepdim=True).clamp_min(1e-8)
        ent = -(p * torch.log(p.clamp_min(1e-12))).sum(1) / torch.log(n_words.clamp_min(2.0))
        size = m.sum(1) / n_words.clamp_min(1.0)
        total = task + self.entropy * ent.mean() + self.sparsity * size.mean()
        parts = {"task": task, "entropy": ent.mean(), "mask_mean": size.mean(), "total": total}
        return total, {k: float(v.detach()) for k, v in parts.items()}


def _loader(ids: torch.Tensor, batch_size: int, seed: int):
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(ids), batch_size=batch_size, shuffle=True,
                                       generator=torch.Generator().manual_seed(seed))


def train_text_mask(classifier: nn.Module, cache: TextCache, cfg: Mapping, *, ctx: RunContext,
                    checkpoint: str | None = None) -> tuple[TextMaskNet, dict, pd.DataFrame]:
    """Build the head from ``cfg["head"]`` (a model spec) and train it on the cached training
    reviews for ``cfg["epochs"]``. Returns the mask net, the head's (arch, kwargs) and the history."""
    spec = dict(cfg["head"])
    arch = spec.pop("arch")
    kwargs = dict(spec, in_dim=2 * classifier.gru.hidden_size)
    torch.manual_seed(ctx.seed)
    head = build_model(arch, **kwargs)
    net = TextMaskNet(classifier, head, entropy=float(cfg["entropy"]), sparsity=float(cfg.get("sparsity", 0.0)))
    history = train_mask_net(net, _loader(cache.train_ids, int(cfg["batch_size"]), ctx.seed), epochs=int(cfg["epochs"]),
                             lr=float(cfg["lr"]), device=ctx.device, seed=ctx.seed, amp=bool(cfg.get("amp", False)),
                             checkpoint=checkpoint)
    return net, {"arch": arch, "kwargs": kwargs}, pd.DataFrame(history)


@torch.no_grad()
def mask_weights(net: TextMaskNet, ids: torch.Tensor, batch: int = 128) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(weights (n, T) with 0 at padding, masked class probabilities (n, 2), unmasked ones)``."""
    net.eval()
    device = next(net.head.parameters()).device
    ws, masked, plain = [], [], []
    for i in range(0, len(ids), batch):
        x = ids[i:i + batch].to(device)
        out, mask, _ = net(x)
        ws.append(mask.squeeze(-1).float().cpu() * (x != PAD_ID).cpu())
        masked.append(torch.softmax(out.float(), -1).cpu())
        plain.append(torch.softmax(net.model(x).float(), -1).cpu())
    return torch.cat(ws), torch.cat(masked), torch.cat(plain)


def masked_evaluation(weights, masked, plain, labels: torch.Tensor) -> dict:
    keep = weights > 0
    return {"masked_accuracy": float((masked.argmax(1) == labels).float().mean()),
            "unmasked_accuracy": float((plain.argmax(1) == labels).float().mean()),
            "agreement": float((masked.argmax(1) == plain.argmax(1)).float().mean()),
            "mean_weight": float(weights[keep].mean()), "share_above_half": float((weights[keep] > 0.5).float().mean()),
            "n_test": int(len(labels))}


def top_words(weights: torch.Tensor, ids: torch.Tensor, labels: torch.Tensor, vocab, *, k: int, min_count: int
              ) -> pd.DataFrame:
    """Per sentiment (the review's label): the ``k`` words with the highest mean mask weight over
    their occurrences in reviews of that sentiment, among words seen at least ``min_count`` times
    there (padding and out-of-vocabulary left out)."""
    rows = []
    for label, name in ((1, "positive"), (0, "negative")):
        sel = labels == label
        tok, w = ids[sel].reshape(-1), weights[sel].reshape(-1)
        ok = (tok != PAD_ID) & (tok != OOV_ID)
        tok, w = tok[ok], w[ok].double()
        n = int(tok.max()) + 1 if len(tok) else 1
        sums = torch.zeros(n, dtype=torch.float64).index_add_(0, tok, w)
        counts = torch.bincount(tok, minlength=n)
        mean = torch.where(counts >= min_count, sums / counts.clamp_min(1), torch.full_like(sums, -1.0))
        order = torch.argsort(mean, descending=True, stable=True)[:k]
        rows += [{"sentiment": name, "rank": r + 1, "word": vocab[int(i)], "mean_weight": float(mean[i]),
                  "count": int(counts[i])} for r, i in enumerate(order) if mean[i] >= 0]
    return pd.DataFrame(rows)


def mask_examples(weights, masked, plain, cache: TextCache, indices) -> list[dict]:
    """Words and mask weights of chosen test reviews, for the shaded HTML in the notebook."""
    out = []
    for i in indices:
        keep = (cache.test_ids[i] != PAD_ID).numpy()
        out.append({"review": int(i), "review_id": int(cache.test_review_ids[i]), "label": int(cache.test_labels[i]),
                    "predicted": int(plain[i].argmax()), "masked_predicted": int(masked[i].argmax()),
                    "probability": float(plain[i].max()), "masked_probability": float(masked[i, plain[i].argmax()]),
                    "words": decode(cache.test_ids[i], cache.vocab),
                    "weights": weights[i].numpy()[keep].round(4).tolist()})
    return out


def normalised_entropy(weights: torch.Tensor) -> float:
    """Median normalised entropy of per-review mask weights (padding = 0), for the summary."""
    vals = []
    for w in weights:
        w = w[w > 0].double()
        if len(w) < 2:
            continue
        p = w / w.sum()
        vals.append(float(-(p * p.log()).sum() / math.log(len(w))))
    return float(np.median(vals)) if vals else float("nan")


def load_mask_net(path, model: nn.Module, device="cpu") -> TextMaskNet:
    """The mask net of a saved head (``bigru_mask_head`` checkpoint at ``path``) around the
    classifier ``model``; the registered ``explanation_mask`` method reads it (settings ``mask_net``)."""
    from ...training import load_checkpoint

    head, ckpt = load_checkpoint(path, device)
    extra = ckpt.get("extra", {})
    return TextMaskNet(model, head, entropy=extra.get("entropy", 0.0), sparsity=extra.get("sparsity", 0.0)).eval()


def mask_study(inputs: TextInputs, cfg: Mapping, *, ctx: RunContext) -> dict:
    """Train the mask on ``inputs.model`` (frozen), then on the cached test reviews: masked
    accuracy, top words per sentiment, ``cfg["n_examples"]`` seeded reviews with their weights.
    Returns ``{"net", "head", "history", "metrics", "top_words", "examples"}``."""
    cache = inputs.cache
    net, head, history = train_text_mask(inputs.model.to(ctx.torch_device), cache, cfg, ctx=ctx)
    weights, masked, plain = mask_weights(net, cache.test_ids)
    metrics = masked_evaluation(weights, masked, plain, cache.test_labels)
    metrics.update(median_normalised_entropy=normalised_entropy(weights), epochs=int(cfg["epochs"]),
                   entropy=float(cfg["entropy"]), sparsity=float(cfg.get("sparsity", 0.0)),
                   train_seconds=float(history["seconds"].sum()))
    top = top_words(weights, cache.test_ids, cache.test_labels, cache.vocab, k=int(cfg["top_k"]),
                    min_count=int(cfg["min_count"]))
    rng = np.random.default_rng(ctx.seed)
    pick = np.sort(rng.choice(len(cache.test_ids), size=min(int(cfg["n_examples"]), len(cache.test_ids)), replace=False))
    log.info("masked accuracy %.4f (unmasked %.4f)", metrics["masked_accuracy"], metrics["unmasked_accuracy"])
    return {"net": net, "head": head, "history": history, "metrics": metrics, "top_words": top,
            "examples": mask_examples(weights, masked, plain, cache, pick)}
