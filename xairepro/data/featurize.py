"""SMILES -> graph featurization (atom types and bond types as integer indices).

The papers' graph networks (chainer-chemistry NFP and GGNN) embed each atom from its atomic
number alone; attributions are then taken on that learned atom embedding. We keep the same
input so "gradient on the atom embedding" means what it meant there.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import torch
from rdkit import Chem, RDLogger
from torch_geometric.data import Data

from ..safe_io import UnsafeFileError, atomic_torch_save, safe_torch_load
from .loaders import EmptyDatasetError

#: Size of the atom-type vocabulary: index = atomic number (0 is unused).
N_ATOM_TYPES = 120
#: Bond types, as indices 0..3.
BOND_TYPES = {
    Chem.BondType.SINGLE: 0,
    Chem.BondType.DOUBLE: 1,
    Chem.BondType.TRIPLE: 2,
    Chem.BondType.AROMATIC: 3,
}
N_BOND_TYPES = len(BOND_TYPES)

log = logging.getLogger(__name__)


@dataclass
class FeaturizeResult:
    """Graphs for the parsable molecules and a record of every molecule that was skipped."""

    graphs: list[Data]
    failures: list[dict] = field(default_factory=list)

    @property
    def n_parsed(self) -> int:
        return len(self.graphs)


def parse_smiles(smiles: str) -> Chem.Mol | None:
    """RDKit molecule, or None when RDKit cannot parse it (RDKit's own stderr noise silenced)."""
    RDLogger.DisableLog("rdApp.*")
    try:
        return Chem.MolFromSmiles(smiles.strip())
    finally:
        RDLogger.EnableLog("rdApp.*")


def mol_to_graph(mol: Chem.Mol) -> Data:
    """One molecule as a PyG graph: ``x`` atomic numbers (N,), ``edge_index`` both directions,
    ``edge_attr`` bond-type indices (E,)."""
    x = torch.tensor([a.GetAtomicNum() for a in mol.GetAtoms()], dtype=torch.long)
    src, dst, bond_type = [], [], []
    for bond in mol.GetBonds():
        i, j = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        t = BOND_TYPES.get(bond.GetBondType(), 0)
        src += [i, j]
        dst += [j, i]
        bond_type += [t, t]
    edge_index = torch.tensor([src, dst], dtype=torch.long).reshape(2, -1)
    edge_attr = torch.tensor(bond_type, dtype=torch.long)
    return Data(x=x, edge_index=edge_index, edge_attr=edge_attr, num_nodes=len(x))


def featurize_smiles(
    smiles: Sequence[str],
    targets: np.ndarray | None = None,
    ids: Sequence[str] | None = None,
    source: str = "<smiles>",
) -> FeaturizeResult:
    """Featurize every SMILES; unparsable or atom-less ones are counted, logged with their id and
    row, and skipped (never silently dropped).

    ``targets``: (n,) or (n, T) float array; NaN marks a missing label (kept as NaN, and a
    ``y_mask`` says which labels are present). Each graph carries ``smiles``, ``mol_id`` and
    ``row`` (the row in the source table) so results can be traced back.
    """
    ids = list(ids) if ids is not None else [str(i) for i in range(len(smiles))]
    graphs, failures = [], []
    for row, (smi, mol_id) in enumerate(zip(smiles, ids)):
        mol = parse_smiles(smi) if isinstance(smi, str) else None
        if mol is None or mol.GetNumAtoms() == 0:
            failures.append({"row": row, "mol_id": mol_id, "smiles": smi, "reason": "RDKit could not parse"})
            continue
        g = mol_to_graph(mol)
        if targets is not None:
            y = torch.as_tensor(np.asarray(targets[row], dtype=np.float32)).reshape(1, -1)
            g.y_mask = ~torch.isnan(y)
            g.y = torch.nan_to_num(y, nan=0.0)
        g.smiles = smi.strip()
        g.mol_id = str(mol_id)
        g.row = row
        graphs.append(g)
    if failures:
        log.warning(
            "%s: skipped %d of %d SMILES that RDKit cannot parse: %s",
            source, len(failures), len(smiles),
            ", ".join(f"{f['mol_id']} (row {f['row']})" for f in failures),
        )
    if not graphs:
        raise EmptyDatasetError(f"{source}: no molecule left: RDKit could parse none of its {len(smiles)} "
                                f"SMILES rows" + (f" (first: row {failures[0]['row']}, {failures[0]['smiles']!r})"
                                                  if failures else ""))
    log.info("%s: featurized %d molecules", source, len(graphs))
    return FeaturizeResult(graphs, failures)


CACHE_FORMAT = 2  # graphs stored as plain dicts of tensors and strings (weights-only loadable)


def save_graphs(path, result: FeaturizeResult, meta: dict | None = None) -> None:
    """Write the featurized graphs as plain data (one dict of tensors, strings and numbers per graph),
    atomically, so that :func:`load_graphs` reads them without unpickling any object."""
    atomic_torch_save({"format": CACHE_FORMAT, "graphs": [g.to_dict() for g in result.graphs],
                       "failures": result.failures, "meta": meta or {}}, path)


def load_graphs(path) -> FeaturizeResult:
    """Read a cache written by :func:`save_graphs` (weights-only: anything else is refused)."""
    blob = safe_torch_load(path, "featurized cache", "delete it and rerun the featurize rule")
    if not isinstance(blob, dict) or blob.get("format") != CACHE_FORMAT:
        raise UnsafeFileError(f"{path}: not a featurized cache of format {CACHE_FORMAT}; delete it and rerun the "
                              f"featurize rule")
    return FeaturizeResult([Data.from_dict(d) for d in blob["graphs"]], blob["failures"])


def graphs_from_smiles(smiles: Iterable[str]) -> list[Data]:
    """Graphs for SMILES that must parse (e.g. molecules named in the config); raises naming the bad one."""
    out = []
    for smi in smiles:
        mol = parse_smiles(smi)
        if mol is None:
            raise ValueError(f"RDKit cannot parse SMILES {smi!r}")
        g = mol_to_graph(mol)
        g.smiles = smi
        out.append(g)
    return out
