"""Atom environments, to check "hydrophilic atoms positive, hydrophobic atoms negative" by numbers.

Each heavy atom gets one chemically meaningful class from RDKit's perception of the molecule;
the classes follow the groups the BayesGrad paper discusses for solubility (hydroxyl, amine,
ester, halogens, aromatic and aliphatic carbon).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from rdkit import Chem

HALOGENS = {9: "F", 17: "Cl", 35: "Br", 53: "I"}

#: Expected sign of the contribution to solubility (+1 hydrophilic, -1 hydrophobic, 0 no claim).
EXPECTED_SIGN = {
    "hydroxyl O": +1,
    "amine N": +1,
    "carbonyl/ester O": 0,
    "ether O": 0,
    "aromatic N": 0,
    "other N": 0,
    "aromatic C": -1,
    "aliphatic C": -1,
    "halogen": -1,
    "other": 0,
}


def atom_environment(atom: Chem.Atom) -> str:
    """One class from EXPECTED_SIGN for a heavy atom."""
    z = atom.GetAtomicNum()
    if z in HALOGENS:
        return "halogen"
    if z == 6:
        return "aromatic C" if atom.GetIsAromatic() else "aliphatic C"
    if z == 8:
        if atom.GetTotalNumHs() >= 1:
            return "hydroxyl O"
        if any(b.GetBondType() == Chem.BondType.DOUBLE for b in atom.GetBonds()):
            return "carbonyl/ester O"
        if atom.GetDegree() == 2 and not atom.GetIsAromatic():
            neighbours_carbonyl = any(
                nb.GetAtomicNum() == 6 and any(
                    b.GetBondType() == Chem.BondType.DOUBLE and b.GetOtherAtom(nb).GetAtomicNum() == 8
                    for b in nb.GetBonds())
                for nb in atom.GetNeighbors())
            return "carbonyl/ester O" if neighbours_carbonyl else "ether O"
        return "other"
    if z == 7:
        if atom.GetIsAromatic():
            return "aromatic N"
        is_amide = any(
            nb.GetAtomicNum() == 6 and any(
                b.GetBondType() == Chem.BondType.DOUBLE and b.GetOtherAtom(nb).GetAtomicNum() in (8, 16)
                for b in nb.GetBonds())
            for nb in atom.GetNeighbors())
        if atom.GetTotalNumHs() >= 1 and not is_amide and atom.GetFormalCharge() == 0:
            return "amine N"
        return "other N"
    return "other"


def atom_environments(smiles: str) -> list[str]:
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"RDKit cannot parse SMILES {smiles!r}")
    return [atom_environment(a) for a in mol.GetAtoms()]


def environment_table(atoms: pd.DataFrame, score_cols: list[str]) -> pd.DataFrame:
    """Mean, standard error and count of each score column per environment, with the expected
    sign and whether the mean has it.

    ``atoms`` has one row per atom with an ``environment`` column and the score columns.
    """
    rows = []
    for env, grp in atoms.groupby("environment", sort=False):
        for col in score_cols:
            vals = grp[col].to_numpy(dtype=float)
            mean = float(np.mean(vals))
            sem = float(np.std(vals, ddof=1) / np.sqrt(len(vals))) if len(vals) > 1 else float("nan")
            expected = EXPECTED_SIGN.get(env, 0)
            rows.append({
                "environment": env, "method": col, "n_atoms": len(vals), "mean": mean, "sem": sem,
                "fraction_positive": float(np.mean(vals > 0)),
                "expected_sign": {1: "+", -1: "-", 0: ""}[expected],
                "sign_as_expected": (None if expected == 0 else bool(np.sign(mean) == expected)),
            })
    order = {e: i for i, e in enumerate(EXPECTED_SIGN)}
    table = pd.DataFrame(rows)
    return table.sort_values(["method", "environment"], key=lambda s: s.map(order) if s.name == "environment" else s).reset_index(drop=True)
