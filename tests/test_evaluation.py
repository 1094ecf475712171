import numpy as np
import pandas as pd
import pytest

from xairepro.evaluation.atoms import atom_environments, environment_table
from xairepro.evaluation.regression import regression_metrics


def test_regression_metrics_known_values():
    m = regression_metrics([1, 2, 3, 4], [1.5, 2.5, 2.5, 4.5])
    assert m["mae"] == pytest.approx(0.5)
    assert m["rmse"] == pytest.approx(0.5)
    assert m["r"] == pytest.approx(np.corrcoef([1, 2, 3, 4], [1.5, 2.5, 2.5, 4.5])[0, 1])
    with pytest.raises(ValueError):
        regression_metrics([1, 2], [1])


@pytest.mark.parametrize("smiles,expected", [
    ("CCO", ["aliphatic C", "aliphatic C", "hydroxyl O"]),
    ("Nc1ccccc1", ["amine N"] + ["aromatic C"] * 6),
    ("CC(=O)OC", ["aliphatic C", "aliphatic C", "carbonyl/ester O", "carbonyl/ester O", "aliphatic C"]),
    ("COC", ["aliphatic C", "ether O", "aliphatic C"]),
    ("CC(=O)N", ["aliphatic C", "aliphatic C", "carbonyl/ester O", "other N"]),  # amide N is not an amine
    ("c1ccncc1Br", ["aromatic C"] * 3 + ["aromatic N"] + ["aromatic C"] * 2 + ["halogen"]),
])
def test_atom_environments(smiles, expected):
    assert atom_environments(smiles) == expected


def test_environment_table_checks_expected_signs():
    atoms = pd.DataFrame({
        "environment": ["hydroxyl O", "hydroxyl O", "aromatic C", "aromatic C", "ether O"],
        "good": [0.5, 0.3, -0.2, -0.1, 0.0],
        "bad": [-0.5, -0.3, 0.2, 0.1, 0.0],
    })
    t = environment_table(atoms, ["good", "bad"]).set_index(["method", "environment"])
    assert t.loc[("good", "hydroxyl O"), "mean"] == pytest.approx(0.4)
    assert t.loc[("good", "hydroxyl O"), "sign_as_expected"] is True
    assert t.loc[("bad", "aromatic C"), "sign_as_expected"] is False
    assert t.loc[("good", "ether O"), "sign_as_expected"] is None  # no claim about ethers
    assert t.loc[("good", "aromatic C"), "n_atoms"] == 2
