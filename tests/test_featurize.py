import logging

import numpy as np
import pytest
import torch

from xairepro.data.featurize import (BOND_TYPES, featurize_smiles, graphs_from_smiles, load_graphs,
                                     save_graphs)
from xairepro.data.splits import kfold_assignments, random_split, random_subset


def test_graph_atoms_bonds_and_types():
    g = graphs_from_smiles(["c1ccncc1CC#N"])[0]
    assert g.x.tolist() == [6, 6, 6, 7, 6, 6, 6, 6, 7]
    assert g.edge_index.shape == (2, 2 * 9)  # 9 bonds, both directions
    # aromatic ring bonds, one single, one triple
    counts = torch.bincount(g.edge_attr, minlength=4).tolist()
    assert counts == [2 * 2, 0, 2 * 1, 2 * 6]
    assert BOND_TYPES  # four bond classes
    # edges come in symmetric pairs
    pairs = set(map(tuple, g.edge_index.t().tolist()))
    assert all((j, i) in pairs for i, j in pairs)


def test_unparsable_smiles_are_counted_logged_and_skipped(caplog):
    smiles = ["CCO", "[AlH3]C(", "c1ccccc1 ", "not a smiles"]
    y = np.array([[1.0, np.nan], [0.0, 1.0], [np.nan, 0.0], [1.0, 1.0]])
    with caplog.at_level(logging.WARNING):
        res = featurize_smiles(smiles, y, ids=["a", "b", "c", "d"], source="fixture.csv")
    assert res.n_parsed == 2
    assert [f["mol_id"] for f in res.failures] == ["b", "d"]
    assert [f["row"] for f in res.failures] == [1, 3]
    assert "fixture.csv: skipped 2 of 4" in caplog.text and "b (row 1)" in caplog.text
    first, second = res.graphs
    assert first.y_mask.tolist() == [[True, False]]  # missing label is masked, not negative
    assert first.y.tolist() == [[1.0, 0.0]]
    assert second.smiles == "c1ccccc1" and second.row == 2


def test_graph_cache_roundtrip(tmp_path):
    res = featurize_smiles(["CCO", "CCN"], np.array([1.0, 2.0]))
    save_graphs(tmp_path / "g.pt", res)
    back = load_graphs(tmp_path / "g.pt")
    assert [g.smiles for g in back.graphs] == ["CCO", "CCN"]
    assert back.graphs[1].y.item() == 2.0


def test_kfold_is_seeded_balanced_and_complete():
    a, b = kfold_assignments(103, 5, seed=3), kfold_assignments(103, 5, seed=3)
    assert (a == b).all()
    assert not (a == kfold_assignments(103, 5, seed=4)).all()
    sizes = np.bincount(a)
    assert sizes.max() - sizes.min() <= 1 and sizes.sum() == 103
    with pytest.raises(ValueError):
        kfold_assignments(3, 5, 0)


def test_random_split_and_subset():
    tr, va = random_split(100, (0.8, 0.2), seed=0)
    assert len(tr) == 80 and len(va) == 20 and not set(tr) & set(va)
    sub = random_subset(50, 10, seed=1)
    assert len(set(sub)) == 10 and (sub == random_subset(50, 10, seed=1)).all()
