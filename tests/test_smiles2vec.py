"""SMILES2vec on ESOL with an explanation mask: featurization, character-to-atom map, the mask
network and the top-3 check (the workflow slice: test_iris_peptides_smiles2vec_workflow.py)."""

import numpy as np
import pandas as pd
import pytest
import torch

from xairepro.context import RunContext
from xairepro.data.loaders import DataFormatError
from xairepro.experiments.smiles2vec.data import char_atoms, featurize_esol, load, random_split, save
from xairepro.experiments.smiles2vec.explain import top3_summary, top3_table
from xairepro.experiments.smiles2vec.mask import (load_mask_net, mask_weights, masked_predictions, save_mask_net,
                                                  train_smiles_mask)
from xairepro.experiments.smiles2vec.training import train_smiles2vec

TARGET = "measured log solubility in mols per litre"
SMILES = ["OCC ", "CCCCCC", "c1ccccc1Cl ", "OC(=O)CN", "Brc1ccc(Br)cc1", "CC(C)O", "C[N+](C)(C)C",
          "c1cc[nH]c1", "ClC(Cl)(Cl)Cl", "NCCO", "CCOC(C)=O", "c1ccc2ccccc2c1"]
LOGS = [0.5, -3.5, -2.4, 0.8, -5.2, 0.4, 0.9, -0.2, -2.3, 1.1, 0.2, -3.6]


def _csv(tmp_path, smiles=SMILES, logs=LOGS):
    """A delaney-processed.csv in MoleculeNet's layout (trailing spaces kept, as in the real file)."""
    path = tmp_path / "delaney-processed.csv"
    pd.DataFrame({"Compound ID": [f"m{i}" for i in range(len(smiles))], TARGET: logs, "smiles": smiles}).to_csv(
        path, index=False)
    return path


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    data = featurize_esol(_csv(tmp_path_factory.mktemp("esol")), max_len=20, pad_len=2)
    data.splits = {"random": random_split(len(data.y), (0.5, 0.25, 0.25), 0)}
    return data


def test_char_atoms_follow_rdkit_order():
    assert char_atoms("OCC(Cl)Br") == [0, 1, 2, -1, 3, 3, -1, 4, 4]
    assert char_atoms("C[N+](C)C") == [0, 1, 1, 1, 1, -1, 2, -1, 3]
    assert char_atoms("c1cc[nH]c1") == [0, -1, 1, 2, 3, 3, 3, 3, 4, -1]


def test_featurization_is_deepchems_with_a_sorted_vocabulary(small, tmp_path):
    assert " " not in small.vocab  # trailing spaces stripped
    chars = small.vocab[:-2]
    assert chars == sorted(chars) and small.vocab[-2:] == ["<pad>", "<unk>"]
    assert small.tokens.shape == (len(SMILES), 20 + 2 * 2)
    for i, smi in enumerate(small.smiles):
        ids = small.tokens[i]
        assert "".join(small.vocab[t] for t in ids if t != small.pad_id) == smi
        assert (ids[:2] == small.pad_id).all() and (small.atoms[i][:2] == -1).all()
    save(small, tmp_path / "a.npz", tmp_path / "m.json")
    again = load(tmp_path / "a.npz", tmp_path / "m.json")
    assert np.array_equal(again.tokens, small.tokens) and again.splits == small.splits


def test_bad_input_names_the_row_or_key(tmp_path):
    with pytest.raises(DataFormatError, match="row 1.*C1CC"):
        featurize_esol(_csv(tmp_path, ["CCO", "C1CC"], [0.1, 0.2]), max_len=20, pad_len=0)
    with pytest.raises(DataFormatError, match="max_len"):
        featurize_esol(_csv(tmp_path, ["CCCCCCCCCCCCO"], [0.1]), max_len=5, pad_len=0)


def test_mask_network_trains_with_the_model_frozen(small, tmp_path):
    ctx = RunContext(seed=0, device="cpu", max_batch=256)
    spec = {"arch": "smiles2vec", "embedding_dim": 8, "filters": 8, "rnn_sizes": [8], "dropout": 0.1}
    trained, metrics = train_smiles2vec(small, "random", spec, {"epochs": 2, "batch_size": 4, "lr": 0.01}, ctx=ctx)
    assert metrics["n_test"] == 3 and metrics["test_rmse"] > 0
    model = trained.model
    before = [p.detach().clone() for p in model.parameters()]
    mspec = {"hidden": 4, "n_layers": 3, "kernel_size": 3, "l1": 1e-3, "l2": 1e-4, "epochs": 2, "batch_size": 4,
             "lr": 0.01}
    net, history = train_smiles_mask(model, small, "random", mspec, ctx=ctx)
    assert len(history) == 2 and all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    w = mask_weights(net, small.tokens, "cpu")
    assert w.shape == small.tokens.shape and (w > 0).all()  # softplus: one positive weight per character
    out = masked_predictions(net, small, "random", "cpu")
    assert out["test_rmse"] == pytest.approx(metrics["test_rmse"], rel=1e-5)
    save_mask_net(tmp_path / "mask.pt", net, mspec)
    np.testing.assert_allclose(mask_weights(load_mask_net(tmp_path / "mask.pt", model), small.tokens, "cpu"), w)


def test_top3_counts_hits_on_the_right_atoms(small):
    idx = np.arange(len(SMILES))
    planted = np.zeros(small.tokens.shape)
    for r, i in enumerate(idx):  # put the score on O/N characters only (aromatic too)
        for pos, t in enumerate(small.tokens[i]):
            if small.vocab[t] in ("O", "N", "o", "n"):
                planted[r, pos] = 1.0
    scores = {"mask": planted, "integrated_gradients": -planted, "bayesgrad": planted ** 2,
              "random": np.random.default_rng(0).random(planted.shape)}
    table = top3_table(small, idx, scores, {"soluble": -1.0, "insoluble": -5.0})
    # classes: soluble log S >= -1 (7 molecules), insoluble <= -5 (1: dibromobenzene)
    assert set(table.groupby("class")["molecule"].nunique().items()) == {("soluble", 7), ("insoluble", 1)}
    mask = table[table["method"] == "mask"].set_index("molecule")
    soluble_with_on = [i for i in idx if LOGS[i] >= -1 and mask.loc[i, "has_target_atom"]]
    assert mask.loc[soluble_with_on, "hit"].all()
    assert not mask.loc[4, "hit"] or "C" in mask.loc[4, "top3_atoms"]
    summary = top3_summary(table).set_index("method")
    # integrated gradients rank by magnitude, so the negated planted scores give the same hits
    assert summary.loc["integrated_gradients", "top3_accuracy"] == summary.loc["mask", "top3_accuracy"]
