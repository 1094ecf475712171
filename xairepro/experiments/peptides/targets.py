"""Hemolytic-peptide targets: the dmol.pub interpretability chapter, sections 10.3-10.6.

The chapter states its probabilities and its reading of the Shapley bars from one trained model;
here each is checked on every model seed (``over_seeds=True``: the book's split, fixed, and one
model per seed), so the verdict says in how many seeds the claim holds. The torch thread count of
the training jobs is in each row's note: it changes these numbers (the summation order of the CPU
kernels changes the trained weights).
"""
from ...report.targets import Check, Target

TARGETS = [
    Target("dmol.peptides.test_accuracy", "dmol chapter", "hemolytic peptide CNN test accuracy (the book's split)",
           "\"quite good\" (no number)", (Check("accuracy", ">=", 0.7),),
           "threshold: well above the class balance, per model seed", over_seeds=True),
    Target("dmol.peptides.p_qqqqq", "dmol chapter", "P(QQQQQ hemolytic)", "1.00",
           (Check("probability", ">", 0.5),), "predicted hemolytic, per model seed", over_seeds=True),
    Target("dmol.peptides.p_ggggg", "dmol chapter", "P(GGGGG hemolytic)", "0.00",
           (Check("probability", "<", 0.5),),
           "predicted non-hemolytic, per model seed (GGGGG is shorter than any training peptide)", over_seeds=True),
    Target("dmol.peptides.p_example", "dmol chapter", "P(RAGLQFPVGRLLRRLLRRLLR hemolytic)", "1.00",
           (Check("probability", ">", 0.5),), "predicted hemolytic, per model seed", over_seeds=True),
    Target("dmol.peptides.shapley_reading", "dmol chapter",
           "RAGLQFPVGRLLRRLLRRLLR is hemolytic \"primarily because of the glutamine, proline, ...\" (Shapley bars)",
           "Q5 and P7 among the top residues", (Check("holds", "==", True),),
           "glutamine 5 and proline 7 among the three residues with the largest signed chimera Shapley value, "
           "per model seed", over_seeds=True),
    Target("dmol.peptides.attributions", "dmol chapter",
           "RAGLQFPVGRLLRRLLRRLLR: gradient, IG, SmoothGrad and Shapley bars", "figure"),
    Target("dmol.peptides.shapley_sum", "dmol chapter",
           "Shapley values sum to f(x) - E[f] as the sample count grows (Fig. 10.1)", "converges",
           (Check("rel_error", "<", 0.05),), "relative error at the largest sample count"),
    Target("dmol.peptides.counterfactuals", "dmol chapter",
           "single-substitution counterfactuals that flip the prediction", "listed",
           (Check("n_flips", ">", 0),)),
]
