"""SMILES2vec targets: "Explanatory masks" section 3.3 (ESOL)."""
from ...report.targets import Target, at_least, at_most

TARGETS = [
    Target("masks.esol_smiles2vec.rmse", "masks", "SMILES2vec ESOL test RMSE (seeded random split)", "0.846",
           (at_most(0.846 + 0.05),), "within 0.05 above the paper"),
    Target("masks.esol_smiles2vec.masked_rmse", "masks", "SMILES2vec ESOL test RMSE with the explanation mask",
           "0.831", (at_most(0.831 + 0.05),), "within 0.05 above the paper"),
    Target("masks.esol_smiles2vec.top3_accuracy", "masks",
           "SMILES2vec mask: top-3 characters on O/N (soluble) or C/halogens (insoluble)", "88%",
           (at_least(0.88 - 0.05),),
           "within 5 percentage points below the paper; soluble log S >= -1, insoluble <= -5 (the paper prints "
           "<= -1.0 and >= -5.0, which reads inverted); a hit is one of the three characters on a target atom"),
]
