"""Ground-truth atoms, the top-k precision-recall curve, PRC-AUC, ROC-AUC and the paired test,
on hand-made molecules and arrays whose answers are known."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import auc

from xairepro.evaluation.ground_truth import (DEFAULT_RATES, atom_rank, has_substructure, n_extracted,
                                              paired_wilcoxon, prc_auc, pyridine_atoms, roc_auc,
                                              substructure_atoms, substructure_prc_auc, topk_precision_recall)


# --------------------------------------------------------------------------- ground truth

@pytest.mark.parametrize("smiles, atoms", [
    ("c1ccncc1CC", [0, 1, 2, 3, 4, 5]),
    ("CCc1ccncc1", [2, 3, 4, 5, 6, 7]),
    ("c1ccc2ncccc2c1", [3, 4, 5, 6, 7, 8]),          # quinoline: only the ring with the N
    ("c1ccc(-c2ccccn2)nc1", list(range(12))),        # 2,2'-bipyridine: both rings
    ("C[n+]1ccccc1", [1, 2, 3, 4, 5, 6]),            # N-methylpyridinium: aromatic n+ counts
    ("c1ccccc1", []),
    ("C1CCNCC1", []),                                # piperidine: aliphatic, no match
])
def test_pyridine_ground_truth_atoms(smiles, atoms):
    assert pyridine_atoms(smiles) == atoms
    assert has_substructure(smiles) == bool(atoms)


def test_shared_atoms_of_two_matches_are_counted_once():
    # 1,8-naphthyridine: two pyridine rings sharing the two fusion atoms -> 10 distinct atoms
    atoms = pyridine_atoms("c1cnc2ncccc2c1")
    assert atoms == list(range(10))


def test_invalid_inputs_raise():
    with pytest.raises(ValueError, match="SMILES"):
        pyridine_atoms("not a smiles")
    with pytest.raises(ValueError, match="SMARTS"):
        substructure_atoms("CCO", "[")


# --------------------------------------------------------------------------- top-k curve

def test_n_extracted_is_ceil_with_at_least_one_atom():
    assert n_extracted(10, 0.1) == 1
    assert n_extracted(10, 0.3) == 3  # 0.3 * 10 is 3.0000000000000004 in floating point
    assert n_extracted(8, 0.1) == 1
    assert n_extracted(8, 0.15) == 2
    assert n_extracted(5, 0.01) == 1
    assert n_extracted(7, 1.0) == 7


def truth_and_perfect(smiles_list):
    truth = [pyridine_atoms(s) for s in smiles_list]
    from rdkit import Chem
    n_atoms = [Chem.MolFromSmiles(s).GetNumAtoms() for s in smiles_list]
    perfect = [np.isin(np.arange(n), t).astype(float) for n, t in zip(n_atoms, truth)]
    return truth, perfect


def test_one_molecule_by_hand():
    # c1ccncc1CC: 8 atoms, pyridine atoms 0-5. Scores rank atom 7, then 0, then the rest.
    scores = [np.array([5.0, 1, 1, 1, 1, 1, 0, 9])]
    recall, precision = topk_precision_recall(scores, [[0, 1, 2, 3, 4, 5]], rates=[0.1, 0.25, 1.0])
    # k = 1 -> atom 7 (miss); k = 2 -> atoms 7, 0 (1 hit); k = 8 -> all (6 hits)
    np.testing.assert_allclose(recall, [0, 1 / 6, 1])
    np.testing.assert_allclose(precision, [0, 1 / 2, 6 / 8])


def test_perfect_ranking_scores_near_one_and_reversed_low():
    # small molecules, mostly pyridine: a perfect ranking comes close to 1
    truth, perfect = truth_and_perfect(["c1ccncc1CC", "c1ccncc1", "Cc1ccncc1C", "CCc1ccncc1"])
    best = substructure_prc_auc(perfect, truth)
    # un-anchored curve: a perfect ranking scores at most 1 - (mean recall at the first rate),
    # less where one molecule's precision drops while another's recall still grows
    assert best["prc_auc"] <= 1 - best["recall"][0] + 1e-12
    assert best["prc_auc"] == pytest.approx(1 - best["recall"][0], abs=0.01)
    assert best["prc_auc"] > 0.8
    assert np.all(np.diff(best["recall"]) >= 0)
    assert len(best["rates"]) == 20 and best["rates"][0] == pytest.approx(0.1) and best["rates"][-1] == 1.0
    # pyridine on a longer chain: reversed is low, random in between
    truth, perfect = truth_and_perfect(["c1ccncc1CCCCCC", "CCCCCCCc1ccncc1", "c1ccncc1OCCCCCC"])
    best = substructure_prc_auc(perfect, truth)["prc_auc"]
    worst = substructure_prc_auc([-p for p in perfect], truth)["prc_auc"]
    rng = np.random.default_rng(0)
    random = np.mean([substructure_prc_auc([rng.random(len(p)) for p in perfect], truth)["prc_auc"] for _ in range(50)])
    assert worst < 0.3
    assert worst < random - 0.05 and random < best - 0.1


def test_metric_is_invariant_to_monotone_transforms_and_deterministic_on_ties():
    smiles = ["c1ccncc1CC", "CCOc1ccncc1"]
    truth, perfect = truth_and_perfect(smiles)
    rng = np.random.default_rng(1)
    scores = [rng.random(len(p)) for p in perfect]
    a = substructure_prc_auc(scores, truth)["prc_auc"]
    b = substructure_prc_auc([np.exp(3 * s) for s in scores], truth)["prc_auc"]
    assert a == pytest.approx(b)
    flat = [np.zeros(len(p)) for p in perfect]  # all tied: atom order decides, every time
    assert substructure_prc_auc(flat, truth)["prc_auc"] == substructure_prc_auc(flat, truth)["prc_auc"]


def test_curve_input_errors():
    with pytest.raises(ValueError, match="ground-truth"):
        topk_precision_recall([np.ones(3)], [[]])
    with pytest.raises(ValueError, match="score arrays"):
        topk_precision_recall([np.ones(3)], [[0], [1]])
    with pytest.raises(ValueError, match="out of range"):
        topk_precision_recall([np.ones(3)], [[5]])


def test_prc_auc_is_the_trapezoid_rule():
    recall, precision = [0.2, 0.5, 1.0, 1.0], [1.0, 0.8, 0.5, 0.4]
    assert prc_auc(recall, precision) == pytest.approx(auc(recall, precision))
    assert prc_auc(recall, precision) == pytest.approx(0.3 * 0.9 + 0.5 * 0.65)
    with pytest.raises(ValueError, match="non-decreasing"):
        prc_auc([0.5, 0.2], [1, 1])


def test_atom_rank():
    assert atom_rank([0.1, 0.9, 0.5], 1) == 1
    assert atom_rank([0.1, 0.9, 0.5], 0) == 3
    assert atom_rank([0.5, 0.5], 1) == 2  # ties: lower index first


# --------------------------------------------------------------------------- classification, statistics

def test_roc_auc_skips_missing_labels():
    y = [1, 0, np.nan, 1, 0]
    s = [0.9, 0.1, 0.0, 0.8, 0.2]
    assert roc_auc(y, s) == 1.0  # the NaN label (score 0.0, would be a false negative) is left out
    assert roc_auc([1, 0, 1, 0], [0.9, 0.1, 0.05, 0.2], mask=[True, True, False, True]) == 1.0
    assert np.isnan(roc_auc([1, 1], [0.2, 0.3]))


def test_paired_wilcoxon_on_known_arrays():
    b = np.linspace(0.4, 0.6, 10)
    a = b + np.arange(1, 11) * 0.01  # a higher in all 10 pairs
    res = paired_wilcoxon(a, b)
    assert res["n"] == 10 and res["n_a_higher"] == 10
    assert res["statistic"] == 0.0
    assert res["pvalue"] == pytest.approx(2 / 2 ** 10)  # exact two-sided signed-rank p
    assert res["mean_diff"] == pytest.approx(0.055)
    same = paired_wilcoxon(b, b)
    assert same["pvalue"] == 1.0 and same["n_ties"] == 10
    with pytest.raises(ValueError):
        paired_wilcoxon([1, 2], [1])


def test_default_rates_are_the_papers_twenty():
    assert len(DEFAULT_RATES) == 20
    assert DEFAULT_RATES[0] == pytest.approx(0.1) and DEFAULT_RATES[-1] == pytest.approx(1.0)


def test_extraction_rules_and_the_reference_all_atoms_quirk():
    from xairepro.evaluation.ground_truth import EXTRACTION_RULES, REFERENCE_RULE

    assert REFERENCE_RULE == "reference_int" and set(EXTRACTION_RULES) == {"ceil", "max1_int", "reference_int"}
    # 8 atoms: int(0.8) = 0 -> the reference code's idx[-0:] takes every atom; the fix takes one
    assert [n_extracted(8, 0.1, r) for r in ("ceil", "max1_int", "reference_int")] == [1, 1, 8]
    assert [n_extracted(8, 0.15, r) for r in ("ceil", "max1_int", "reference_int")] == [2, 1, 1]
    assert n_extracted(25, 0.3, "max1_int") == n_extracted(25, 0.3, "reference_int") == 7
    for rule in EXTRACTION_RULES:
        assert n_extracted(9, 1.0, rule) == 9
    with pytest.raises(ValueError, match="unknown extraction rule"):
        n_extracted(5, 0.5, "floor")


def _reference_code_prc(scores, truth, rates):
    """The BayesGrad code's calc_recall_precision + sklearn auc, written out (percentile_index)."""
    rec, prec = [], []
    for r in rates:
        rr, pp = [], []
        for s, t in zip(scores, truth):
            idx = np.argsort(s, kind="stable")
            top = set(idx[-int(len(s) * float(r)):].tolist())
            hit = len(top & set(t))
            rr.append(hit / len(t))
            pp.append(hit / len(top))
        rec.append(np.mean(rr))
        prec.append(np.mean(pp))
    rec, prec = np.array(rec), np.array(prec)
    return float(np.sum(np.diff(rec) * (prec[1:] + prec[:-1]) / 2))


def test_reference_rule_agrees_with_the_reference_code_and_bounds_order():
    from xairepro.evaluation.ground_truth import prc_auc_by_rule

    rng = np.random.default_rng(0)
    sizes = rng.integers(7, 30, size=25)
    truth = [sorted(rng.choice(n, size=6, replace=False).tolist()) for n in sizes]
    scores = [rng.random(n) + 0.5 * np.isin(np.arange(n), t) for n, t in zip(sizes, truth)]
    res = prc_auc_by_rule(scores, truth)
    # distinct scores: tie-breaking does not matter, so the reference code's numbers come out exactly
    assert res["reference_int"]["prc_auc"] == pytest.approx(_reference_code_prc(scores, truth, DEFAULT_RATES))
    perfect = [np.isin(np.arange(n), t).astype(float) + 1e-3 * rng.random(n) for n, t in zip(sizes, truth)]
    best = prc_auc_by_rule(perfect, truth)
    for rule in res:
        assert best[rule]["prc_auc"] >= res[rule]["prc_auc"]
    # the rules put the same scores on different scales
    assert len({round(v["prc_auc"], 6) for v in res.values()}) == 3
