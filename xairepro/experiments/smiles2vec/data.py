"""ESOL as SMILES2vec reads it: canonical SMILES as character ids, each character's atom, splits.

DeepChem's ``create_char_to_idx`` builds its vocabulary from a Python ``set``, whose order changes
with the interpreter's hash seed; we keep its characters and its two tokens (``<pad>``, ``<unk>``)
but sort the characters, so the ids are the same in every process. It is run on the stripped
canonical SMILES (the raw file's trailing spaces would otherwise become a character). ``SmilesToSeq``
then pads each canonical SMILES to ``max_len`` and adds ``pad_len`` pads on both sides.
"""
from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ...data.loaders import ESOL_TARGET, DataFormatError, load_moleculenet_csv

__all__ = ["SmilesData", "featurize_esol", "char_atoms", "random_split", "scaffold_split", "save", "load"]

PAD, UNK = "<pad>", "<unk>"
#: One atom of a SMILES string: a bracket atom, a two-letter halogen, or an organic-subset letter.
_ATOM = re.compile(r"\[[^\]]+\]|Br|Cl|[BCNOPSFI]|[bcnops]")


@dataclass
class SmilesData:
    smiles: list[str]            # canonical SMILES (what the characters spell)
    y: np.ndarray                # (N,) measured log S
    tokens: np.ndarray           # (N, T) character ids
    atoms: np.ndarray            # (N, T) RDKit atom index of each character, -1 for none (bonds, rings, pads)
    vocab: list[str]             # id -> character
    pad_len: int
    splits: dict = field(default_factory=dict)   # name -> {"train": [...], "val": [...], "test": [...]}

    @property
    def pad_id(self) -> int:
        return self.vocab.index(PAD)

    def dataset(self, idx) -> "torch.utils.data.TensorDataset":
        import torch

        idx = np.asarray(idx, dtype=int)
        return torch.utils.data.TensorDataset(torch.as_tensor(self.tokens[idx]),
                                              torch.as_tensor(self.y[idx], dtype=torch.float32).view(-1, 1))


def char_atoms(smiles: str) -> list[int]:
    """For each character of ``smiles``, the index of the atom it spells in
    ``Chem.MolFromSmiles(smiles)`` (RDKit numbers atoms in the order the string writes them, which
    for a canonical SMILES is the ``_smilesAtomOutputOrder`` of the molecule it was written from),
    or -1 for bonds, branches, ring digits and charges outside brackets."""
    from rdkit import Chem

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise DataFormatError(f"RDKit cannot parse SMILES {smiles!r}")
    out = [-1] * len(smiles)
    matches = list(_ATOM.finditer(smiles))
    if len(matches) != mol.GetNumAtoms():
        raise DataFormatError(f"SMILES {smiles!r}: {len(matches)} atom tokens for {mol.GetNumAtoms()} atoms")
    for k, match in enumerate(matches):
        token = match.group().strip("[]").lstrip("0123456789")
        symbol = mol.GetAtomWithIdx(k).GetSymbol()
        if not token.lower().startswith(symbol.lower()):
            raise DataFormatError(f"SMILES {smiles!r}: atom token {match.group()!r} is not atom {k} ({symbol})")
        out[match.start():match.end()] = [k] * (match.end() - match.start())
    return out


def featurize_esol(path, *, max_len: int, pad_len: int) -> SmilesData:
    """Read ESOL, canonicalize, build the sorted DeepChem vocabulary and the character ids."""
    from rdkit import Chem
    from deepchem.feat import SmilesToSeq
    from deepchem.feat.molecule_featurizers.smiles_to_seq import create_char_to_idx

    frame = load_moleculenet_csv(path, tasks=[ESOL_TARGET])
    mols, canon = [], []
    for row, smi in enumerate(frame["smiles"]):
        mol = Chem.MolFromSmiles(smi)
        if mol is None:
            raise DataFormatError(f"{path}: data row {row}: RDKit cannot parse SMILES {smi!r}")
        can = Chem.MolToSmiles(mol)
        if len(can) > max_len:
            raise DataFormatError(f"{path}: data row {row}: canonical SMILES has {len(can)} characters, more than "
                                  f"smiles2vec.data.max_len = {max_len}")
        mols.append(mol)
        canon.append(can)
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "canonical.csv"
        pd.DataFrame({"smiles": canon}).to_csv(csv, index=False)
        found = create_char_to_idx(str(csv), max_len=max_len)
    vocab = sorted(c for c in found if c not in (PAD, UNK)) + [PAD, UNK]
    featurizer = SmilesToSeq({c: i for i, c in enumerate(vocab)}, max_len=max_len, pad_len=pad_len)
    tokens = np.stack([featurizer._featurize(m) for m in mols]).astype(np.int64)
    atoms = np.full(tokens.shape, -1, dtype=np.int64)
    for i, can in enumerate(canon):
        atoms[i, pad_len:pad_len + len(can)] = char_atoms(can)
    return SmilesData(smiles=canon, y=frame[ESOL_TARGET].to_numpy(float), tokens=tokens, atoms=atoms,
                      vocab=vocab, pad_len=pad_len)


def random_split(n: int, fractions, seed: int) -> dict:
    """Seeded permutation cut into train / val / test by ``fractions``."""
    perm = np.random.default_rng(seed).permutation(n)
    n_train, n_val = int(round(fractions[0] * n)), int(round(fractions[1] * n))
    return {"train": sorted(perm[:n_train].tolist()), "val": sorted(perm[n_train:n_train + n_val].tolist()),
            "test": sorted(perm[n_train + n_val:].tolist())}


def scaffold_split(smiles: list[str], fractions) -> dict:
    """DeepChem's ScaffoldSplitter (Bemis-Murcko scaffold sets, largest first, deterministic)."""
    import deepchem as dc

    ds = dc.data.NumpyDataset(X=np.zeros((len(smiles), 1)), ids=np.array(smiles))
    train, val, test = dc.splits.ScaffoldSplitter().split(ds, *fractions)
    return {"train": sorted(int(i) for i in train), "val": sorted(int(i) for i in val),
            "test": sorted(int(i) for i in test)}


def save(data: SmilesData, arrays_path, meta_path) -> None:
    import json

    np.savez_compressed(arrays_path, tokens=data.tokens, atoms=data.atoms, y=data.y)
    Path(meta_path).write_text(json.dumps({"smiles": data.smiles, "vocab": data.vocab, "pad_len": data.pad_len,
                                           "splits": data.splits}, indent=1))


def load(arrays_path, meta_path) -> SmilesData:
    import json

    meta = json.loads(Path(meta_path).read_text())
    with np.load(arrays_path) as arr:
        return SmilesData(smiles=meta["smiles"], y=arr["y"], tokens=arr["tokens"], atoms=arr["atoms"],
                          vocab=meta["vocab"], pad_len=int(meta["pad_len"]), splits=meta["splits"])
