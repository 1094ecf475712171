"""Iris targets: the saliency blog's tabular example."""
from ...report.targets import Check, Target

TARGETS = [
    Target("blog.iris.petal_first", "saliency blog",
           "iris MLP: petal length and width most important, same order as a random forest",
           "petal length and width first", (Check("petal_top2", "==", True), Check("spearman_rho", ">=", 0.8)),
           "Spearman's rho between the BayesGrad and random-forest importance rankings"),
]
