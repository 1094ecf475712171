"""SMILES2vec's Table 1: the BayesGrad pyridine task read from SMILES strings (issue 29).

The graph model's Table 1 (:mod:`xairepro.experiments.tox21.pyridine`) trains one GGNN per random
``subset_size``-compound subset of the Tox21 pyridine training split (subset ``k`` drawn with
``derive_seed(seed, k)``, the model trained with ``ctx.child(k)``'s seed, class-balanced) and scores
each method's atom scores against the pyridine ring atoms of the validation molecules that contain
pyridine. Here SMILES2vec (``smiles2vec`` arch: embedding, convolution, bidirectional GRUs, with
dropout) is trained on the *same* subsets with the *same* seeds, reading each molecule as its RDKit
canonical SMILES in character ids (the smiles2vec featurization: DeepChem's ``create_char_to_idx``
vocabulary, here of Tox21's canonical SMILES, sorted, ``SmilesToSeq`` padding). Same molecules, same
truth, two representations.

* **Evidence** of a molecule: the characters that spell its pyridine ring atoms
  (:func:`xairepro.evaluation.ground_truth.pyridine_atoms` mapped to characters by
  :func:`~.data.char_atoms`: every character of a bracket atom such as ``[nH+]``; ring-closure
  digits, bonds and branches are not atoms).
* **Length**: the model reads ``max_len + 2 pad_len`` characters; a molecule whose canonical SMILES
  is longer than ``max_len`` is left out of training and of every evaluation (counted in the
  metrics), so a subset model trains on its subset's molecules that fit.
* **Reliance check** per model (:func:`reliance_table`): accuracy and the mean pyridine-class
  probability on the validation pyridine molecules as they are (``present``), on the same molecules
  with the evidence removed (``removed``: every pyridine ring nitrogen made a carbon, giving the
  benzene analogue, label negative; :func:`remove_evidence`; molecules whose analogue RDKit cannot
  kekulize, pyridones and quinolones, have none and are left out of both) and on the validation
  molecules without pyridine (``absent``). A model *relies* on the evidence (:func:`relies`) when
  removal lowers the mean pyridine probability by at least ``min_drop`` and it calls most present
  molecules pyridine.
* **Filter**: only models that rely are scored, and only on the molecules whose prediction depends
  on the evidence (:func:`depends`: called pyridine as they are, not pyridine without the ring
  nitrogen). Beside it, every model is scored on every validation pyridine molecule that fits, as the
  GGNN's Table 1 is (``molecules = all``).
* **Scores** (:func:`localisation_study`): every configured method, a user's own included, explains
  the pre-sigmoid score with the smiles2vec Explainer (:func:`~.settings.explainer`: attributions at
  the character embedding, zero baseline; read as Table 1 reads them: squared, summed over the
  embedding channels), and :func:`xairepro.evaluation.localisation.localisation_table` gives the
  PRC-AUC (Table 1's curve under the reference extraction rule), relevance mass and pointing game over
  the molecule's characters.
* **Table 1** (:func:`table1`, :func:`wilcoxon_table`): mean and sd over models per method, and
  BayesGrad's gain over every other method with the paired Wilcoxon test over models;
  :func:`beside_ggnn` puts it beside the GGNN's gathered Table 1.
"""
from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from ...context import RunContext, derive_seed
from ...data.loaders import DataFormatError
from ...data.splits import random_subset
from ...evaluation.ground_truth import REFERENCE_RULE, has_substructure, pyridine_atoms, roc_auc
from ...evaluation.localisation import LOCALISATION_COLUMNS, localisation_table
from ...evaluation.stats import paired_wilcoxon
from ...training import TrainedModel, predict, train_model
from ..explainer import NotApplicable, applicable
from .data import PAD, UNK, char_atoms
from .faithfulness import MODALITY
from .settings import CHARACTER, explainer, unit

log = logging.getLogger(__name__)

__all__ = ["CONDITIONS", "LABELS", "RELIANCE_COLUMNS", "TASK", "PyridineStrings", "beside_ggnn", "canonical",
           "depends", "evidence_characters", "featurize_pyridine", "load", "localisation_study",
           "molecule_probabilities", "reliance_check", "reliance_table", "relies", "remove_evidence", "save", "subset_positions",
           "table1", "train_pyridine", "wilcoxon_table"]

TASK = "pyridine"
#: the reliance check's conditions: evidence present, removed (benzene analogue), absent (no pyridine)
CONDITIONS = ("present", "removed", "absent")
RELIANCE_COLUMNS = ["task", "modality", "model", "replicate", "condition", "n_examples", "accuracy",
                    "evidence_class_prob", "relies"]
#: the labels before :data:`~xairepro.evaluation.localisation.LOCALISATION_COLUMNS`
LABELS = ["task", "modality", "unit", "model", "replicate"]
#: BayesGrad, the method the paper's Wilcoxon tests compare with every other
REFERENCE_METHOD = "bayesgrad"


# --------------------------------------------------------------------------- strings and evidence
def canonical(smiles: str) -> str:
    """RDKit's canonical SMILES of ``smiles`` (what SMILES2vec reads)."""
    from rdkit import Chem

    mol = Chem.MolFromSmiles(str(smiles).strip())
    if mol is None:
        raise DataFormatError(f"RDKit cannot parse SMILES {smiles!r}")
    return Chem.MolToSmiles(mol)


def evidence_characters(smiles: str) -> list[int]:
    """Positions in ``smiles`` of the characters that spell its pyridine ring atoms (every character
    of a multi-character atom such as ``[nH+]``; none of the ring-closure digits, bonds or branches);
    atoms numbered as ``Chem.MolFromSmiles(smiles)`` numbers them."""
    ring = set(pyridine_atoms(smiles))
    return [i for i, atom in enumerate(char_atoms(smiles)) if atom in ring]


def remove_evidence(smiles: str) -> str | None:
    """The canonical SMILES of ``smiles`` with every pyridine ring nitrogen made an aromatic carbon
    (neutral, no explicit hydrogen; its substituents kept): the benzene analogue, same atom count, no
    pyridine left. ``None`` when RDKit cannot sanitize the analogue (a pyridone or quinolone ring,
    whose carbon version has no aromatic Kekulé form)."""
    from rdkit import Chem

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise DataFormatError(f"RDKit cannot parse SMILES {smiles!r}")
    edit = Chem.RWMol(mol)
    for idx in pyridine_atoms(mol):
        atom = edit.GetAtomWithIdx(idx)
        if atom.GetAtomicNum() == 7:
            atom.SetAtomicNum(6)
            atom.SetFormalCharge(0)
            atom.SetNumExplicitHs(0)
            atom.SetNoImplicit(False)
    try:
        Chem.SanitizeMol(edit)
    except (Chem.rdchem.KekulizeException, Chem.rdchem.AtomValenceException, ValueError):
        return None
    out = Chem.MolToSmiles(edit)
    if has_substructure(out):  # every ring nitrogen of every match was replaced: none can be left
        raise AssertionError(f"{smiles!r}: pyridine left after removing the ring nitrogens: {out!r}")
    return out


# --------------------------------------------------------------------------- the data
@dataclass
class PyridineStrings:
    """Tox21 as SMILES2vec reads it for the pyridine task, in the order of the featurized graphs (the
    positions the Tox21 splits name).

    ``smiles``: canonical SMILES; ``tokens`` ``(N, T)`` character ids (all padding where the SMILES
    is longer than ``max_len``: ``fits`` false); ``y``: pyridine label; ``splits``: the Tox21 splits;
    ``evaluation``: positions of the validation pyridine molecules that fit; ``evidence``: their
    evidence characters; ``removed_tokens``: the ids of their benzene analogues (all padding where
    there is none or it does not fit: ``removable`` false)."""

    smiles: list[str]
    tokens: np.ndarray
    fits: np.ndarray
    y: np.ndarray
    vocab: list[str]
    pad_len: int
    max_len: int
    splits: dict
    evaluation: np.ndarray
    evidence: list[list[int]]
    removed_smiles: list
    removed_tokens: np.ndarray
    removable: np.ndarray

    @property
    def pad_id(self) -> int:
        return self.vocab.index(PAD)

    def encode(self, smiles: Sequence[str]) -> np.ndarray:
        """Character ids ``(n, max_len + 2 pad_len)`` of canonical ``smiles`` (unknown characters:
        ``<unk>``; SmilesToSeq's layout: ``pad_len`` pads, the string, pads to the end)."""
        return encode(smiles, self.vocab, self.max_len, self.pad_len)

    def dataset(self, idx) -> torch.utils.data.TensorDataset:
        idx = np.asarray(idx, dtype=int)
        return torch.utils.data.TensorDataset(torch.as_tensor(self.tokens[idx]),
                                              torch.as_tensor(self.y[idx], dtype=torch.float32).view(-1, 1))

    def validation(self) -> np.ndarray:
        """Positions of the validation molecules that fit."""
        val = np.asarray(self.splits["pyridine"]["val"], dtype=int)
        return val[self.fits[val]]


def encode(smiles: Sequence[str], vocab: Sequence[str], max_len: int, pad_len: int) -> np.ndarray:
    """DeepChem's ``SmilesToSeq`` layout without the RDKit round trip (the strings are canonical
    already); a string longer than ``max_len`` is all padding."""
    ids = {c: i for i, c in enumerate(vocab)}
    pad, unk = ids[PAD], ids[UNK]
    out = np.full((len(smiles), int(max_len) + 2 * int(pad_len)), pad, dtype=np.int64)
    for r, s in enumerate(smiles):
        if len(s) <= max_len:
            out[r, pad_len:pad_len + len(s)] = [ids.get(c, unk) for c in s]
    return out


def _vocabulary(smiles: Sequence[str], max_len: int) -> list[str]:
    """DeepChem's ``create_char_to_idx`` over ``smiles`` (characters of the strings that fit), its
    characters sorted (as :func:`~.data.featurize_esol`), then ``<pad>`` and ``<unk>``."""
    from deepchem.feat.molecule_featurizers.smiles_to_seq import create_char_to_idx

    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "canonical.csv"
        pd.DataFrame({"smiles": list(smiles)}).to_csv(csv, index=False)
        found = create_char_to_idx(str(csv), max_len=int(max_len))
    return sorted(c for c in found if c not in (PAD, UNK)) + [PAD, UNK]


def featurize_pyridine(smiles: Sequence[str], splits: Mapping, *, max_len: int, pad_len: int) -> PyridineStrings:
    """``smiles``: every Tox21 molecule in the order of the featurized graphs; ``splits``: the Tox21
    splits (``pyridine.train``, ``pyridine.val``: positions)."""
    canon = [canonical(s) for s in smiles]
    fits = np.array([len(s) <= max_len for s in canon])
    if not fits.any():
        raise DataFormatError(f"smiles2vec.pyridine.max_len = {max_len}: no canonical SMILES is that short")
    vocab = _vocabulary(canon, max_len)
    y = np.array([float(has_substructure(s)) for s in canon])
    n = len(canon)
    for part in ("train", "val"):
        pos = np.asarray(splits["pyridine"][part], dtype=int)
        if len(pos) and (pos.min() < 0 or pos.max() >= n):
            raise DataFormatError(f"Tox21 splits: pyridine.{part} names positions outside the {n} molecules")
    val = np.asarray(splits["pyridine"]["val"], dtype=int)
    evaluation = val[fits[val] & (y[val] == 1)]
    evidence = [evidence_characters(canon[i]) for i in evaluation]
    removed = [remove_evidence(canon[i]) for i in evaluation]
    removable = np.array([r is not None and len(r) <= max_len for r in removed], dtype=bool)
    removed_tokens = encode([r if ok else "" for r, ok in zip(removed, removable)], vocab, max_len, pad_len)
    removed_tokens[~removable] = vocab.index(PAD)
    return PyridineStrings(smiles=canon, tokens=encode(canon, vocab, max_len, pad_len), fits=fits, y=y, vocab=vocab,
                           pad_len=int(pad_len), max_len=int(max_len), splits=dict(splits), evaluation=evaluation,
                           evidence=evidence, removed_smiles=removed, removed_tokens=removed_tokens,
                           removable=removable)


def save(data: PyridineStrings, arrays_path, meta_path) -> None:
    import json

    np.savez_compressed(arrays_path, tokens=data.tokens, fits=data.fits, y=data.y, evaluation=data.evaluation,
                        removed_tokens=data.removed_tokens, removable=data.removable)
    Path(meta_path).write_text(json.dumps({
        "smiles": data.smiles, "vocab": data.vocab, "pad_len": data.pad_len, "max_len": data.max_len,
        "splits": data.splits, "evidence": data.evidence, "removed_smiles": data.removed_smiles,
        "n_molecules": len(data.smiles), "n_too_long": int((~data.fits).sum()),
        "n_evaluation": int(len(data.evaluation)), "n_removable": int(data.removable.sum())}, indent=1))


def load(arrays_path, meta_path) -> PyridineStrings:
    import json

    meta = json.loads(Path(meta_path).read_text())
    with np.load(arrays_path) as arr:
        return PyridineStrings(smiles=meta["smiles"], tokens=arr["tokens"], fits=arr["fits"], y=arr["y"],
                               vocab=meta["vocab"], pad_len=int(meta["pad_len"]), max_len=int(meta["max_len"]),
                               splits=meta["splits"], evaluation=arr["evaluation"], evidence=meta["evidence"],
                               removed_smiles=meta["removed_smiles"], removed_tokens=arr["removed_tokens"],
                               removable=arr["removable"])


# --------------------------------------------------------------------------- training
def subset_positions(splits: Mapping, k: int, size: int, seed: int) -> np.ndarray:
    """Positions of Table 1's subset ``k``: the ``size`` training-split molecules the GGNN of subset
    ``k`` trains on (:func:`xairepro.experiments.tox21.data.pyridine_data`: drawn with
    ``derive_seed(seed, k)``, ``seed`` the run's base seed)."""
    train = np.asarray(splits["pyridine"]["train"], dtype=int)
    return train[random_subset(len(train), int(size), derive_seed(seed, k))]


def _roc(y, p):
    return {"roc_auc": roc_auc(np.asarray(y).reshape(-1), np.asarray(p).reshape(-1))}


def train_pyridine(data: PyridineStrings, k: int, *, spec: Mapping, train: Mapping, subset_size: int,
                   ctx: RunContext, progress=None) -> tuple[TrainedModel, dict]:
    """SMILES2vec on Table 1's subset ``k`` (its molecules that fit), class-balanced as the GGNN's
    Table 1 training, with ``ctx.child(k)``'s seed (the GGNN's of subset ``k``). ``ctx``: the run's base
    context. Returns the model and its metrics (ROC-AUC on train and validation, sizes)."""
    subset = subset_positions(data.splits, k, subset_size, ctx.seed)
    fit_idx = subset[data.fits[subset]]
    val = data.validation()
    run_ctx = ctx.child(k)
    spec = dict(spec, vocab_size=len(data.vocab), pad_id=data.pad_id)
    epochs = int(train["epochs"])
    cfg = dict(train, class_balanced=True, log_every=max(1, epochs // 4))
    trained = train_model(spec, data.dataset(fit_idx), data.dataset(val), train=cfg, task="binary", ctx=run_ctx,
                          n_out=1, metric=_roc, progress=progress)
    metrics = {"subset": int(k), "seed": run_ctx.seed, "epochs": epochs, "subset_size": int(subset_size),
               "n_train": int(len(fit_idx)), "n_train_too_long": int(len(subset) - len(fit_idx)),
               "n_train_positive": int(data.y[fit_idx].sum())}
    for name, idx in (("train", fit_idx), ("val", val)):
        p = predict(trained.model, data.dataset(idx), device=run_ctx.torch_device)[:, 0]
        metrics[f"{name}_roc_auc"] = roc_auc(data.y[idx], p)
        metrics[f"n_{name}"] = int(len(idx))
    return trained, metrics


# --------------------------------------------------------------------------- reliance
def _probabilities(model, tokens: np.ndarray, device) -> np.ndarray:
    """The pyridine-class probability (sigmoid of the deterministic, dropout-off output)."""
    if len(tokens) == 0:
        return np.zeros(0)
    ds = torch.utils.data.TensorDataset(torch.as_tensor(tokens), torch.zeros(len(tokens), 1))
    return 1.0 / (1.0 + np.exp(-predict(model, ds, device=device)[:, 0]))


def molecule_probabilities(model, data: PyridineStrings, device) -> pd.DataFrame:
    """One row per evaluation molecule: its position, SMILES, ``removable``, the pyridine
    probability as it is (``p_present``) and without the evidence (``p_removed``, NaN where there is no
    analogue) and whether its prediction ``depends`` on the evidence."""
    p_present = _probabilities(model, data.tokens[data.evaluation], device)
    p_removed = np.full(len(data.evaluation), np.nan)
    p_removed[data.removable] = _probabilities(model, data.removed_tokens[data.removable], device)
    return pd.DataFrame({"molecule": data.evaluation.astype(int), "smiles": [data.smiles[i] for i in data.evaluation],
                         "removable": data.removable, "p_present": p_present, "p_removed": p_removed,
                         "depends": depends(p_present, p_removed)})


def depends(p_present, p_removed) -> np.ndarray:
    """Molecules whose prediction depends on the evidence: called pyridine as they are (p >= 0.5)
    and not without it (p < 0.5); a molecule without an analogue (NaN) does not."""
    p_present, p_removed = np.asarray(p_present, float), np.asarray(p_removed, float)
    return (p_present >= 0.5) & (p_removed < 0.5)


def reliance_table(molecules: pd.DataFrame, p_absent: np.ndarray, *, model: str, replicate: int,
                   min_drop: float) -> pd.DataFrame:
    """The reliance check of one model (:data:`RELIANCE_COLUMNS`): per condition the number of
    molecules, the accuracy (present: called pyridine; removed and absent: called not pyridine) and
    the mean pyridine probability; present and removed on the same molecules (those with an
    analogue). ``relies`` (the model's verdict, on every row): :func:`relies`."""
    both = molecules[molecules["removable"].astype(bool)]
    p = {"present": both["p_present"].to_numpy(float), "removed": both["p_removed"].to_numpy(float),
         "absent": np.asarray(p_absent, float)}
    rows = []
    for condition in CONDITIONS:
        v = p[condition]
        acc = float(np.mean(v >= 0.5 if condition == "present" else v < 0.5)) if len(v) else float("nan")
        rows.append({"task": TASK, "modality": MODALITY, "model": model, "replicate": int(replicate),
                     "condition": condition, "n_examples": int(len(v)), "accuracy": acc,
                     "evidence_class_prob": float(v.mean()) if len(v) else float("nan")})
    table = pd.DataFrame(rows)
    table["relies"] = relies(table, min_drop)
    return table[RELIANCE_COLUMNS]


def reliance_check(model, data: PyridineStrings, *, model_name: str, replicate: int, min_drop: float,
                   device) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reliance check of ``model``: (:func:`molecule_probabilities`, :func:`reliance_table`),
    ``absent`` being the validation molecules without pyridine that fit."""
    molecules = molecule_probabilities(model, data, device)
    val = data.validation()
    p_absent = _probabilities(model, data.tokens[val[data.y[val] == 0]], device)
    return molecules, reliance_table(molecules, p_absent, model=model_name, replicate=replicate, min_drop=min_drop)


def relies(table: pd.DataFrame, min_drop: float) -> bool:
    """A model relies on the evidence when removing it lowers the mean pyridine probability by at
    least ``min_drop`` (towards chance and the negative class) and it calls most present molecules
    pyridine (accuracy above 0.5)."""
    by = table.set_index("condition")
    present, removed = by.loc["present"], by.loc["removed"]
    if not (present["n_examples"] and removed["n_examples"]):
        return False
    drop = float(present["evidence_class_prob"]) - float(removed["evidence_class_prob"])
    return bool(drop >= float(min_drop) and float(present["accuracy"]) > 0.5)


# --------------------------------------------------------------------------- localisation
def character_unit_scores(results: Mapping, data: PyridineStrings, idx, readings: Mapping[str, str]) -> dict:
    """``{method: [per-character scores of each molecule]}`` of the methods that applied: each
    method's attribution read with its aggregation and summed over the embedding channels, at the
    molecule's characters in string order (:func:`~.settings.unit`)."""
    character = unit(data.pad_id)
    examples = [torch.as_tensor(data.tokens[i]) for i in idx]
    return {name: [np.asarray(u, float) for u in explanation.units(character, examples, readings[name])]
            for name, explanation in applicable(results).items()}


def localisation_study(model, data: PyridineStrings, molecules: pd.DataFrame, cfg: Mapping, *, ctx: RunContext,
                       model_name: str, replicate: int, scored: bool) -> dict:
    """Explain every evaluation molecule with every method of ``cfg`` (the section's
    :func:`~.settings.explainer`) and score the character scores against the evidence.

    ``molecules``: :func:`molecule_probabilities`. ``scored``: the model relies on the evidence.
    Returns ``depends`` (the localisation table on the molecules whose prediction depends on the
    evidence; empty when the model does not rely or none depends), ``all`` (on every evaluation
    molecule), ``skipped`` (methods that did not apply, with the reason)."""
    model = model.to(ctx.torch_device).eval()
    explain = explainer(model, cfg, ctx=ctx)
    idx = np.asarray(data.evaluation, dtype=int)
    results = explain.explain(torch.as_tensor(data.tokens[idx]))
    scores = character_unit_scores(results, data, idx, explain.readings())
    for name, per in scores.items():
        lengths = [len(s) for s in per]
        want = [len(data.smiles[i]) for i in idx]
        if lengths != want:
            raise AssertionError(f"{name}: character scores do not cover the SMILES strings")
    labels = {"task": TASK, "modality": MODALITY, "unit": CHARACTER, "model": model_name, "replicate": int(replicate)}

    def table(keep: np.ndarray) -> pd.DataFrame:
        if not keep.any() or not scores:
            return pd.DataFrame(columns=LABELS + LOCALISATION_COLUMNS)
        t = localisation_table({m: [s[r] for r in np.flatnonzero(keep)] for m, s in scores.items()},
                               [data.evidence[r] for r in np.flatnonzero(keep)], rule=REFERENCE_RULE)
        for k, v in reversed(labels.items()):
            t.insert(0, k, v)
        return t

    dep = molecules["depends"].to_numpy(bool) & bool(scored)
    skipped = pd.DataFrame([{"method": r.method, "reason": r.reason} for r in results.values()
                            if isinstance(r, NotApplicable)], columns=["method", "reason"])
    return {"depends": table(dep), "all": table(np.ones(len(idx), dtype=bool)), "skipped": skipped}


# --------------------------------------------------------------------------- Table 1
def _ordered(methods) -> list[str]:
    from ..tox21.targets import METHODS

    present = list(dict.fromkeys(methods))
    return [m for m in METHODS if m in present] + [m for m in present if m not in METHODS]


def table1(loc: pd.DataFrame, metrics: Sequence[str] = ("prc_auc", "mass", "pointing")) -> pd.DataFrame:
    """Mean and sd (``ddof=0``, as the GGNN's Table 1) over models of each method's scores, one row
    per method (``molecules`` kept as a column when ``loc`` has it)."""
    group = ["molecules"] if "molecules" in loc else []
    rows = []
    for keys, sub in (loc.groupby(group, sort=False) if group else [((), loc)]):
        keys = keys if isinstance(keys, tuple) else (keys,)
        for method in _ordered(sub["method"]):
            part = sub[sub["method"] == method]
            row = dict(zip(group, keys), method=method, n_models=int(part["replicate"].nunique()),
                       n_examples=int(part["n_examples"].sum()))
            for m in metrics:
                v = part[m].to_numpy(float)
                row[f"{m}_mean"] = float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")
                row[f"{m}_sd"] = float(np.nanstd(v)) if np.isfinite(v).any() else float("nan")
            rows.append(row)
    return pd.DataFrame(rows)


def wilcoxon_table(loc: pd.DataFrame, reference: str = REFERENCE_METHOD,
                   metrics: Sequence[str] = ("prc_auc", "mass", "pointing")) -> pd.DataFrame:
    """BayesGrad (``reference``) against every other method: the paired Wilcoxon signed-rank test
    over models (:func:`~xairepro.evaluation.stats.paired_wilcoxon`; one score per model and method)
    of each metric, per ``molecules`` set when ``loc`` has it. Fewer than two models sharing both
    methods: no row."""
    group = ["molecules"] if "molecules" in loc else []
    rows = []
    for keys, sub in (loc.groupby(group, sort=False) if group else [((), loc)]):
        keys = keys if isinstance(keys, tuple) else (keys,)
        for metric in metrics:
            wide = sub.pivot_table(index="replicate", columns="method", values=metric)
            if reference not in wide:
                continue
            for other in _ordered(wide.columns):
                if other == reference:
                    continue
                pair = wide[[reference, other]].dropna()
                if len(pair) < 2:
                    continue
                res = paired_wilcoxon(pair[reference].to_numpy(), pair[other].to_numpy())
                rows.append({**dict(zip(group, keys)), "metric": metric, "method": reference, "versus": other, **res})
    return pd.DataFrame(rows)


def beside_ggnn(s2v_table: pd.DataFrame, s2v_wilcoxon: pd.DataFrame, ggnn_table: pd.DataFrame,
                ggnn_wilcoxon: pd.DataFrame) -> pd.DataFrame:
    """Table 1 of both representations, one row per method of the GGNN's Table 1 or of this one:
    the GGNN's PRC-AUC mean, sd and models, then SMILES2vec's on the molecules whose prediction
    depends on the evidence (``smiles2vec_*``) and on every validation pyridine molecule
    (``smiles2vec_all_*``), and BayesGrad's gain over the method with the Wilcoxon p over models of
    each (``*_gain``, ``*_p``; NaN for BayesGrad itself and where too few models)."""
    def part(molecules: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        t = s2v_table[s2v_table["molecules"] == molecules].set_index("method") if len(s2v_table) else pd.DataFrame()
        w = (s2v_wilcoxon[(s2v_wilcoxon["molecules"] == molecules) & (s2v_wilcoxon["metric"] == "prc_auc")]
             .set_index("versus") if len(s2v_wilcoxon) else pd.DataFrame())
        return t, w

    g_t, g_w = ggnn_table.set_index("method"), ggnn_wilcoxon.set_index("versus")
    parts = {"smiles2vec": part("depends"), "smiles2vec_all": part("all")}
    methods = _ordered(list(g_t.index) + [m for t, _ in parts.values() for m in t.index])
    nan = float("nan")
    rows = []
    for m in methods:
        row = {"method": m, "ggnn_mean": g_t["mean"].get(m, nan), "ggnn_sd": g_t["sd"].get(m, nan),
               "ggnn_n_models": g_t["n_models"].get(m, 0),
               "ggnn_gain": g_w["mean_diff"].get(m, nan) if len(g_w) else nan,
               "ggnn_p": g_w["pvalue"].get(m, nan) if len(g_w) else nan}
        for name, (t, w) in parts.items():
            have = len(t) and m in t.index
            row[f"{name}_mean"] = float(t.loc[m, "prc_auc_mean"]) if have else nan
            row[f"{name}_sd"] = float(t.loc[m, "prc_auc_sd"]) if have else nan
            row[f"{name}_n_models"] = int(t.loc[m, "n_models"]) if have else 0
            row[f"{name}_gain"] = float(w.loc[m, "mean_diff"]) if len(w) and m in w.index else nan
            row[f"{name}_p"] = float(w.loc[m, "pvalue"]) if len(w) and m in w.index else nan
        rows.append(row)
    return pd.DataFrame(rows)
