"""The explanation mask network of "Explanatory masks" section 3.2 on the IMDB BiGRU, in two readings,
each trained with several seeds.

The mask head (``bigru_mask_head``: 2-layer BiGRU, per-step dense ReLU, one linear output) reads
the frozen classifier's BiGRU outputs and gives one logit per word; the word's weight multiplies
its embedding. The paper says the mask "should have weights between 0 and 1", that the IMDB mask
"is regularized by penalizing its entropy" and speaks of the words that "receive the most
attention". Two readings of the logit (``text.mask.readings``):

* ``sigmoid`` (:class:`TextMaskNet`; the paper's mask definition, weights in [0, 1]): a word's
  weight is ``sigmoid(logit)``, independently of the other words;
* ``attention`` (:class:`TextAttentionMaskNet`): the weights of a review are normalised over its
  words, a softmax over the time steps (padding excluded) rescaled by the number of words, so the
  mean weight over the review's words is one (an attention distribution; no word can be dropped
  without another gaining).

Both train the same loss: the cross-entropy between the masked prediction and the frozen
classifier's own softmax prediction (the mask explains the model, not the labels), plus
``entropy`` times the entropy of the review's weights normalised to a distribution over its words
(weights divided by their sum: the attention reading's softmax itself), divided by the log of the
number of words (1 = uniform attention, 0 = one word), plus ``sparsity`` times the mean weight (the
sigmoid reading only: the attention reading's mean is one by construction). Training is
:func:`xairepro.training.train_mask_net` on the first ``n_train`` training reviews; each mask seed
``s`` trains with ``ctx.child(s)``.

:func:`mask_study` measures one (reading, seed): masked accuracy on the first ``n_test`` test
reviews, the top words per sentiment (with each word's polarity in the training reviews, so the
claim "the top words carry the class's sentiment" is a number), shaded example reviews, and the
deletion AOPC of the mask's word ranking on the reviews the attribution study explains.
:func:`~.mask_readout.mask_seed_tables` gathers the seeds: per seed, and the stability of the top-five words
(the share of seeds in which a word is among the top five; the mean pairwise Jaccard index of the
seeds' top-five sets).

cuDNN refuses backward through an RNN in eval mode, and the frozen classifier stays in eval mode;
its GRU alone is put in training mode while the mask trains. A one-layer GRU without inter-layer
dropout computes the same function in both modes, and the classifier's dropout modules (word
dropout included) stay off.
"""
from __future__ import annotations

import logging
from typing import Mapping

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ...attribution import ExplanationMaskNet, SoftmaxScore
from ...context import RunContext
from ...evaluation.faithfulness import faithfulness_study
from ...models import build_model
from ...training import train_mask_net
from .data import PAD_ID, UNIT, TextCache, TextInputs, predicted_classes, select_reviews
from .mask_readout import (POLARITY_RATIO, mask_examples, masked_evaluation, normalised_entropy, polar_shares,
                           top_words, word_polarity)

log = logging.getLogger(__name__)

__all__ = ["READINGS", "TextMaskNet", "TextAttentionMaskNet", "build_mask_net", "train_text_mask", "mask_weights",
           "load_mask_net", "mask_study", "variant_label"]

_PAD_LOGIT = -1.0e4  # softmax weight exp(-1e4) = 0 in float32: padding never shares the attention


class TextMaskNet(ExplanationMaskNet):
    """Mask over the token embeddings of a frozen :class:`~xairepro.models.text.BiGRUClassifier`, the
    ``sigmoid`` reading: a word's weight is ``sigmoid(logit)`` in [0, 1].

    ``length``: the reviews' cached length. The head is a bidirectional GRU that also reads the
    padding, so a batch trimmed after its longest review (as the attribution studies trim them for
    a packed classifier) is padded back to ``length`` before the head reads it: a word's weight does
    not depend on how the batch was cut.
    """

    reading = "sigmoid"

    def __init__(self, classifier: nn.Module, head: nn.Module, entropy: float = 0.1, sparsity: float = 0.0,
                 length: int | None = None):
        gru = classifier.gru
        if gru.num_layers > 1 and gru.dropout > 0:
            raise ValueError("the frozen classifier's GRU has inter-layer dropout; its training mode "
                             "would change its output")
        super().__init__(classifier, layer=classifier.embedding, task_loss="ce", sparsity=sparsity,
                         entropy=entropy)
        self.head = head
        self.length = None if length is None else int(length)

    def around(self, classifier: nn.Module) -> "TextMaskNet":
        """The same trained head, reading and penalty weights reading another ``classifier`` (a
        randomised copy in the model-randomisation check)."""
        return type(self)(classifier, self.head, entropy=self.entropy, sparsity=self.sparsity,
                          length=self.length).eval()

    def train(self, mode: bool = True):
        super().train(mode)  # the classifier goes back to eval mode
        self.model.gru.train(mode)  # same function (see the module docstring); cuDNN backward needs it
        return self

    # -- the head's logits ---------------------------------------------------------------------
    def _padded(self, tokens):
        if self.length is not None and tokens.shape[1] < self.length:
            return F.pad(tokens, (0, self.length - tokens.shape[1]), value=PAD_ID)
        return tokens

    def _logits(self, features, tokens):
        logits = self.head(features.float())
        return logits.masked_fill((tokens == PAD_ID).unsqueeze(-1), _PAD_LOGIT)

    def mask_logits(self, tokens):
        full = self._padded(tokens)
        with torch.no_grad():
            features = self.model.encode(full)
        return self._logits(features, full)[:, : tokens.shape[1]]

    # -- the reading -----------------------------------------------------------------------------
    def weights(self, logits, tokens):
        """``(B, T, 1)`` word weights from the head's logits (0 at padding)."""
        return torch.sigmoid(logits) * (tokens != PAD_ID).unsqueeze(-1).to(logits.dtype)

    def mask(self, tokens):
        return self.weights(self.mask_logits(tokens), tokens)

    def forward(self, tokens):
        """``(masked model output, mask, mask logits)``."""
        logits = self.mask_logits(tokens)
        mask = self.weights(logits, tokens)
        return self._masked_call(tokens, mask), mask, logits

    def loss(self, tokens):
        full = self._padded(tokens)
        with torch.no_grad():  # the classifier reads the review once: features and reference prediction
            features = self.model.encode(full)
            reference = self.model.classify(features, full).float()
        logits = self._logits(features, full)
        mask = self.weights(logits, full)
        out = self._masked_call(full, mask)
        task = F.cross_entropy(out.float(), torch.softmax(reference, -1))
        keep = (full != PAD_ID).to(mask.dtype)
        m = mask.squeeze(-1) * keep
        n_words = keep.sum(1)
        p = m / m.sum(1, keepdim=True).clamp_min(1e-8)
        ent = -(p * torch.log(p.clamp_min(1e-12))).sum(1) / torch.log(n_words.clamp_min(2.0))
        size = m.sum(1) / n_words.clamp_min(1.0)
        total = task + self.entropy * ent.mean() + self.sparsity * size.mean()
        parts = {"task": task, "entropy": ent.mean(), "mask_mean": size.mean(), "total": total}
        return total, {k: float(v.detach()) for k, v in parts.items()}


class TextAttentionMaskNet(TextMaskNet):
    """The ``attention`` reading: a review's weights are a softmax of the logits over its words
    (padding excluded) times the number of its words, so their mean over the review's words is 1.
    The entropy penalty is that of the softmax itself; a sparsity weight would penalise a constant."""

    reading = "attention"

    def __init__(self, classifier: nn.Module, head: nn.Module, entropy: float = 0.1, sparsity: float = 0.0,
                 length: int | None = None):
        if sparsity:
            raise ValueError("text.mask.readings.attention: the attention weights have mean 1 by construction; "
                             "a sparsity weight would penalise a constant (leave it out)")
        super().__init__(classifier, head, entropy=entropy, sparsity=0.0, length=length)

    def weights(self, logits, tokens):
        keep = (tokens != PAD_ID).unsqueeze(-1)
        z = logits.float().masked_fill(~keep, _PAD_LOGIT)
        p = torch.softmax(z, dim=1) * keep
        return (p * keep.sum(1, keepdim=True)).to(logits.dtype)


#: the mask network of each reading
READINGS = {"sigmoid": TextMaskNet, "attention": TextAttentionMaskNet}


def variant_label(model_name: str, reading: str) -> str:
    """The model label of a further reading's rows in the faithfulness tables (``bigru+attention_mask``):
    the same classifier explained by another mask network, so the leaderboard's ``explanation_mask``
    cell (the main model's) stays the first reading's."""
    return f"{model_name}+{reading}_mask"


def build_mask_net(reading: str, classifier: nn.Module, head: nn.Module, *, entropy: float, sparsity: float = 0.0,
                   length: int | None = None) -> TextMaskNet:
    if reading not in READINGS:
        raise ValueError(f"text.mask.readings: unknown reading {reading!r}; known: {sorted(READINGS)}")
    return READINGS[reading](classifier, head, entropy=entropy, sparsity=sparsity, length=length)


def _loader(ids: torch.Tensor, batch_size: int, seed: int):
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(ids), batch_size=batch_size, shuffle=True,
                                       generator=torch.Generator().manual_seed(seed))


def _first(n, tensor):
    return tensor if n is None else tensor[: int(n)]


def train_text_mask(classifier: nn.Module, cache: TextCache, cfg: Mapping, *, ctx: RunContext,
                    checkpoint: str | None = None) -> tuple[TextMaskNet, dict, pd.DataFrame]:
    """Build the head from ``cfg["head"]`` (a model spec) and train the mask network of
    ``cfg["reading"]`` (default ``sigmoid``) on the first ``cfg["n_train"]`` cached training reviews
    (all when null) for ``cfg["epochs"]``, seeded by ``ctx``. Returns the mask net, the head's
    ``(arch, kwargs)`` and the history."""
    spec = dict(cfg["head"])
    arch = spec.pop("arch")
    kwargs = dict(spec, in_dim=2 * classifier.gru.hidden_size)
    torch.manual_seed(ctx.seed)
    head = build_model(arch, **kwargs)
    net = build_mask_net(cfg.get("reading", "sigmoid"), classifier, head, entropy=float(cfg["entropy"]),
                         sparsity=float(cfg.get("sparsity", 0.0)), length=int(cache.max_len))
    ids = _first(cfg.get("n_train"), cache.train_ids)
    history = train_mask_net(net, _loader(ids, int(cfg["batch_size"]), ctx.seed), epochs=int(cfg["epochs"]),
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


def load_mask_net(path, model: nn.Module, device="cpu") -> TextMaskNet:
    """The mask net of a saved head (``bigru_mask_head`` checkpoint at ``path``, its reading, penalty
    weights and review length in the checkpoint's ``extra``) around the classifier ``model``; the
    registered ``explanation_mask`` method reads it (settings ``mask_net``)."""
    from ...training import load_checkpoint

    head, ckpt = load_checkpoint(path, device)
    extra = ckpt.get("extra", {})
    return build_mask_net(extra.get("reading", "sigmoid"), model, head, entropy=extra.get("entropy", 0.0),
                          sparsity=extra.get("sparsity", 0.0), length=extra.get("length")).eval()


def _mask_aopc(net: TextMaskNet, model: nn.Module, cache: TextCache, cfg: Mapping, *, ctx: RunContext) -> dict:
    """Deletion AOPC and insertion AUC of the mask's word ranking on the reviews the attribution study
    explains (the same seeded selection and predicted classes), as the faithfulness study measures."""

    idx = select_reviews(cache, cfg["n_reviews"], ctx.seed)
    ids = cache.test_ids[idx]
    classes = predicted_classes(model, ids)
    weights = mask_weights(net, ids)[0]
    reviews = list(ids)
    scores = {"explanation_mask": [UNIT.scores_at_units(r, w.numpy()) for r, w in zip(reviews, weights)]}
    per_example = faithfulness_study(SoftmaxScore(model), reviews, scores, UNIT,
                                     fractions=np.linspace(0.0, float(cfg["max_fraction"]), int(cfg["steps"]) + 1),
                                     targets=classes.tolist(), max_batch=ctx.max_batch).per_example
    return {"deletion_aopc": float(per_example["deletion_aopc"].mean()),
            "insertion_auc": float(per_example["insertion_auc"].mean()), "n_aopc_reviews": int(len(reviews))}


def mask_study(inputs: TextInputs, cfg: Mapping, *, ctx: RunContext) -> dict:
    """Train the mask of one reading and seed on ``inputs.model`` (frozen), then on the first
    ``cfg["n_test"]`` cached test reviews: masked accuracy, top words per sentiment (with their
    training-review polarity), ``cfg["n_examples"]`` seeded reviews with their weights; and the
    deletion AOPC of the mask on the attributed reviews (``cfg["aopc"]``: n_reviews, steps,
    max_fraction).

    ``cfg``: the ``text.mask`` keys with the reading's penalties (``reading``, ``entropy``,
    ``sparsity``) and ``seed`` (the mask seed index: training draws with ``ctx.child(seed)``; the
    test reviews, examples and attributed reviews are those of ``ctx`` for every seed).
    Returns ``{"net", "head", "history", "metrics", "top_words", "examples"}``.
    """
    cache = inputs.cache
    seed = int(cfg.get("seed", 0))
    model = inputs.model.to(ctx.torch_device)
    net, head, history = train_text_mask(model, cache, cfg, ctx=ctx.child(seed))
    test_ids, test_labels = _first(cfg.get("n_test"), cache.test_ids), _first(cfg.get("n_test"), cache.test_labels)
    weights, masked, plain = mask_weights(net, test_ids)
    metrics = masked_evaluation(weights, masked, plain, test_labels)
    top = top_words(weights, test_ids, test_labels, cache.vocab, k=int(cfg["top_k"]), min_count=int(cfg["min_count"]))
    polarity = word_polarity(cache.train_ids, cache.train_labels, len(cache.vocab))
    top["polarity"] = polarity[top["id"].to_numpy(int)] if len(top) else []
    metrics.update(polar_shares(top, polarity), reading=net.reading, seed=seed,
                   median_normalised_entropy=normalised_entropy(weights), epochs=int(cfg["epochs"]),
                   entropy=float(cfg["entropy"]), sparsity=float(cfg.get("sparsity", 0.0)),
                   n_train=int(min(len(cache.train_ids), cfg.get("n_train") or len(cache.train_ids))),
                   length=int(cache.max_len), polarity_ratio=POLARITY_RATIO,
                   train_seconds=float(history["seconds"].sum()))
    if cfg.get("aopc"):
        metrics.update(_mask_aopc(net, model, cache, cfg["aopc"], ctx=ctx))
    rng = np.random.default_rng(ctx.seed)
    pick = np.sort(rng.choice(len(test_ids), size=min(int(cfg["n_examples"]), len(test_ids)), replace=False))
    log.info("%s mask, seed %d: masked accuracy %.4f (unmasked %.4f)", net.reading, seed, metrics["masked_accuracy"],
             metrics["unmasked_accuracy"])
    return {"net": net, "head": head, "history": history, "metrics": metrics, "top_words": top,
            "examples": mask_examples(weights, masked, plain, cache, pick)}
