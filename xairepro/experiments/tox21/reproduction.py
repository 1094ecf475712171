"""Tox21 rows of the reproduction table, keyed by the target ids of :mod:`.targets` (which hold
every threshold); this module only measures."""
from __future__ import annotations

import pandas as pd

from ...report.targets import reproduction_row
from .targets import GAIN_BASELINE, IG_MODELS, METHOD_NAMES, TOP_RANK

#: How the report names the oxygen ranks of the SR-MMP maps (``oxygen_ranks`` keys); others by key.
RANK_METHOD_NAMES = {"bayesgrad": "BayesGrad", "vanilla_grad": "VanillaGrad",
                     "signed_bayesgrad": "signed input x gradient (dropout)",
                     "signed_input_x_gradient": "signed input x gradient (no dropout)"}
#: The signed ranks the hindered-phenol note gives (with dropout / without).
SIGNED_RANKS = ("signed_bayesgrad", "signed_input_x_gradient")


def _fmt(mean: float, sd: float) -> str:
    return f"{mean:.3f}±{sd:.3f}"


def _map_rows(maps: list[dict], scale: str, counts: pd.DataFrame | None = None) -> list[dict]:
    """Fig. 3 rows: how many seed models put the key oxygen in the top ``TOP_RANK`` (BayesGrad), with
    the other methods' counts and the median-rank model's ranks in the note."""
    rows = []
    by_name = {m["name"]: m for m in maps}
    for name, tid in (("Tyrphostin 9", "bayesgrad.tox21.srmmp.tyrphostin9"),
                      ("Tyrphostin 9 O-methyl", "bayesgrad.tox21.srmmp.tyrphostin9_methyl")):
        m = by_name.get(name)
        if counts is None or m is None or m.get("oxygen_rank") is None:
            continue
        c = counts[counts["molecule"] == name].set_index("method")
        key = m["method"]
        b = c.loc[key]
        label = RANK_METHOD_NAMES.get(key, key)
        others = ", ".join(f"{RANK_METHOD_NAMES.get(k, k)} {int(c.loc[k, 'n_top'])}/{int(c.loc[k, 'n_seeds'])}"
                           for k in _rank_order(c.index) if k != key)
        rows.append(reproduction_row(
            tid, f"O in the top {TOP_RANK} in {int(b['n_top'])} of {int(b['n_seeds'])} seeds ({label}; median rank "
                 f"{b['median_rank']:g} of {int(b['n_atoms'])})", scale,
            f"other scores, seeds with the O in the top {TOP_RANK}: {others}; the figure's model (seed "
            f"{m.get('seed', '?')}, median {label} rank) ranks it {m['oxygen_rank']}",
            fraction_top=float(b["n_top"] / b["n_seeds"]), oxygen_rank=int(m["oxygen_rank"])))
    others = [m for m in maps if m["name"] not in ("Tyrphostin 9", "Tyrphostin 9 O-methyl") and m.get("oxygen_rank")]
    if others:
        signed = [k for k in SIGNED_RANKS if all(k in m["oxygen_ranks"] for m in others)]
        note = ("signed input x gradient ranks (BayesGrad / without dropout): "
                + ", ".join(f"{m['name']}: " + " / ".join(str(m["oxygen_ranks"][k]) for k in signed) for m in others)
                if signed else "")
        rows.append(reproduction_row(
            "bayesgrad.tox21.srmmp.hindered_phenols",
            ", ".join(f"{m['name']}: rank {m['oxygen_rank']}/{m['n_atoms']}" for m in others), scale, note,
            max_oxygen_rank=int(max(m["oxygen_rank"] for m in others))))
    return rows


def _rank_order(methods) -> list[str]:
    """The ranked methods in report order, then any other (a method a user added to the maps)."""
    methods = list(methods)
    return [k for k in RANK_METHOD_NAMES if k in methods] + [k for k in methods if k not in RANK_METHOD_NAMES]


def reproduction_rows(table: pd.DataFrame, wilcoxon: pd.DataFrame, full: dict, srmmp: dict, maps: list[dict],
                      completeness: pd.DataFrame, saturation: pd.DataFrame, dead: pd.DataFrame,
                      scale: str, counts: pd.DataFrame | None = None, ablation: pd.DataFrame | None = None,
                      rules: pd.DataFrame | None = None) -> list[dict]:
    """``table``/``wilcoxon``: Table 1 under the reference code's extraction rule (the paper's scale);
    ``rules``: every rule (for the notes); ``ablation``: the ablation model's Wilcoxon table;
    ``counts``: Fig. 3 oxygen ranks across seeds."""
    rows = []
    n = int(table["n_models"].iloc[0])
    other_rules = ""
    if rules is not None:
        r = rules[rules["method"] == GAIN_BASELINE].set_index("rule")
        other_rules = "; gain under the other rules: " + ", ".join(
            f"{k} {v['bayesgrad_gain']:+.3f} (p = {v['pvalue']:.2g})" for k, v in r.iterrows() if k != "reference_int")
    for _, r in table.iterrows():
        rows.append(reproduction_row(f"bayesgrad.tox21.table1.{r['method']}", _fmt(r["mean"], r["sd"]), scale,
                                     f"{n} models; reference code's extraction rule int(r n) (all atoms when 0); "
                                     f"difference {r['diff']:+.3f}", mean=float(r["mean"])))
    v = wilcoxon.set_index("versus").loc[GAIN_BASELINE]
    abl = ""
    if ablation is not None and len(ablation):
        a = ablation.set_index("versus").loc[GAIN_BASELINE]
        abl = (f"; ablation (embedding as the GRU state): {a['mean_diff']:+.3f}, p = {a['pvalue']:.2g}, "
               f"{int(a['n'])} models")
    rows.append(reproduction_row(
        "bayesgrad.tox21.table1.gain", f"{v['mean_diff']:+.3f} (median per model {v['median_diff']:+.3f}), "
        f"p = {v['pvalue']:.2g}", scale, f"{int(v['n'])} models, reference rule" + other_rules + abl,
        mean_diff=float(v["mean_diff"]), pvalue=float(v["pvalue"])))
    for _, w in wilcoxon.iterrows():
        rows.append(reproduction_row(
            f"bayesgrad.tox21.table1.bayesgrad_vs_{w['versus']}",
            f"diff {w['mean_diff']:+.3f}, p = {w['pvalue']:.2g}, higher in {w['n_a_higher']}/{w['n']}", scale,
            f"BayesGrad vs {METHOD_NAMES.get(w['versus'], w['versus'])} over {w['n']} models",
            mean_diff=float(w["mean_diff"]), pvalue=float(w["pvalue"])))
    for part in ("train", "val"):
        v = float(full[f"{part}_roc_auc"])
        rows.append(reproduction_row(f"bayesgrad.tox21.pyridine.{part}_roc_auc", f"{v:.4f}", scale,
                                     f"{full['model']}, {full['epochs']} epochs, n = {full[f'n_{part}']}", value=v))
    v = float(srmmp["test_roc_auc"])
    rows.append(reproduction_row("bayesgrad.tox21.srmmp.test_roc_auc", f"{v:.4f}", scale,
                                 f"n_test = {srmmp['n_test']} ({srmmp['n_test_positive']} positive)", value=v))
    rows += _map_rows(maps, scale, counts)
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
