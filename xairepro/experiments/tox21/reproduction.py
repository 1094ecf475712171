"""Tox21 rows of the reproduction table, keyed by the target ids of :mod:`.targets` (which hold
every threshold); this module only measures."""
from __future__ import annotations

import pandas as pd

from ...report.targets import reproduction_row, seed_summary
from .targets import GAIN_BASELINE, IG_MODELS, METHOD_NAMES, TOP_RANK

#: How the report names the oxygen ranks of the SR-MMP maps (``oxygen_ranks`` keys); others by key.
RANK_METHOD_NAMES = {"bayesgrad": "BayesGrad", "vanilla_grad": "VanillaGrad",
                     "signed_bayesgrad": "signed input x gradient (dropout)",
                     "signed_input_x_gradient": "signed input x gradient (no dropout)"}
#: The signed ranks the hindered-phenol note gives (with dropout / without).
SIGNED_RANKS = ("signed_bayesgrad", "signed_input_x_gradient")


def _fmt(mean: float, sd: float) -> str:
    return f"{mean:.3f}±{sd:.3f}"


#: The molecules of Fig. 3a,b (named in config); every other molecule of the maps is a Tox21 hindered phenol.
NAMED = (("Tyrphostin 9", "bayesgrad.tox21.srmmp.tyrphostin9"),
         ("Tyrphostin 9 O-methyl", "bayesgrad.tox21.srmmp.tyrphostin9_methyl"))


def _per_seed(ranks: pd.DataFrame, molecule: str, method: str) -> pd.Series:
    r = ranks[(ranks["molecule"] == molecule) & (ranks["method"] == method)]
    return r.set_index("seed")["rank"].sort_index().astype(int)


def _map_rows(maps: list[dict], scale: str, ranks: pd.DataFrame | None = None) -> list[dict]:
    """Fig. 3 rows over seed models (issue 20): each seed's rank of the key oxygen under the maps'
    method (BayesGrad) is that seed's measure (``per_seed``); the other methods' per-seed ranks and
    the figure's model (the median-rank seed, whose ``maps`` are drawn) are in the note."""
    if ranks is None or not len(ranks) or not maps:
        return []
    rows = []
    key = maps[0]["method"]
    label = RANK_METHOD_NAMES.get(key, key)
    by_name = {m["name"]: m for m in maps}
    for name, tid in NAMED:
        own = _per_seed(ranks, name, key)
        if own.empty:
            continue
        n_atoms = int(ranks.loc[ranks["molecule"] == name, "n_atoms"].iloc[0])
        stats = seed_summary(own.tolist())
        n_top = int((own <= TOP_RANK).sum())
        others = "; ".join(f"{RANK_METHOD_NAMES.get(k, k)} " + ", ".join(map(str, _per_seed(ranks, name, k)))
                           for k in _rank_order(ranks["method"].unique()) if k != key)
        fig = by_name.get(name, {})
        rows.append(reproduction_row(
            tid, f"O in the top {TOP_RANK} in {n_top} of {len(own)} seeds ({label} rank per seed "
                 f"{', '.join(map(str, own))} of {n_atoms}; median {stats['median']:g})", scale,
            f"rank per seed {own.index.min()}-{own.index.max()} under the other scores: {others}; the figure's model "
            f"(seed {fig.get('seed', '?')}, median {label} rank) ranks it {fig.get('oxygen_rank', '?')}",
            per_seed=[{"seed": int(sd), "oxygen_rank": int(r)} for sd, r in own.items()],
            fraction_top=n_top / len(own), median_rank=stats["median"], min_rank=stats["min"],
            max_rank=stats["max"], n_atoms=n_atoms))
    phenols = ranks[~ranks["molecule"].isin([n for n, _ in NAMED]) & (ranks["method"] == key)]
    if len(phenols):
        worst = phenols.groupby("seed")["rank"].max().sort_index().astype(int)
        per_mol = phenols.pivot_table(index="molecule", columns="seed", values="rank")
        held = int((worst <= TOP_RANK).sum())
        signed = [k for k in SIGNED_RANKS if k in set(ranks["method"])]
        note = "; ".join(
            f"{mol}: {label} " + ", ".join(str(int(v)) for v in per_mol.loc[mol])
            + "".join(f", {RANK_METHOD_NAMES[k]} " + ", ".join(map(str, _per_seed(ranks, mol, k))) for k in signed)
            for mol in per_mol.index)
        rows.append(reproduction_row(
            "bayesgrad.tox21.srmmp.hindered_phenols",
            f"every phenol's O in the top {TOP_RANK} in {held} of {len(worst)} seeds (worst {label} rank per seed "
            f"{', '.join(map(str, worst))})", scale, f"rank per seed: {note}",
            per_seed=[{"seed": int(sd), "max_oxygen_rank": int(r)} for sd, r in worst.items()],
            median_max_oxygen_rank=float(worst.median())))
    return rows


def _rank_order(methods) -> list[str]:
    """The ranked methods in report order, then any other (a method a user added to the maps)."""
    methods = list(methods)
    return [k for k in RANK_METHOD_NAMES if k in methods] + [k for k in methods if k not in RANK_METHOD_NAMES]


def reproduction_rows(table: pd.DataFrame, wilcoxon: pd.DataFrame, full: dict, srmmp: dict, maps: list[dict],
                      completeness: pd.DataFrame, saturation: pd.DataFrame, dead: pd.DataFrame,
                      scale: str, ranks: pd.DataFrame | None = None, ablation: pd.DataFrame | None = None,
                      rules: pd.DataFrame | None = None) -> list[dict]:
    """``table``/``wilcoxon``: Table 1 under the reference code's extraction rule (the paper's scale);
    ``rules``: every rule (for the notes); ``ablation``: the ablation model's Wilcoxon table;
    ``ranks``: Fig. 3's oxygen rank per seed, molecule and method (``srmmp/ranks.csv``)."""
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
    rows += _map_rows(maps, scale, ranks)
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
