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
* **Evidence removed**: :func:`remove_evidence` makes every pyridine ring nitrogen a carbon (the
  benzene analogue, label negative); pyridones and quinolones, whose all-carbon ring RDKit cannot
  kekulize, have no analogue.

The reliance check, the localisation scores and Table 1's statistics are in :mod:`.pyridine_scores`.
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
from ...training import TrainedModel, predict, train_model
from .data import PAD, UNK, char_atoms

log = logging.getLogger(__name__)

__all__ = ["TASK", "PyridineStrings", "canonical", "encode", "evidence_characters", "featurize_pyridine", "load",
           "pyridine_probabilities", "remove_evidence", "save", "subset_positions", "train_pyridine"]

#: the task's name in every table
TASK = "pyridine"


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
    from ...evaluation.ground_truth import pyridine_atoms

    ring = set(pyridine_atoms(smiles))
    return [i for i, atom in enumerate(char_atoms(smiles)) if atom in ring]


def remove_evidence(smiles: str) -> str | None:
    """The canonical SMILES of ``smiles`` with every pyridine ring nitrogen made an aromatic carbon
    (neutral, no explicit hydrogen; its substituents kept): the benzene analogue, same atom count, no
    pyridine left. ``None`` when RDKit cannot sanitize the analogue (a pyridone or quinolone ring,
    whose carbon version has no aromatic Kekulé form)."""
    from rdkit import Chem

    from ...evaluation.ground_truth import has_substructure, pyridine_atoms

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
    from ...evaluation.ground_truth import has_substructure

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


def train_pyridine(data: PyridineStrings, k: int, *, spec: Mapping, train: Mapping, subset_size: int,
                   ctx: RunContext, progress=None) -> tuple[TrainedModel, dict]:
    """SMILES2vec on Table 1's subset ``k`` (its molecules that fit), class-balanced as the GGNN's
    Table 1 training, with ``ctx.child(k)``'s seed (the GGNN's of subset ``k``). ``ctx``: the run's base
    context. Returns the model and its metrics (ROC-AUC on train and validation, sizes)."""
    from ...evaluation.ground_truth import roc_auc

    subset = subset_positions(data.splits, k, subset_size, ctx.seed)
    fit_idx = subset[data.fits[subset]]
    val = data.validation()
    run_ctx = ctx.child(k)
    spec = dict(spec, vocab_size=len(data.vocab), pad_id=data.pad_id)
    epochs = int(train["epochs"])
    # validation ROC-AUC once, after training (the final model is the last epoch's, as the GGNN's)
    cfg = dict(train, class_balanced=True)
    trained = train_model(spec, data.dataset(fit_idx), None, train=cfg, task="binary", ctx=run_ctx, n_out=1,
                          progress=progress)
    metrics = {"subset": int(k), "seed": run_ctx.seed, "epochs": epochs, "subset_size": int(subset_size),
               "n_train": int(len(fit_idx)), "n_train_too_long": int(len(subset) - len(fit_idx)),
               "n_train_positive": int(data.y[fit_idx].sum())}
    for name, idx in (("train", fit_idx), ("val", val)):
        p = predict(trained.model, data.dataset(idx), device=run_ctx.torch_device)[:, 0]
        metrics[f"{name}_roc_auc"] = roc_auc(data.y[idx], p)
        metrics[f"n_{name}"] = int(len(idx))
    return trained, metrics


def pyridine_probabilities(model, tokens: np.ndarray, device) -> np.ndarray:
    """The pyridine-class probability (sigmoid of the deterministic, dropout-off output)."""
    if len(tokens) == 0:
        return np.zeros(0)
    ds = torch.utils.data.TensorDataset(torch.as_tensor(tokens), torch.zeros(len(tokens), 1))
    return 1.0 / (1.0 + np.exp(-predict(model, ds, device=device)[:, 0]))
