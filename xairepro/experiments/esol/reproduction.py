"""ESOL rows of the reproduction table, keyed by the target ids of :mod:`.targets`."""
from __future__ import annotations

import logging

import pandas as pd

from ...report.targets import reproduction_row
from .targets import TARGETS

log = logging.getLogger(__name__)
_DECLARED = {t.id for t in TARGETS}
#: Environment names of the sign target (BayesGrad Fig. 5) in the environment table.
SIGN_ENVIRONMENTS = {"hydroxyl_o": "hydroxyl O", "amine_n": "amine N", "aromatic_c": "aromatic C",
                     "aliphatic_c": "aliphatic C", "halogen": "halogen"}


def environment_means(environments: pd.DataFrame, method: str) -> dict[str, float]:
    """Mean signed score of ``method`` per environment of :data:`SIGN_ENVIRONMENTS` (NaN if absent)."""
    table = environments[environments["method"] == method].set_index("environment")["mean"]
    return {key: float(table[env]) if env in table.index else float("nan") for key, env in SIGN_ENVIRONMENTS.items()}


def reproduction_rows(metrics_by_model: dict[str, dict], environments_by_model: dict[str, pd.DataFrame],
                      scale: str, blog_environments: pd.DataFrame | None = None) -> list[dict]:
    """r and MAE of each model with declared targets, the BayesGrad sign table of the NFP, and the
    sign table of the blog's GGNN integrated gradients.
    Models without targets (your own, added in the config) are reported in the notebook only."""
    rows = []
    for model, m in metrics_by_model.items():
        for key in ("r", "mae"):
            tid = f"bayesgrad.esol.{model}.{key}"
            if tid not in _DECLARED:
                log.info("no paper target for model %s (%s): shown in the notebook only", model, tid)
                continue
            rows.append(reproduction_row(tid, f"{m[key]:.3f}", scale, f"pooled over {len(m['per_fold'])} folds",
                                         value=round(float(m[key]), 3)))
    if "nfp" in environments_by_model:
        means = environment_means(environments_by_model["nfp"], "bayesgrad")
        rows.append(reproduction_row(
            "bayesgrad.esol.nfp.signs", ", ".join(f"{SIGN_ENVIRONMENTS[k]} {v:+.3f}" for k, v in means.items()),
            scale, **means))
    if blog_environments is not None:
        means = environment_means(blog_environments, "integrated_gradients")
        rows.append(reproduction_row(
            "blog.esol.ggnn_ig.signs", ", ".join(f"{SIGN_ENVIRONMENTS[k]} {v:+.3f}" for k, v in means.items()),
            scale, "GGNN (hidden 32, 4 steps), IG on the embedding, mean over held-out atoms", **means))
    return rows
