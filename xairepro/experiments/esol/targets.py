"""ESOL targets: BayesGrad section 4.3 (NFP, Fig. 4 and 5) and the saliency blog's GGNN example."""
from ...report.targets import Check, Target, at_least, at_most

SOURCE = "BayesGrad"
#: Fig. 4 of the BayesGrad paper: held-out r and MAE of the NFP with dropout; tolerance 0.01.
PAPER = {"r": 0.851, "mae": 1.024}
TOLERANCE = 0.01


def _metric_targets(model: str, note: str) -> list[Target]:
    return [
        Target(f"bayesgrad.esol.{model}.r", SOURCE, f"ESOL {model.upper()} 5-fold held-out r", "0.851",
               (at_least(PAPER["r"] - TOLERANCE),), note),
        Target(f"bayesgrad.esol.{model}.mae", SOURCE, f"ESOL {model.upper()} 5-fold held-out MAE", "1.024",
               (at_most(PAPER["mae"] + TOLERANCE),), note),
    ]


TARGETS = [
    *_metric_targets("nfp", "paper model: NFP"),
    *_metric_targets("ggnn", "not in paper (extra model)"),
    Target("bayesgrad.esol.nfp.signs", SOURCE,
           "ESOL NFP BayesGrad input x gradient: hydrophilic atoms positive, aromatic C and halogens negative (Fig. 5)",
           "hydroxyl O, amine N > 0; aromatic C, halogen < 0",
           (Check("hydroxyl_o", ">", 0.0), Check("amine_n", ">", 0.0), Check("aromatic_c", "<", 0.0),
            Check("halogen", "<", 0.0)),
           "mean over every atom of that environment in the held-out molecules"),
    Target("blog.esol.ggnn_ig.signs", "saliency blog",
           "ESOL GGNN integrated gradients on the embedding: OH positive, carbon chains negative",
           "figure: OH positive, carbon chains negative",
           (Check("hydroxyl_o", ">", 0.0), Check("aliphatic_c", "<", 0.0))),
]
