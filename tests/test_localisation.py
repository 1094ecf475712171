"""Known-answer scores (xairepro.evaluation.localisation) against hand computations."""
import numpy as np
import pytest

from xairepro.evaluation.ground_truth import substructure_prc_auc
from xairepro.evaluation.localisation import localisation_table, mass_inside, pointing_hit


def test_mass_and_pointing_by_hand():
    s = np.array([3.0, -1.0, 1.0, 0.0])
    ev = np.array([False, False, True, True])
    assert mass_inside(s, ev) == pytest.approx(1.0 / 4.0)  # positive mass 3 + 1, inside 1
    assert pointing_hit(s, ev) is False
    assert pointing_hit(np.array([0.0, 0.0, 5.0, 5.0]), ev) is True
    assert pointing_hit(np.array([2.0, 0.0, 2.0, 0.0]), np.array([False, False, True, False])) is False  # tie: first unit
    assert np.isnan(mass_inside(np.array([-1.0, -2.0]), np.array([True, False])))


def test_table_perfect_beats_reversed_and_matches_table1_code():
    rng = np.random.default_rng(0)
    evidence, perfect, reverse = [], [], []
    for n in (6, 9, 12):
        ev = np.zeros(n, bool)
        ev[rng.choice(n, 3, replace=False)] = True
        evidence.append(ev)
        perfect.append(ev.astype(float) + 0.01 * rng.random(n))
        reverse.append(1.02 - perfect[-1])
    t = localisation_table({"perfect": perfect, "reverse": reverse}, evidence).set_index("method")
    assert t.loc["perfect", "pointing"] == 1.0 and t.loc["reverse", "pointing"] == 0.0
    assert t.loc["perfect", "mass"] > 0.9 and t.loc["reverse", "mass"] < 0.1
    truth = [np.flatnonzero(e).tolist() for e in evidence]
    assert t.loc["perfect", "prc_auc"] == substructure_prc_auc(perfect, truth, rule="reference_int")["prc_auc"]
    assert t.loc["perfect", "prc_auc"] > t.loc["reverse", "prc_auc"]
    # indices are the same evidence as masks
    t2 = localisation_table({"perfect": perfect}, truth)
    assert t2["prc_auc"].iloc[0] == t.loc["perfect", "prc_auc"]


def test_bad_evidence_named():
    with pytest.raises(ValueError, match="example 1: no evidence"):
        localisation_table({"m": [np.ones(3), np.ones(3)]}, [np.array([True, False, False]), np.zeros(3, bool)])
    with pytest.raises(ValueError, match="example 0: evidence mask of shape"):
        localisation_table({"m": [np.ones(3)]}, [np.ones(4, bool)])
