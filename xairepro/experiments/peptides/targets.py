"""Hemolytic-peptide targets: the dmol.pub interpretability chapter, sections 10.3-10.6."""
from ...report.targets import Check, Target

TARGETS = [
    Target("dmol.peptides.test_accuracy", "dmol chapter", "hemolytic peptide CNN test accuracy",
           "\"quite good\" (no number)", (Check("value", ">=", 0.7),), "threshold: well above the class balance"),
    Target("dmol.peptides.attributions", "dmol chapter",
           "RAGLQFPVGRLLRRLLRRLLR: gradient, IG, SmoothGrad and Shapley bars", "figure"),
    Target("dmol.peptides.shapley_sum", "dmol chapter",
           "Shapley values sum to f(x) - E[f] as the sample count grows (Fig. 10.1)", "converges",
           (Check("rel_error", "<", 0.05),), "relative error at the largest sample count"),
    Target("dmol.peptides.counterfactuals", "dmol chapter",
           "single-substitution counterfactuals that flip the prediction", "listed",
           (Check("n_flips", ">", 0),)),
]
