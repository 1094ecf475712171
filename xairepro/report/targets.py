"""Every paper number the workflow aims to reproduce (DESIGN.md). Rows that no experiment has
produced yet are listed in the report as not yet reproduced, never filled in."""

PAPER_TARGETS = [
    # (source, experiment, paper's value)
    ("BayesGrad", "Tox21 pyridine PRC-AUC, 30 GGNN models (Table 1)",
     "Vanilla 0.506±0.044, Smooth 0.514±0.042, BayesGrad 0.544±0.019, BayesSmooth 0.536±0.028"),
    ("BayesGrad", "Tox21 pyridine, full training set: train / validation ROC-AUC", "≈ 0.99"),
    ("BayesGrad", "Tox21 SR-MMP NFP: Tyrphostin 9 phenolic OH highlighted, O-methyl not", "figure 3"),
    ("BayesGrad", "ESOL NFP 5-fold held-out r", "0.851"),
    ("BayesGrad", "ESOL NFP 5-fold held-out MAE", "1.024"),
    ("saliency blog", "iris MLP: petal length and width most important (order as random forest)", "figure"),
    ("saliency blog", "ESOL GGNN integrated gradients: OH positive, carbon chains negative", "figure"),
    ("dmol chapter", "hemolytic peptide CNN: gradient, IG, SmoothGrad, Shapley, counterfactuals", "figures"),
    ("counterfactuals", "CIFAR-10 CNN: saturation, interior gradients, AOPC higher for IG, completeness", "figures"),
    ("counterfactuals", "IMDB recurrent model and Tox21 graph model: IG sums to prediction", "figures"),
    ("masks", "CIFAR-10 ResNet test accuracy", "94.04%"),
    ("masks", "IMDB BiGRU accuracy / with mask", "84.7% / 81.8%"),
    ("masks", "SMILES2vec ESOL RMSE / with mask; top-3 atom accuracy", "0.846 / 0.831; 88%"),
]
