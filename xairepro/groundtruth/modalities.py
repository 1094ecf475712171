"""How a known-answer task trains, predicts and explains in its modality, with the experiment's own
pieces: its models (the registered archs), its ``xairepro.training`` fit path, its ``settings.py``
``explainer(...)`` (the Explainer every study of that experiment explains with) and its unit.

One :class:`Modality` per task: ``train`` (a ``TrainedModel`` and metrics), ``probabilities``
(``(N, n_classes)`` class probabilities in eval mode), ``explain`` (``{method: Explanation |
NotApplicable}`` of the explained class ``target`` of each example), ``unit_scores`` (per example the
scores of its units, read as the study reads them) and ``unit_evidence`` (the evidence over those units).
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Mapping, Sequence

import numpy as np
import torch

from ..context import RunContext
from ..evaluation.units import FeatureUnit, PixelUnit, TokenUnit
from ..training import TrainedModel, predict, train_model

__all__ = ["MODALITY_OF_TASK", "Modality", "modality"]


def _accuracy(y_true: np.ndarray, pred: np.ndarray) -> dict:
    pred = np.asarray(pred)
    hat = (pred.reshape(-1) > 0).astype(int) if pred.ndim == 1 or pred.shape[1] == 1 else pred.argmax(1)
    return {"accuracy": float((hat == np.asarray(y_true).reshape(-1)).mean())}


class Modality:
    """The common reading: multiclass logits, softmax probabilities, unit scores by ``Explanation.units``."""

    unit = None

    def train(self, task: Mapping, spec: Mapping, train: Mapping, *, ctx: RunContext, workdir) -> tuple[TrainedModel, dict]:
        raise NotImplementedError

    def inputs(self, task: Mapping, x) -> torch.Tensor:
        """What the model and the explainer take, of stored task data ``x``."""
        return torch.as_tensor(x)

    @torch.no_grad()
    def probabilities(self, model, task: Mapping, x, *, ctx: RunContext) -> np.ndarray:
        model = model.to(ctx.torch_device).eval()
        x = self.inputs(task, x)
        out = [torch.softmax(model(x[i:i + 256].to(ctx.torch_device)).float(), -1).cpu() for i in range(0, len(x), 256)]
        return torch.cat(out).numpy()

    def explainer(self, model, task: Mapping, section: Mapping, *, ctx: RunContext, methods: Sequence[str]):
        raise NotImplementedError

    def explain(self, explainer, task: Mapping, x, target: torch.Tensor):
        return explainer.explain(self.inputs(task, x), target)

    def unit_scores(self, explanation, explainer, name: str, task: Mapping, x, target) -> list[np.ndarray]:
        examples = list(self.inputs(task, x))
        return explanation.units(self.unit_for(task), examples, explainer.unit_reading(name))

    def unit_for(self, task: Mapping):
        return self.unit

    def unit_evidence(self, task: Mapping, x_row, evidence_row) -> np.ndarray:
        """The evidence of one example over its units (the positions' mask, flat)."""
        return np.asarray(evidence_row, bool).reshape(-1)


class Tables(Modality):
    """The tabular MLP (``tabular_mlp``) by the iris recipe (``train_model``, all training rows), explained
    by :func:`xairepro.experiments.iris.settings.explainer` (baseline: the training mean)."""

    def train(self, task, spec, train, *, ctx, workdir):
        x, y = torch.as_tensor(task["train_x"]).float(), torch.as_tensor(task["train_y"]).long()
        ds = torch.utils.data.TensorDataset(x, y)
        trained = train_model(dict(spec, n_in=int(x.shape[1])), ds, None, train=train, task="multiclass", ctx=ctx,
                              n_out=int(task["n_classes"]))
        acc = _accuracy(y.numpy(), predict(trained.model, ds, device=ctx.torch_device))["accuracy"]
        return trained, {"train_accuracy": acc, "n_train": int(len(y))}

    def inputs(self, task, x):
        return torch.as_tensor(x).float()

    def explainer(self, model, task, section, *, ctx, methods):
        from ..experiments.iris.settings import explainer

        data = SimpleNamespace(x=torch.as_tensor(task["train_x"]).float())
        return explainer(model, dict(section, methods=list(methods)), ctx=ctx, data=data,
                         noise_mode=section.get("noise_mode", "relative"))

    def unit_for(self, task):
        return FeatureUnit(baseline=torch.as_tensor(task["meta"]["train_mean"]).float())


class Images(Modality):
    """The CIFAR-10 ResNet by :func:`xairepro.experiments.vision.training.train_vision` (device-resident
    batches, augmentation, one-cycle SGD), explained by :func:`xairepro.experiments.vision.settings.explainer`
    (the softmax of the explained class; a pixel's score: |attribution| summed over channels)."""

    unit = PixelUnit(baseline=0.0)

    def train(self, task, spec, train, *, ctx, workdir):
        from ..experiments.vision.training import train_vision

        meta = task["meta"]
        data = {"x_train": task["train_x"], "y_train": torch.as_tensor(task["train_y"]).long(),
                "x_test": task["test_removed"], "y_test": torch.as_tensor(task["test_label"]).long(),
                "classes": list(meta["classes"]), "source": meta.get("source", "")}
        augmentation = bool(meta.get("augmentation", True))
        out = train_vision(data, spec, train, ctx=ctx, checkpoint_dir=Path(workdir), augmentation=augmentation,
                           eval_every=max(1, int(train.get("epochs", 1))))
        out["checkpoint"].unlink(missing_ok=True)
        m = out["metrics"]
        return out["trained"], {"clean_test_accuracy": m["test_accuracy"], "n_train": m["n_train"],
                                "train_seconds": m["train_seconds"]}

    def inputs(self, task, x):
        x = torch.as_tensor(x)
        return x.float().div(255.0) if x.dtype == torch.uint8 else x.float()

    def explainer(self, model, task, section, *, ctx, methods):
        from ..experiments.vision.settings import background_images, explainer

        background = background_images({"x_train": task["train_x"], "y_train": task["train_y"]},
                                        int(section.get("background", 0)))
        if background is not None:
            background = background.to(ctx.torch_device)
        return explainer(model.to(ctx.torch_device).eval(), section, ctx=ctx, methods=methods, background=background)

    def explain(self, explainer, task, x, target):
        return explainer.explain(self.inputs(task, x).to(explainer_device(explainer)), target.to(explainer_device(explainer)))


def explainer_device(explainer):
    return next(explainer.model.parameters()).device


class Text(Modality):
    """The IMDB BiGRU by :func:`xairepro.experiments.text.training.train_text` on the planted token cache,
    explained by :func:`xairepro.experiments.text.settings.explainer` (at the token embeddings, the
    softmax of the explained class; a word's score: its per-position score)."""

    def __init__(self):
        from ..experiments.text.data import UNIT

        self.unit = UNIT

    def cache(self, task):
        from ..experiments.text.data import TextCache

        n = len(task["test_label"])
        return TextCache(vocab=list(task["meta"]["vocab"]), train_ids=task["train_x"],
                         train_labels=torch.as_tensor(task["train_y"]).long(), test_ids=task["test_removed"],
                         test_labels=torch.as_tensor(task["test_label"]).long(),
                         test_review_ids=torch.arange(n), test_ratings=torch.zeros(n, dtype=torch.long),
                         max_len=int(task["meta"]["max_len"]), glove=None)

    def train(self, task, spec, train, *, ctx, workdir):
        from ..experiments.text.training import train_text

        trained, metrics = train_text(self.cache(task), spec, train, ctx=ctx, monitor_test=False)
        return trained, {"clean_test_accuracy": metrics["test_accuracy"], "n_train": metrics["n_train"],
                         "train_seconds": metrics["train_seconds"]}

    def explainer(self, model, task, section, *, ctx, methods):
        from ..experiments.text.settings import explainer

        return explainer(model.to(ctx.torch_device).eval(), section, ctx=ctx, length=int(task["meta"]["max_len"]),
                         methods=methods)

    def explain(self, explainer, task, x, target):
        return explainer.explain(torch.as_tensor(x).long(), torch.as_tensor(target).long())

    def inputs(self, task, x):
        return torch.as_tensor(x).long()

    def unit_evidence(self, task, x_row, evidence_row):
        return np.asarray(evidence_row, bool)[self.unit.positions(x_row).numpy()]


class Peptides(Modality):
    """The peptide CNN (``peptide_cnn``, one hemolytic-style logit) by the peptides recipe (``train_model``,
    binary), explained by :func:`xairepro.experiments.peptides.settings.explainer` (the logit, at the
    one-hot residue rows). The logit is class 1's score; for evidence of class 0 the unit scores of a
    ``raw`` reading are negated (the attribution of class 0's score, minus the logit: exact for every
    method linear in the explained output)."""

    def __init__(self):
        from ..experiments.peptides.settings import UNIT

        self.unit = UNIT

    def inputs(self, task, x):
        return torch.as_tensor(x).long()

    def onehot(self, x):
        from ..experiments.peptides.settings import onehot

        return onehot(torch.as_tensor(x).long())

    def train(self, task, spec, train, *, ctx, workdir):
        from ..experiments.peptides.data import ALPHABET

        x = self.onehot(task["train_x"])
        y = torch.as_tensor(task["train_y"]).float().view(-1, 1)
        ds = torch.utils.data.TensorDataset(x, y)
        spec = dict(spec, length=int(x.shape[1]), n_letters=len(ALPHABET))
        trained = train_model(spec, ds, None, train=train, task="binary", ctx=ctx, n_out=1)
        acc = _accuracy(y.numpy(), predict(trained.model, ds, device=ctx.torch_device))["accuracy"]
        return trained, {"train_accuracy": acc, "n_train": int(len(y))}

    @torch.no_grad()
    def probabilities(self, model, task, x, *, ctx):
        model = model.to(ctx.torch_device).eval()
        oh = self.onehot(x)
        p = torch.cat([torch.sigmoid(model(oh[i:i + 256].to(ctx.torch_device)).float().view(-1)).cpu()
                       for i in range(0, len(oh), 256)]).numpy()
        return np.stack([1 - p, p], 1)

    def explainer(self, model, task, section, *, ctx, methods):
        from ..experiments.peptides.settings import explainer

        background = self.onehot(task["train_x"][: int(section.get("background", 256))]).to(ctx.torch_device)
        return explainer(model.to(ctx.torch_device).eval(), section, background=background, ctx=ctx,
                         seed=lambda k: ctx.child(k).seed, methods=methods, samples="mc_samples")

    def explain(self, explainer, task, x, target):
        return explainer.explain(torch.as_tensor(x).long())

    def unit_scores(self, explanation, explainer, name, task, x, target):
        scores = super().unit_scores(explanation, explainer, name, task, x, target)
        if explainer.unit_reading(name) != "raw":
            return scores
        return [s if int(k) == 1 else -s for s, k in zip(scores, torch.as_tensor(target).view(-1))]

    def unit_evidence(self, task, x_row, evidence_row):
        return np.asarray(evidence_row, bool)[self.unit.positions(x_row).numpy()]


MODALITY_OF_TASK = {"tables": Tables, "images": Images, "text": Text, "peptides": Peptides}


def modality(task_name: str) -> Modality:
    try:
        return MODALITY_OF_TASK[task_name]()
    except KeyError:
        raise ValueError(f"unknown known-answer task {task_name!r}; known: {sorted(MODALITY_OF_TASK)}") from None
