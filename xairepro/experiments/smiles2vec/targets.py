"""SMILES2vec targets: "Explanatory masks" section 3.3 (ESOL).

The paper reports its masked RMSE and top-3 accuracy from one trained mask; here both are checked on
every mask seed (``over_seeds=True``, the same frozen model): the masked RMSE on the mask fitted to
the labels (the paper's 0.831 below its unmasked 0.846 reads that way), the top-3 accuracy on the
mask fitted to the model's prediction (the mask the explanation studies read). The model's own RMSE
stays one model.
"""
from ...report.targets import Target, at_least, at_most

TARGETS = [
    Target("masks.esol_smiles2vec.rmse", "masks", "SMILES2vec ESOL test RMSE (seeded random split)", "0.846",
           (at_most(0.846 + 0.05),), "within 0.05 above the paper"),
    Target("masks.esol_smiles2vec.masked_rmse", "masks", "SMILES2vec ESOL test RMSE with the explanation mask",
           "0.831", (at_most(0.831 + 0.05, "masked_rmse"),),
           "within 0.05 above the paper, per mask seed (mask fitted to the labels)", over_seeds=True),
    Target("masks.esol_smiles2vec.top3_accuracy", "masks",
           "SMILES2vec mask: top-3 characters on O/N (soluble) or C/halogens (insoluble)", "88%",
           (at_least(0.88 - 0.05, "top3_accuracy"),),
           "within 5 percentage points below the paper, per mask seed (mask fitted to the prediction); soluble "
           "log S >= -1, insoluble <= -5 (the paper prints <= -1.0 and >= -5.0, which reads inverted); a hit is one "
           "of the three characters on a target atom", over_seeds=True),
]
