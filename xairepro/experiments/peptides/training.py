"""The chapter's training recipe and its first checks (test accuracy, QQQQQ, GGGGG and the example
peptide), for one model seed on the book's fixed split."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch

from ...context import RunContext
from ...training import TrainedModel, predict, train_model
from .data import ALPHABET, PeptideData, encode

__all__ = ["train_peptides", "probabilities"]


def _accuracy(y_true: np.ndarray, logits: np.ndarray) -> dict:
    return {"accuracy": float(((logits.reshape(-1) >= 0) == (y_true.reshape(-1) > 0.5)).mean())}


@torch.no_grad()
def probabilities(model, sequences: Sequence[str], length: int) -> dict[str, float]:
    """P(hemolytic) of each peptide (sigmoid of the logit)."""
    model.eval()
    device = next(model.parameters()).device
    x = torch.as_tensor(np.stack([encode(s, length) for s in sequences]), device=device)
    return {s: float(p) for s, p in zip(sequences, torch.sigmoid(model(x)).view(-1).cpu())}


def train_peptides(data: PeptideData, spec: Mapping, train: Mapping, probe: Sequence[str], *,
                   ctx: RunContext) -> tuple[TrainedModel, dict]:
    """Train on the training split (validation accuracy logged per epoch) with ``ctx``'s seed; the
    metrics hold the test and validation accuracy, the class balance of the test split, the probe
    probabilities, the seed, the split's seed and the torch thread count of the job."""
    spec = dict(spec, length=data.length, n_letters=len(ALPHABET))
    trained = train_model(spec, data.dataset("train"), data.dataset("val"), train=train, task="binary",
                          ctx=ctx, n_out=1, metric=_accuracy)
    metrics = {}
    for name in ("test", "val", "train"):
        ds = data.dataset(name)
        metrics[f"{name}_accuracy"] = _accuracy(data.y[data.split[name]],
                                                predict(trained.model, ds, device=ctx.torch_device))["accuracy"]
        metrics[f"n_{name}"] = int(len(ds))
    metrics["test_positive_fraction"] = float(data.y[data.split["test"]].mean())
    metrics["probabilities"] = probabilities(trained.model, probe, data.length)
    # the seed and the torch threads of the job: the same seed gives other probe probabilities with
    # another thread count (the summation order of the CPU kernels changes)
    metrics.update(seed=int(ctx.seed), split_seed=int(data.split_seed), torch_threads=int(torch.get_num_threads()))
    return trained, metrics
