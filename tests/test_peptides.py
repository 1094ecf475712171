"""Hemolytic peptides (dmol chapter 10.3-10.6): data handling, the chapter's model, the explanations.
The workflow slice is tested in test_iris_peptides_smiles2vec_workflow.py."""
import json

import numpy as np
import pandas as pd
import pytest
import torch

from xairepro.context import RunContext
from xairepro.data.loaders import HEMOLYTIC_ALPHABET
from xairepro.experiments.peptides.data import ALPHABET, encode, load_peptides
from xairepro.experiments.peptides.explain import METHODS, explain_peptide
from xairepro.experiments.peptides.reproduction import reproduction_rows
from xairepro.experiments.peptides.training import train_peptides
from xairepro.models import build_model
from xairepro.models.peptide_cnn import IdsToOneHot

L = 40
ATTR = {"ig_steps": 16, "smoothgrad_samples": 8, "smoothgrad_sigma": 1e-3, "shapley_samples": 32,
        "shapley_counts": [4, 16, 32, 64]}


def _npz(tmp_path, n=40, seed=0):
    """hemolytic.npz in the dmol-book format: (N, L, 20) zero-padded one-hot, positives K/L-rich."""
    rng = np.random.default_rng(seed)

    def peptides(letters):
        out = np.zeros((n, L, 20))
        for i in range(n):
            seq = rng.choice(list(letters), size=rng.integers(10, 30))
            out[i, np.arange(len(seq)), [HEMOLYTIC_ALPHABET.index(c) for c in seq]] = 1
        return out

    path = tmp_path / "hemolytic.npz"
    np.savez(path, positives=peptides("KLLAW"), negatives=peptides("DEGSN"))
    return path


def test_model_is_the_chapters():
    model = build_model("peptide_cnn", length=200, n_letters=21, n_out=1)
    assert [c.kernel_size[0] for c in model.convs] == [5, 3, 3]
    assert all(m.bias is None for m in model.head if isinstance(m, torch.nn.Linear))
    assert [m.out_features for m in model.head if isinstance(m, torch.nn.Linear)] == [256, 64, 1]
    assert model(torch.zeros(2, 200, 21)).abs().max() == 0  # all-zero input: logit 0, P = 0.5
    x = torch.as_tensor(np.stack([encode("QQQQQ", 200), encode("GLFD", 200)]))
    ids = x.argmax(-1)
    torch.testing.assert_close(IdsToOneHot(model)(ids), model(x))
    removed = ids.clone()
    removed[0, 0] = 21  # the "removed" id is an all-zero row
    x2 = x.clone()
    x2[0, 0] = 0
    torch.testing.assert_close(IdsToOneHot(model)(removed), model(x2))


def test_encode_rejects_bad_peptides():
    assert encode("AR", 4).argmax(-1).tolist() == [1, 2, 0, 0] and ALPHABET[0] == "-"
    with pytest.raises(ValueError, match="not amino acids"):
        encode("AXB", 10)
    with pytest.raises(ValueError, match="longer"):
        encode("A" * 11, 10)


def test_shuffled_split_partitions_and_mixes_classes(tmp_path):
    data = load_peptides(_npz(tmp_path), test_fraction=0.1, val_fraction=0.1, seed=1)
    idx = np.concatenate([data.split[k] for k in ("test", "val", "train")])
    assert sorted(idx) == list(range(80)) and len(data.split["test"]) == 8
    assert 0 < data.y[data.split["train"]].mean() < 1
    assert (data.order[:8] != np.arange(8)).any()  # shuffled, unlike the chapter's code
    assert np.allclose(data.x.sum(-1), 1.0)  # gap channel fills the padding
    again = load_peptides(_npz(tmp_path), test_fraction=0.1, val_fraction=0.1, seed=1)
    assert np.array_equal(again.x, data.x)


def test_training_and_explanations_are_seeded(tmp_path):
    data = load_peptides(_npz(tmp_path), test_fraction=0.1, val_fraction=0.1, seed=0)
    ctx = RunContext(seed=0, device="cpu", max_batch=512)
    spec = {"arch": "peptide_cnn", "filters": 4, "dense": [16, 8]}
    runs = []
    for _ in range(2):
        trained, metrics = train_peptides(data, spec, {"epochs": 2, "batch_size": 16, "lr": 0.01}, ["QQQQQ"], ctx=ctx)
        runs.append(explain_peptide(trained.model, data, "KLLKWLAK", ATTR, ctx=ctx))
    pd.testing.assert_frame_equal(runs[0][0], runs[1][0])
    bars, conv, flips, summary = runs[0]
    assert list(bars.columns) == ["position", "residue", *METHODS] and len(bars) == 8
    assert 0.0 <= metrics["test_accuracy"] <= 1.0 and set(metrics["probabilities"]) == {"QQQQQ"}
    assert summary["ig_rel_error"] < 0.05  # integrated gradients are complete
    assert list(conv["samples"]) == [4, 16, 32]  # counts beyond the samples drawn are dropped
    # every listed counterfactual flips the class, closest to the boundary first
    assert (np.sign(flips["logit_after"]) != np.sign(summary["logit"])).all()
    assert flips["distance"].is_monotonic_increasing
    rows = reproduction_rows(metrics, summary, "quick")
    assert [r["id"] for r in rows] == ["dmol.peptides.test_accuracy", "dmol.peptides.attributions",
                                       "dmol.peptides.shapley_sum", "dmol.peptides.counterfactuals"]
    assert json.loads(rows[3]["measures"]) == {"n_flips": len(flips)}
