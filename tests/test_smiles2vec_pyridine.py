"""SMILES2vec's Table 1 (issue 29): the pyridine evidence as characters, its removal, the reliance
verdict, the localisation table of every registered method, the subsets of the GGNN's Table 1, and
the Table 1 statistics. Toy models whose answers are worked out by hand."""
import json
import types

import numpy as np
import pandas as pd
import pytest
import torch
from rdkit import Chem
from scipy.stats import wilcoxon
from torch import nn

from xairepro.attribution import GradientAttribution, register_method
from xairepro.attribution import registry
from xairepro.attribution.core import Result
from xairepro.context import RunContext
from xairepro.evaluation.ground_truth import REFERENCE_RULE, has_substructure, substructure_prc_auc
from xairepro.experiments.smiles2vec import pyridine as P
from xairepro.experiments.smiles2vec import pyridine_scores as S
from xairepro.experiments.tox21.data import pyridine_data


# ----------------------------------------------------------------------------- evidence characters
@pytest.mark.parametrize("smiles, expected", [
    # c1ccncc1: every atom character; the ring digits (1, 7) are not atoms
    ("c1ccncc1", [0, 2, 3, 4, 5, 6]),
    # the bracket atom [nH+] is four characters after the ring atoms c1, c3..c6; the methyl C0 is not
    ("Cc1cccc[nH+]1", [1, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
    # Cl (two characters) is not in the ring
    ("Clc1ccncc1", [2, 4, 5, 6, 7, 8]),
    # 2-phenylpyridine: only the pyridine ring (c0 c2 c3 c4, n16, c17), not the phenyl ring
    ("c1ccc(-c2ccccc2)nc1", [0, 2, 3, 4, 16, 17]),
    # quinoline: the fused atoms c4 and c10 belong to the pyridine ring; the benzo ring's c0 c2 c3 c12 do not
    ("c1ccc2ncccc2c1", [4, 6, 7, 8, 9, 10]),
    # pyridine N-oxide: the charged ring nitrogen [n+] (characters 4-7), not the oxygen [O-] (0-3)
    ("[O-][n+]1ccccc1", [4, 5, 6, 7, 9, 10, 11, 12, 13]),
    ("c1ccccc1", []),
])
def test_evidence_characters_by_hand(smiles, expected):
    assert P.evidence_characters(smiles) == expected
    # every evidence character spells a ring atom; the n of the ring is among them
    ring = "".join(smiles[i] for i in expected)
    assert ("n" in ring) == bool(expected)


def test_canonical_is_what_rdkit_writes():
    assert P.canonical("n1ccccc1C") == Chem.MolToSmiles(Chem.MolFromSmiles("Cc1ccccn1")) == "Cc1ccccn1"
    with pytest.raises(ValueError, match="cannot parse"):
        P.canonical("c1cc(")


# ----------------------------------------------------------------------------- removing the evidence
@pytest.mark.parametrize("smiles, benzene", [
    ("c1ccncc1", "c1ccccc1"),
    ("Cc1cccc[nH+]1", "Cc1ccccc1"),          # pyridinium: the H and the charge go with the nitrogen
    ("C[n+]1ccccc1", "Cc1ccccc1"),            # N-methylpyridinium -> toluene
    ("[O-][n+]1ccccc1", "[O-]c1ccccc1"),      # N-oxide -> phenolate
    ("c1ccc2ncccc2c1", "c1ccc2ccccc2c1"),     # quinoline -> naphthalene
    ("c1ccc(-c2ccccn2)nc1", "c1ccc(-c2ccccc2)cc1"),   # 2,2'-bipyridine -> biphenyl: both rings
])
def test_removing_the_evidence_makes_the_benzene_analogue(smiles, benzene):
    out = P.remove_evidence(smiles)
    assert out == Chem.MolToSmiles(Chem.MolFromSmiles(benzene))
    assert has_substructure(smiles) and not has_substructure(out)
    assert Chem.MolFromSmiles(out).GetNumAtoms() == Chem.MolFromSmiles(smiles).GetNumAtoms()


def test_a_pyridone_has_no_benzene_analogue():
    # 2-pyridone matches the pyridine SMARTS, but its all-carbon ring has no aromatic Kekule form
    assert has_substructure("O=c1cccc[nH]1")
    assert P.remove_evidence("O=c1cccc[nH]1") is None


# ----------------------------------------------------------------------------- toy data and models
PYRIDINES = ["c1ccncc1", "Cc1ccccn1", "Clc1ccncc1", "O=c1cccc[nH]1"]   # the pyridone has no analogue
OTHERS = ["CCO", "c1ccccc1", "CC(=O)O", "CCCC"]


def toy_data(max_len=20, pad_len=2):
    smiles = PYRIDINES + OTHERS + ["Cc1ccccc1", "c1ccncc1C"]
    n = len(smiles)
    splits = {"pyridine": {"train": [n - 2, n - 1], "val": list(range(n - 2))}}
    return P.featurize_pyridine(smiles, splits, max_len=max_len, pad_len=pad_len)


class CountsN(nn.Module):
    """logit = 10 * (number of 'n' characters) - 5: uses the evidence (every pyridine here has one n)."""

    def __init__(self, vocab, uses_evidence=True):
        super().__init__()
        self.embedding = nn.Embedding(len(vocab), 1)
        with torch.no_grad():
            self.embedding.weight.zero_()
            if uses_evidence:
                self.embedding.weight[vocab.index("n")] = 1.0
        self.bias = -5.0 if uses_evidence else 5.0

    def forward(self, tokens):
        return 10.0 * self.embedding(tokens.long()).sum(dim=(1, 2)).view(-1, 1) + self.bias


def test_featurized_toy_data_by_hand():
    data = toy_data()
    assert data.smiles[1] == "Cc1ccccn1"
    assert list(data.evaluation) == [0, 1, 2, 3]
    assert list(data.removable) == [True, True, True, False]
    assert data.evidence[1] == [1, 3, 4, 5, 6, 7]
    row = data.tokens[1]
    assert "".join(data.vocab[t] for t in row[2:2 + len("Cc1ccccn1")]) == "Cc1ccccn1"
    assert (row[:2] == data.pad_id).all() and (row[2 + len("Cc1ccccn1"):] == data.pad_id).all()
    removed = data.removed_tokens[1]
    assert "".join(data.vocab[t] for t in removed if t != data.pad_id) == "Cc1ccccc1"
    assert (data.removed_tokens[3] == data.pad_id).all()
    # a SMILES longer than max_len is left out of the evaluation (and reads as all padding)
    short = toy_data(max_len=9)
    assert list(short.evaluation) == [0, 1] and not short.fits[2] and (short.tokens[2] == short.pad_id).all()


def test_reliance_verdict_of_a_model_that_uses_the_evidence_and_one_that_ignores_it():
    data = toy_data()
    user, ignorer = CountsN(data.vocab, True), CountsN(data.vocab, False)
    mol, table = S.reliance_check(user, data, model_name="toy", replicate=3, min_drop=0.2, device="cpu")
    p_hi, p_lo = 1 / (1 + np.exp(-5.0)), 1 / (1 + np.exp(5.0))
    by = table.set_index("condition")
    assert list(table.columns) == S.RELIANCE_COLUMNS and set(table["replicate"]) == {3}
    assert by.loc["present", "n_examples"] == 3 and by.loc["removed", "n_examples"] == 3  # not the pyridone
    assert by.loc["absent", "n_examples"] == 4
    assert by.loc["present", "accuracy"] == 1.0 and by.loc["removed", "accuracy"] == 1.0
    assert by.loc["present", "evidence_class_prob"] == pytest.approx(p_hi)
    assert by.loc["removed", "evidence_class_prob"] == pytest.approx(p_lo)
    assert table["relies"].all()
    assert list(mol["depends"]) == [True, True, True, False]   # the pyridone cannot be tested

    mol, table = S.reliance_check(ignorer, data, model_name="toy", replicate=3, min_drop=0.2, device="cpu")
    by = table.set_index("condition")
    assert by.loc["removed", "accuracy"] == 0.0 and by.loc["absent", "accuracy"] == 0.0
    assert by.loc["present", "evidence_class_prob"] == pytest.approx(by.loc["removed", "evidence_class_prob"])
    assert not table["relies"].any() and not mol["depends"].any()


def test_relies_needs_the_drop_and_a_present_accuracy_above_one_half():
    def t(present_prob, removed_prob, present_acc):
        return pd.DataFrame({"condition": ["present", "removed", "absent"], "n_examples": [5, 5, 5],
                             "accuracy": [present_acc, 0.5, 0.5],
                             "evidence_class_prob": [present_prob, removed_prob, 0.1]})

    assert S.relies(t(0.8, 0.55, 0.8), 0.2)
    assert not S.relies(t(0.8, 0.65, 0.8), 0.2)       # a drop of 0.15 < 0.2
    assert not S.relies(t(0.45, 0.1, 0.4), 0.2)       # calls most pyridines not pyridine


# ----------------------------------------------------------------------------- a user's own method
@pytest.fixture
def private_registry(monkeypatch):
    monkeypatch.setattr(registry, "_METHODS", dict(registry._METHODS))



def test_model_table_joins_metrics_verdicts_and_the_filter_count():
    metrics = [{"subset": 0, "val_auc": 0.9}, {"subset": 1, "val_auc": 0.6}, {"subset": 2, "val_auc": 0.8}]
    reliance = pd.DataFrame({"replicate": [0, 0, 1, 1, 2, 2], "condition": ["present", "removed"] * 3,
                             "relies": [True, True, False, False, True, True]})
    depends = pd.DataFrame({"replicate": [0, 0, 2], "method": ["bayesgrad", "vanilla_grad", "bayesgrad"],
                            "n_examples": [7, 7, 3]})
    models = S.model_table(metrics, reliance, depends)
    assert models["subset"].tolist() == [0, 1, 2] and models["val_auc"].tolist() == [0.9, 0.6, 0.8]
    assert models["relies"].tolist() == [True, False, True]
    assert models["n_scored"].tolist() == [7, 0, 3]            # model 1 does not rely: nothing scored
    assert S.model_table(metrics, reliance, depends.iloc[:0])["n_scored"].tolist() == [0, 0, 0]

def test_a_registered_toy_method_is_scored_in_the_localisation_table(private_registry):
    @register_method("toy_embedding_times_grad")
    class Toy(GradientAttribution):
        """(embedding - 0) * gradient: for CountsN, 10 on the n character, 0 elsewhere."""

        def __init__(self, model, layer=None, **kwargs):
            kwargs.pop("multiply_by_inputs", None)
            super().__init__(model, layer, multiply_by_inputs=True, **kwargs)

        def _attribute(self, model, call, inputs, M, seed):
            run = self._passes(model, call, inputs, 1, None, seed)
            return Result(self._finish(call, run), run.scores)

    data = toy_data()
    model = CountsN(data.vocab, True)
    mol, table = S.reliance_check(model, data, model_name="toy", replicate=0, min_drop=0.2, device="cpu")
    cfg = {"methods": ["vanilla_grad", "toy_embedding_times_grad"], "mc_samples": 1, "aggregation": "square"}
    out = S.localisation_study(model, data, mol, cfg, ctx=RunContext(seed=0, device="cpu"), model_name="toy",
                               replicate=0, scored=True)
    dep = out["depends"].set_index("method")
    assert list(out["depends"].columns) == S.LABELS + ["method", "n_examples", "prc_auc", "mass", "pointing"]
    assert set(dep.index) == {"vanilla_grad", "toy_embedding_times_grad"}
    assert (dep["n_examples"] == 3).all() and (out["all"]["n_examples"] == 4).all()
    # the toy method puts all its mass on the ring's n: mass 1, the top character is evidence
    assert dep.loc["toy_embedding_times_grad", "mass"] == 1.0
    assert dep.loc["toy_embedding_times_grad", "pointing"] == 1.0
    # vanilla_grad: the squared gradient is 100 at every character (ties), so the mass is the share of
    # evidence characters, and the top character is the first one
    strings = [data.smiles[i] for i in data.evaluation[:3]]
    shares = [len(P.evidence_characters(s)) / len(s) for s in strings]
    assert dep.loc["vanilla_grad", "mass"] == pytest.approx(np.mean(shares))
    assert dep.loc["vanilla_grad", "pointing"] == pytest.approx(np.mean([0 in P.evidence_characters(s)
                                                                         for s in strings]))
    # Table 1's curve (reference extraction rule) of the scores worked out by hand
    by_hand = [np.array([100.0 if c == "n" else 0.0 for c in s]) for s in strings]
    expected = substructure_prc_auc(by_hand, [P.evidence_characters(s) for s in strings], rule=REFERENCE_RULE)
    assert dep.loc["toy_embedding_times_grad", "prc_auc"] == pytest.approx(expected["prc_auc"])
    flat = substructure_prc_auc([np.full(len(s), 100.0) for s in strings], [P.evidence_characters(s) for s in strings],
                                rule=REFERENCE_RULE)
    assert dep.loc["vanilla_grad", "prc_auc"] == pytest.approx(flat["prc_auc"])
    # a model that does not rely is not scored on the depends filter, only on every molecule
    out = S.localisation_study(model, data, mol, cfg, ctx=RunContext(seed=0, device="cpu"), model_name="toy",
                               replicate=0, scored=False)
    assert out["depends"].empty and len(out["all"]) == 2


def test_sampled_methods_give_the_same_scores_on_rerun_and_other_scores_under_another_seed():
    from xairepro.models.smiles2vec import Smiles2Vec

    data = toy_data()
    torch.manual_seed(0)
    model = Smiles2Vec(len(data.vocab), data.pad_id, embedding_dim=4, filters=4, rnn_sizes=[4], dropout=0.5)
    mol = pd.DataFrame({"depends": [True, True, True, False]})
    cfg = {"methods": ["bayesgrad", "smoothgrad"], "mc_samples": 3, "aggregation": "square",
           "method_options": {"smoothgrad": {"stdevs": 0.5}}}

    def run(seed):
        return S.localisation_study(model, data, mol, cfg, ctx=RunContext(seed=seed, device="cpu"), model_name="s2v",
                                    replicate=0, scored=True)["all"]

    first, again, other = run(0), run(0), run(1)
    pd.testing.assert_frame_equal(first, again)
    assert not np.allclose(first["mass"], other["mass"])


def test_ranking_bounds_over_characters_and_atoms():
    # pyridine alone: all six atoms are evidence, so every atom ranking scores the same
    data = P.featurize_pyridine(["c1ccncc1", "CCO"], {"pyridine": {"train": [1], "val": [0]}}, max_len=20, pad_len=2)
    b = S.ranking_bounds(data, seed=0).set_index("unit")
    assert list(b["n_molecules"]) == [1, 1] and list(b["mean_units"]) == [8.0, 6.0]
    assert b.loc["atom", "perfect"] == b.loc["atom", "reversed"] == pytest.approx(b.loc["atom", "random"])
    # 2-phenylpyridine (12 atoms, 19 characters, 6 of each are evidence): perfect > random > reversed
    smiles = "c1ccc(-c2ccccc2)nc1"
    data = P.featurize_pyridine([smiles, "CCO"], {"pyridine": {"train": [1], "val": [0]}}, max_len=30, pad_len=2)
    b = S.ranking_bounds(data, seed=0).set_index("unit")
    for unit in ("character", "atom"):
        assert b.loc[unit, "perfect"] > b.loc[unit, "random"] > b.loc[unit, "reversed"], unit
    evidence = P.evidence_characters(data.smiles[0])
    by_hand = np.isin(np.arange(len(data.smiles[0])), evidence).astype(float)
    assert b.loc["character", "perfect"] == pytest.approx(
        substructure_prc_auc([by_hand], [evidence], rule=REFERENCE_RULE)["prc_auc"])


# ----------------------------------------------------------------------------- Table 1's subsets
def test_subset_k_is_the_ggnn_table1_subset_k():
    smiles = [f"C{'C' * i}O" for i in range(40)]
    graphs = [types.SimpleNamespace(smiles=s) for s in smiles]
    splits = {"pyridine": {"train": list(range(0, 40, 2)) + list(range(1, 20, 2)), "val": list(range(21, 40, 2))}}
    for k in (0, 1, 7):
        train, _ = pyridine_data(graphs, splits, subset=k, size=12, seed=3)
        mine = P.subset_positions(splits, k, 12, 3)
        assert [smiles[i] for i in mine] == [g.smiles for g in train]
    assert list(P.subset_positions(splits, 0, 12, 3)) != list(P.subset_positions(splits, 1, 12, 3))


# ----------------------------------------------------------------------------- Table 1's statistics
def _loc(values: dict) -> pd.DataFrame:
    rows = [{"replicate": r, "method": m, "n_examples": 10, "prc_auc": v, "mass": v / 2, "pointing": 1.0}
            for m, vs in values.items() for r, v in enumerate(vs)]
    return pd.DataFrame(rows)


def test_table1_and_wilcoxon_over_models():
    bayes = [0.50, 0.55, 0.52, 0.60, 0.58, 0.51]
    vanilla = [0.45, 0.50, 0.53, 0.52, 0.50, 0.47]
    loc = _loc({"vanilla_grad": vanilla, "bayesgrad": bayes})
    t = S.table1(loc).set_index("method")
    assert list(t.index) == ["vanilla_grad", "bayesgrad"]
    assert t.loc["bayesgrad", "prc_auc_mean"] == pytest.approx(np.mean(bayes))
    assert t.loc["bayesgrad", "prc_auc_sd"] == pytest.approx(np.std(bayes, ddof=0))
    assert t.loc["vanilla_grad", "n_models"] == 6 and t.loc["vanilla_grad", "n_examples"] == 60
    w = S.wilcoxon_table(loc)
    row = w[(w["metric"] == "prc_auc") & (w["versus"] == "vanilla_grad")].iloc[0]
    assert row["pvalue"] == pytest.approx(wilcoxon(bayes, vanilla).pvalue)
    assert row["mean_diff"] == pytest.approx(np.mean(np.subtract(bayes, vanilla)))
    assert row["n_a_higher"] == 5


def test_beside_ggnn_puts_both_tables_on_one_row_per_method():
    s2v = pd.concat([_loc({"vanilla_grad": [0.2, 0.3, 0.25], "bayesgrad": [0.3, 0.35, 0.3]}).assign(molecules="depends"),
                     _loc({"vanilla_grad": [0.1, 0.2, 0.15], "bayesgrad": [0.2, 0.3, 0.2]}).assign(molecules="all")])
    table, w = S.table1(s2v), S.wilcoxon_table(s2v)
    ggnn = pd.DataFrame({"method": ["vanilla_grad", "smoothgrad", "bayesgrad"], "mean": [0.48, 0.49, 0.53],
                         "sd": [0.03, 0.03, 0.03], "n_models": [30, 30, 30]})
    ggnn_w = pd.DataFrame({"method": ["bayesgrad", "bayesgrad"], "versus": ["vanilla_grad", "smoothgrad"],
                           "mean_diff": [0.05, 0.04], "pvalue": [1e-9, 1e-8]})
    out = S.beside_ggnn(table, w, ggnn, ggnn_w).set_index("method")
    assert list(out.index) == ["vanilla_grad", "smoothgrad", "bayesgrad"]
    assert out.loc["vanilla_grad", "ggnn_mean"] == 0.48 and out.loc["vanilla_grad", "ggnn_gain"] == 0.05
    assert out.loc["vanilla_grad", "smiles2vec_mean"] == pytest.approx(0.25)
    assert out.loc["vanilla_grad", "smiles2vec_all_mean"] == pytest.approx(0.15)
    assert out.loc["vanilla_grad", "smiles2vec_gain"] == pytest.approx(np.mean([0.1, 0.05, 0.05]))
    assert out.loc["vanilla_grad", "smiles2vec_p"] == pytest.approx(wilcoxon([0.3, 0.35, 0.3], [0.2, 0.3, 0.25]).pvalue)
    assert np.isnan(out.loc["smoothgrad", "smiles2vec_mean"]) and out.loc["smoothgrad", "smiles2vec_n_models"] == 0
    assert np.isnan(out.loc["bayesgrad", "smiles2vec_gain"])


# ----------------------------------------------------------------------------- end to end
@pytest.mark.slow
def test_tiny_run_puts_the_smiles2vec_table1_beside_the_ggnn_table1(tmp_path, shared_data):
    """Two GGNN and two SMILES2vec Table 1 models (one epoch, tiny widths) from the real Tox21 file via
    Snakemake: the gathered tables join the per-model jobs and the GGNN's Table 1 as they should."""
    from conftest import copy_workflow, run_snakemake

    mirror = shared_data
    wf = copy_workflow(tmp_path / "wf", config_overrides={
        "tox21": {"table1": {"n_models": 2, "epochs": 1}},
        "smiles2vec": {"models": {"smiles2vec": {"filters": 8, "rnn_sizes": [8], "embedding_dim": 8}},
                       "pyridine": {"n_models": 2, "epochs": 2, "reliance": {"min_drop": 0.0},
                                    "attribution": {"methods": ["vanilla_grad", "bayesgrad"], "mc_samples": 2}}}})
    out = "results/smiles2vec/pyridine"
    run_snakemake(wf, f"{out}/beside_ggnn.csv", mirror=mirror)
    res = wf / out
    reliance = pd.read_csv(res / "reliance.csv")
    assert sorted(reliance["replicate"].unique()) == [0, 1]
    assert list(reliance.columns) == S.RELIANCE_COLUMNS and len(reliance) == 6
    every = pd.read_csv(res / "localisation_all.csv")
    n_eval = json.loads((res / "featurized.json").read_text())["n_evaluation"]
    assert len(every) == 4 and (every["n_examples"] == n_eval).all() and n_eval > 50
    # the depends table: only the models that rely, each on the molecules whose call flips
    depends = pd.read_csv(res / "localisation.csv")
    relying = set(reliance.loc[reliance["relies"], "replicate"])
    assert set(depends["replicate"]) <= relying
    for k in relying:
        n_flip = int(pd.read_csv(res / f"seed{k}/molecules.csv")["depends"].sum())
        assert (depends.loc[depends["replicate"] == k, "n_examples"] == n_flip).all()
    models = pd.read_csv(res / "models.csv").set_index("subset")
    for k in (0, 1):
        flips = int(pd.read_csv(res / f"seed{k}/molecules.csv")["depends"].sum())
        assert models.loc[k, "n_scored"] == (flips if k in relying else 0)
    bounds = pd.read_csv(res / "bounds.csv").set_index("unit")
    assert (bounds["n_molecules"] == n_eval).all() and bounds.loc["character", "mean_units"] > bounds.loc["atom", "mean_units"]
    beside = pd.read_csv(res / "beside_ggnn.csv").set_index("method")
    ggnn = pd.read_csv(wf / "results/tox21/pyridine/table1.csv").set_index("method")
    for m in ggnn.index:
        assert beside.loc[m, "ggnn_mean"] == pytest.approx(ggnn.loc[m, "mean"])
    for m in ("vanilla_grad", "bayesgrad"):
        assert beside.loc[m, "smiles2vec_all_mean"] == pytest.approx(every.loc[every["method"] == m, "prc_auc"].mean())
    # the same subsets as the GGNN's: the SMILES2vec model k trained on subset k's molecules that fit
    for k in (0, 1):
        metrics = json.loads((res / f"seed{k}/metrics.json").read_text())
        assert metrics["seed"] == k and metrics["n_train"] + metrics["n_train_too_long"] == 1000
