"""Tox21 rows of the reproduction table, keyed by the target ids of :mod:`.targets` (which hold
every threshold); this module only measures."""
from __future__ import annotations

import pandas as pd

from ...report.targets import reproduction_row
from .targets import IG_MODELS, METHOD_NAMES


def _fmt(mean: float, sd: float) -> str:
    return f"{mean:.3f}±{sd:.3f}"


def _map_rows(maps: list[dict], scale: str) -> list[dict]:
    rows = []
    by_name = {m["name"]: m for m in maps}
    for name, tid in (("Tyrphostin 9", "bayesgrad.tox21.srmmp.tyrphostin9"),
                      ("Tyrphostin 9 O-methyl", "bayesgrad.tox21.srmmp.tyrphostin9_methyl")):
        m = by_name.get(name)
        if m is not None and m.get("oxygen_rank") is not None:
            rows.append(reproduction_row(
                tid, f"rank {m['oxygen_rank']} of {m['n_atoms']}, {m['oxygen_share']:.1%} of the map", scale,
                f"BayesGrad, squared gradient; rank with signed input x gradient: BayesGrad "
                f"{m['oxygen_rank_signed_bayesgrad']}, without dropout {m['oxygen_rank_signed_vanilla']}",
                oxygen_rank=int(m["oxygen_rank"])))
    others = [m for m in maps if m["name"] not in ("Tyrphostin 9", "Tyrphostin 9 O-methyl") and m.get("oxygen_rank")]
    if others:
        rows.append(reproduction_row(
            "bayesgrad.tox21.srmmp.hindered_phenols",
            ", ".join(f"{m['name']}: rank {m['oxygen_rank']}/{m['n_atoms']}" for m in others), scale,
            "signed input x gradient ranks (BayesGrad / without dropout): "
            + ", ".join(f"{m['name']}: {m['oxygen_rank_signed_bayesgrad']} / {m['oxygen_rank_signed_vanilla']}"
                        for m in others),
            max_oxygen_rank=int(max(m["oxygen_rank"] for m in others))))
    return rows


def reproduction_rows(table: pd.DataFrame, wilcoxon: pd.DataFrame, full: dict, srmmp: dict, maps: list[dict],
                      completeness: pd.DataFrame, saturation: pd.DataFrame, dead: pd.DataFrame,
                      scale: str) -> list[dict]:
    rows = []
    n = int(table["n_models"].iloc[0])
    for _, r in table.iterrows():
        rows.append(reproduction_row(f"bayesgrad.tox21.table1.{r['method']}", _fmt(r["mean"], r["sd"]), scale,
                                     f"{n} models; difference {r['diff']:+.3f}", mean=float(r["mean"])))
    for _, w in wilcoxon.iterrows():
        rows.append(reproduction_row(
            f"bayesgrad.tox21.table1.bayesgrad_vs_{w['versus']}",
            f"diff {w['mean_diff']:+.3f}, p = {w['pvalue']:.2g}, higher in {w['n_a_higher']}/{w['n']}", scale,
            f"BayesGrad vs {METHOD_NAMES[w['versus']]} over {w['n']} models",
            mean_diff=float(w["mean_diff"]), pvalue=float(w["pvalue"])))
    for part in ("train", "val"):
        v = float(full[f"{part}_roc_auc"])
        rows.append(reproduction_row(f"bayesgrad.tox21.pyridine.{part}_roc_auc", f"{v:.4f}", scale,
                                     f"{full['model']}, {full['epochs']} epochs, n = {full[f'n_{part}']}", value=v))
    v = float(srmmp["test_roc_auc"])
    rows.append(reproduction_row("bayesgrad.tox21.srmmp.test_roc_auc", f"{v:.4f}", scale,
                                 f"n_test = {srmmp['n_test']} ({srmmp['n_test_positive']} positive)", value=v))
    rows += _map_rows(maps, scale)
    labels = {label: key for key, label in IG_MODELS.items()}
    for model, g in completeness.groupby("model"):
        med, q95 = g["rel_error"].median(), g["rel_error"].quantile(0.95)
        rows.append(reproduction_row(f"counterfactuals.tox21.{labels[model]}.completeness",
                                     f"median rel. error {med:.2%}, 95th pct {q95:.2%} (n = {len(g)})", scale,
                                     median_rel_error=float(med)))
    for model, g in saturation.groupby("model"):
        share = float(g["probability_tail_share"].median())
        rows.append(reproduction_row(f"counterfactuals.tox21.{labels[model]}.saturation",
                                     f"median share of the probability change over alpha in [0.9, 1]: {share:.1%}",
                                     scale, f"{len(g)} active molecules", median_tail_share=share))
    weave = dead[dead["model"] == "weave"].set_index("n_layers")["fraction_identical"]
    if len(weave):
        ggnn = dead[dead["model"] == "ggnn"].set_index("n_layers")["fraction_identical"]
        one, deeper = float(weave.get(1, float("nan"))), weave[weave.index >= 2]
        rows.append(reproduction_row(
            "counterfactuals.tox21.dead_features",
            f"Weave-style: identical pairs {one:.0%} (1 layer), "
            + ", ".join(f"{v:.0%} ({k} layers)" for k, v in deeper.items())
            + ("; GGNN: " + ", ".join(f"{v:.0%} ({k} steps)" for k, v in ggnn.items()) if len(ggnn) else ""),
            scale, "GGNN messages carry the neighbour's atom state, so even one step separates these atoms",
            one_layer_identical=one, deeper_max_identical=float(deeper.max()) if len(deeper) else float("nan")))
    return rows
