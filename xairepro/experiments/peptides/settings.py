"""What every peptide method is built from, and the Explainer of a peptide study section.

What is explained is a peptide's residue rows ``(n, A)`` of its one-hot input, the model seeing them
followed by the peptide's own gap rows (:class:`~xairepro.models.peptide_cnn.ResidueRows`): as the
chapter restricts its Shapley swaps to the residues, the padding stays fixed for every method. A
residue's score is the sum over the letters of its row (:data:`UNIT`, a
:class:`~xairepro.evaluation.units.TokenUnit` named ``residue`` on the peptide's letter ids).

:func:`settings` (of a model on ``n`` residue rows):

* gradient methods multiply by the input (``multiply_by_inputs``, zero baseline), so the sum over a
  one-hot row is the gradient at the residue's own letter, as the chapter plots it; integrated
  gradients (zero baseline: with no residue the bias-free model gives logit 0, so the residues'
  values add up to the logit; trapezoid rule) and SmoothGrad (Gaussian noise of absolute sigma,
  ``method_options.smoothgrad.stdevs``, on the one-hot rows, clipped to [0, 1] and each row
  renormalised: :func:`simplex_projection`, the method's ``noise_projection``) alike;
* Shapley values use the chimera estimator (eq. 10.9) with the training peptides' first ``n`` rows
  as background and the residues as players (``feature_mask`` rows, additive: a row's letters share
  the residue's value), so the values add up to f(x) - E[f] over those chimeras;
* occlusion removes one residue row (the same groups), the random order is the floor.

:class:`PeptideExplainer` takes the peptides as letter ids ``(N, L)`` (what the faithfulness curves
remove residues from, through :class:`~xairepro.models.peptide_cnn.IdsToOneHot`, its ``model``) and
explains the peptides of equal residue count in one batch: they share their gap rows, so one
:class:`~xairepro.models.peptide_cnn.ResidueRows` serves them all.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping, Optional, Sequence

import torch

from ...attribution import Explanation
from ...context import RunContext
from ...evaluation.operators import bind_operators, symbol_frequencies
from ...evaluation.units import TokenUnit, Unit
from ...models.peptide_cnn import IdsToOneHot, ResidueRows
from ..examples import example_labels, study_section
from ..explainer import Explainer, Explanations, NotApplicable
from .data import ALPHABET

__all__ = ["EXAMPLE_BACKGROUND", "EXAMPLE_SECTION", "OPERATORS", "PeptideExplainer", "RESIDUE", "TASK", "UNIT",
           "example_dataset", "example_explainer", "example_inputs", "example_model_kwargs", "example_targets",
           "explainer", "onehot", "operator_units", "residue_count", "settings", "simplex_projection"]

#: The unit of every peptide reading (the faithfulness schema's ``unit``).
RESIDUE = "residue"
#: Residues of a peptide given as letter ids ``(L,)``: the non-gap positions; a removed residue is
#: the id ``len(ALPHABET)``, the all-zero row (:class:`~xairepro.models.peptide_cnn.IdsToOneHot`).
UNIT = TokenUnit(pad_id=0, replacement=len(ALPHABET), name=RESIDUE)
#: the removal operators of a residue (:mod:`xairepro.evaluation.operators`): the all-zero row, a residue
#: drawn from the training peptides' residues (in distribution), the residue deleted (the peptide
#: gets shorter: the residues after it shift left, a gap fills the end)
OPERATORS = ("baseline", "draw", "delete")


def operator_units(data, cfg: Mapping, *, seed: int = 0) -> dict[str, Unit]:
    """``{operator: residue unit}`` of ``peptides.faithfulness.operators`` (``cfg``: that section;
    default :data:`OPERATORS`), :data:`UNIT` as ``baseline``; ``draw`` draws from the letters of the
    training split's residues of ``data`` (a :class:`~.data.PeptideData`), seeded with ``seed``."""
    ids = torch.as_tensor(data.x[data.split["train"]]).argmax(-1)
    frequencies = symbol_frequencies(ids, len(ALPHABET), exclude=[UNIT.pad_id])
    return bind_operators(UNIT, list(cfg.get("operators") or OPERATORS),
                          {"frequencies": frequencies, "seed": int(seed)}, key="peptides.faithfulness.operators")


def simplex_projection(v: torch.Tensor) -> torch.Tensor:
    """The chapter's SmoothGrad projection of a noisy one-hot row: clip to [0, 1], renormalise to sum 1."""
    v = v.clamp(0, 1)
    return v / v.sum(-1, keepdim=True).clamp_min(1e-12)


def settings(model: ResidueRows, cfg: Mapping, *, background: torch.Tensor, ctx: RunContext) -> dict:
    """The settings of every method explaining ``model`` (a CNN on the residue rows of peptides of
    one residue count ``n``); ``background``: the training peptides ``(N, L, A)`` (their first ``n``
    rows are the chimeras' background). The peptide sections set no modality setting (``cfg`` is
    taken for the common signature)."""
    n = int(background.shape[1]) - int(model.gap_rows.shape[0])
    return {"baselines": 0.0, "multiply_by_inputs": True, "method": "trapezoid", "noise_mode": "absolute",
            "noise_projection": simplex_projection, "estimator": "chimera", "background": background[:, :n],
            "feature_mask": torch.arange(n, device=background.device).unsqueeze(1), "max_batch": ctx.max_batch,
            # Grad-CAM: the last convolution's map, upsampled to the padded length, read at the residues
            "cam_layer": _last_conv(model.model), "cam_size": (int(background.shape[1]),)}


def _last_conv(model) -> Optional[torch.nn.Module]:
    """The peptide CNN's last convolution (Grad-CAM's layer); ``None`` for another model (Grad-CAM then
    looks for a convolution itself, and is not applicable without one)."""
    convs = getattr(model, "convs", None)
    return convs[-1] if convs is not None and len(convs) else None


def residue_count(ids: torch.Tensor) -> torch.Tensor:
    """Residues of each peptide ``(N, L)`` of letter ids; raises where a gap precedes a residue (the
    residue rows would not be the first ``n``)."""
    present = ids != 0
    n = present.sum(1)
    first = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0) < n.unsqueeze(1)
    if not torch.equal(present, first):
        bad = torch.nonzero((present != first).any(1)).view(-1).tolist()
        raise ValueError(f"peptides {bad}: a gap precedes a residue (residues must come first)")
    return n


def _take(e: Explanation, index: torch.Tensor) -> Explanation:
    """The examples ``index`` of ``e`` (rows of its samples, outputs, targets and integrated-gradients
    path), in that order; extras stay as they were made (one entry per residue-count group)."""
    def rows(t, dim):
        return None if t is None else t.index_select(dim, index)
    path = e.path
    if path is not None:
        path = replace(path, interior_grads=rows(path.interior_grads, 1), path_scores=rows(path.path_scores, 1),
                       **{k: rows(getattr(path, k), 0) for k in ("score", "baseline_score", "attribution_sum",
                                                                 "abs_error", "rel_error")})
    target = rows(e.target, 0) if isinstance(e.target, torch.Tensor) and e.target.dim() > 0 else e.target
    return replace(e, samples=rows(e.samples, 1), output=rows(e.output, 1), target=target, path=path)


@dataclass
class PeptideExplainer(Explainer):
    """An :class:`Explainer` of peptides given as letter ids ``(N, L)``; ``model`` is the CNN on ids
    (:class:`~xairepro.models.peptide_cnn.IdsToOneHot`, what the faithfulness curves read and the
    sanity check randomises). The peptides of each residue count ``n`` are one batch: the residue
    rows of their one-hot input, explained on ``ResidueRows`` with their common gap rows; the batch
    whose first peptide is example ``i`` draws with ``seed(i)`` (an int seed: ``seed + i``), so a
    peptide alone in its batch draws as it would alone."""

    def explain(self, inputs, target=None, *, names: Optional[Sequence[str]] = None) -> Explanations:
        if target is not None:
            raise ValueError("peptides: the explained output is the hemolytic logit (target None)")
        names = self.methods if names is None else list(names)
        ids = torch.as_tensor(inputs).long().cpu()
        counts = residue_count(ids)
        cnn, letters = self.model.model, self.model.n_letters
        onehot = torch.nn.functional.one_hot(ids, letters + 1)[..., :letters].float()
        parts: dict[str, list] = {name: [] for name in names}
        seconds: dict[str, float] = {}
        order = []
        for n in dict.fromkeys(counts.tolist()):          # residue counts, in order of first appearance
            members = torch.nonzero(counts == n).view(-1)
            first = int(members[0])
            seed = self.seed(first) if callable(self.seed) else int(self.seed) + first
            gaps = onehot[first, n:].to(next(cnn.parameters()).device)
            group = replace(self, model=ResidueRows(cnn, gaps).eval(), seed=seed, chunk=None)
            got = Explainer.explain(group, onehot[members, :n], names=names)
            for name in names:
                parts[name].append(got[name])
            for name, s in got.seconds.items():
                seconds[name] = seconds.get(name, 0.0) + s
            order.append(members)
        back = torch.argsort(torch.cat(order))             # example i's row among the groups' rows
        out = Explanations(seconds=seconds)
        for name in names:
            got = parts[name]
            refused = next((g for g in got if isinstance(g, NotApplicable)), None)
            out[name] = refused if refused is not None else _take(Explanation.cat(got), back)
        return out


def example_inputs(n: int, cfg: Mapping) -> torch.Tensor:
    """``n`` random peptides as letter ids ``(n, L)`` (residues first, then gaps) for the peptides section
    ``cfg``: ``L`` is the explained model's ``length`` (its default, 200, where the section sets none;
    training sets it to the data's padded length), residue counts 5 to ``L``."""
    spec = cfg["models"][cfg["data"]["model"]]
    length = int(spec.get("length", 200))
    gen = torch.Generator().manual_seed(0)
    counts = torch.randint(5, length + 1, (int(n),), generator=gen)
    letters = torch.randint(1, len(ALPHABET), (int(n), length), generator=gen)
    return torch.where(torch.arange(length).unsqueeze(0) < counts.unsqueeze(1), letters, torch.zeros_like(letters))


def explainer(model, cfg: Mapping, *, background: torch.Tensor, ctx: RunContext, seed,
              methods: Optional[Sequence[str]] = None, samples: str = "samples") -> PeptideExplainer:
    """The :class:`PeptideExplainer` of the peptide CNN ``model`` (on one-hot input) for a section ``cfg``
    (``methods`` unless given, ``cfg[samples]``: M of the sampling methods, ``method_options``);
    ``background``: the training peptides; ``seed``: an int or ``seed(i)``, the seed of the batch whose
    first peptide is example ``i``."""
    names = list(cfg["methods"] if methods is None else methods)
    return PeptideExplainer(IdsToOneHot(model, len(ALPHABET)).eval(), names,
                            settings=lambda m: settings(m, cfg, background=background, ctx=ctx),
                            method_options=cfg.get("method_options") or {}, M=int(cfg[samples]),
                            device=background.device, seed=seed)


#: what the experiment's models are trained for (:func:`example_dataset`)
TASK = "binary"
#: the section :func:`example_section` is read from (a test's overrides go there)
EXAMPLE_SECTION = "faithfulness"
#: random peptides of the example explainer's Shapley background
EXAMPLE_BACKGROUND = 64


def onehot(ids: torch.Tensor) -> torch.Tensor:
    """Letter ids ``(N, L)`` as the data set's one-hot rows ``(N, L, A)`` (a removed residue, id ``A``: zeros)."""
    return torch.nn.functional.one_hot(ids, len(ALPHABET) + 1)[..., :len(ALPHABET)].float()


def example_section(cfg: Mapping) -> dict:
    """The section the example explainer explains with, of the resolved peptides section ``cfg``: the faithfulness
    section."""
    return study_section(cfg, EXAMPLE_SECTION)


def example_model_kwargs(cfg: Mapping) -> dict:
    """The data-dependent keywords training adds to a model spec: the padded length of the peptides
    (:func:`example_inputs`), the letters, one hemolytic logit."""
    return {"length": int(example_inputs(1, cfg).shape[1]), "n_letters": len(ALPHABET), "n_out": 1}


def example_explainer(model, cfg: Mapping, *, ctx: RunContext, methods: Sequence[str], mask_net=None) -> Explainer:
    """:func:`explainer` of ``methods`` on ``model`` with the section the faithfulness study reads of the
    resolved peptides section ``cfg`` (its ``samples``), seed 0, :data:`EXAMPLE_BACKGROUND` random peptides
    as the background (no mask network is trained: ``mask_net`` unused)."""
    background = onehot(example_inputs(EXAMPLE_BACKGROUND, cfg)).to(ctx.torch_device)
    return explainer(model, example_section(cfg), background=background, ctx=ctx, seed=0,
                     methods=methods)


def example_dataset(n: int, cfg: Mapping) -> torch.utils.data.TensorDataset:
    """``n`` labelled training examples of the resolved peptides section ``cfg`` as ``training.fit`` takes them:
    the one-hot rows of :func:`example_inputs` and random 0/1 labels."""
    return torch.utils.data.TensorDataset(onehot(example_inputs(n, cfg)), example_labels(n, TASK))


def example_targets(n: int, cfg: Mapping):
    """The explained output of each of ``n`` :func:`example_inputs`: the model's one score (``None``)."""
    return None
