"""SMILES2vec's Table 1, part 2: the reliance check, the localisation scores and Table 1's statistics
(the pyridine task and its data: :mod:`.pyridine`).

* **Reliance check** per model (:func:`reliance_check`, :func:`reliance_table`): accuracy and the mean
  pyridine-class probability on the validation pyridine molecules as they are (``present``), the
  same molecules with the evidence removed (``removed``: the benzene analogue, label negative;
  molecules without an analogue are left out of both) and the validation molecules without pyridine
  (``absent``). A model *relies* on the evidence (:func:`relies`) when removal lowers the mean
  pyridine probability by at least ``min_drop`` and it calls most present molecules pyridine.
* **Filter**: only models that rely are scored, and only on the molecules whose prediction depends on
  the evidence (:func:`depends`: called pyridine as they are, not pyridine without the ring
  nitrogen); beside it every model on every validation pyridine molecule that fits (``all``), as the
  GGNN's Table 1 scores.
* **Scores** (:func:`localisation_study`): every configured method, a user's own included, explains
  the pre-sigmoid score with the smiles2vec Explainer (:func:`~.settings.explainer`: attributions at
  the character embedding, zero baseline, read with the section's aggregation, Table 1's ``square``,
  and summed over the embedding channels); :func:`xairepro.evaluation.localisation.localisation_table`
  gives Table 1's PRC-AUC (reference extraction rule), the relevance mass and the pointing game over
  the molecule's characters.
* **Table 1** (:func:`table1`, :func:`wilcoxon_table`): mean and sd over models per method, and
  BayesGrad's gain over every other method with the paired Wilcoxon test over models;
  :func:`beside_ggnn` puts it beside the GGNN's gathered Table 1.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from ...context import RunContext
from ...evaluation.stats import paired_wilcoxon
from ..explainer import NotApplicable, applicable
from .faithfulness import MODALITY
from .pyridine import TASK, PyridineStrings, pyridine_probabilities
from .settings import CHARACTER, explainer, unit

__all__ = ["CONDITIONS", "LABELS", "REFERENCE_METHOD", "RELIANCE_COLUMNS", "beside_ggnn", "character_unit_scores",
           "depends", "localisation_study", "model_table", "molecule_probabilities", "ranking_bounds", "reliance_check",
           "reliance_table", "relies",
           "table1", "wilcoxon_table"]

#: the reliance check's conditions: evidence present, removed (benzene analogue), absent (no pyridine)
CONDITIONS = ("present", "removed", "absent")
RELIANCE_COLUMNS = ["task", "modality", "model", "replicate", "condition", "n_examples", "accuracy",
                    "evidence_class_prob", "relies"]
#: the labels before the localisation table's columns (:mod:`xairepro.evaluation.localisation`)
LABELS = ["task", "modality", "unit", "model", "replicate"]
#: BayesGrad, the method the paper's Wilcoxon tests compare with every other
REFERENCE_METHOD = "bayesgrad"


# --------------------------------------------------------------------------- reliance
def molecule_probabilities(model, data: PyridineStrings, device) -> pd.DataFrame:
    """One row per evaluation molecule: its position, SMILES, ``removable``, the pyridine
    probability as it is (``p_present``) and without the evidence (``p_removed``, NaN where there is no
    analogue) and whether its prediction ``depends`` on the evidence."""
    p_present = pyridine_probabilities(model, data.tokens[data.evaluation], device)
    p_removed = np.full(len(data.evaluation), np.nan)
    p_removed[data.removable] = pyridine_probabilities(model, data.removed_tokens[data.removable], device)
    return pd.DataFrame({"molecule": data.evaluation.astype(int), "smiles": [data.smiles[i] for i in data.evaluation],
                         "removable": data.removable, "p_present": p_present, "p_removed": p_removed,
                         "depends": depends(p_present, p_removed)})


def depends(p_present, p_removed) -> np.ndarray:
    """Molecules whose prediction depends on the evidence: called pyridine as they are (p >= 0.5)
    and not without it (p < 0.5); a molecule without an analogue (NaN) does not."""
    p_present, p_removed = np.asarray(p_present, float), np.asarray(p_removed, float)
    return (p_present >= 0.5) & (p_removed < 0.5)


def reliance_table(molecules: pd.DataFrame, p_absent: np.ndarray, *, model: str, replicate: int,
                   min_drop: float) -> pd.DataFrame:
    """The reliance check of one model (:data:`RELIANCE_COLUMNS`): per condition the number of
    molecules, the accuracy (present: called pyridine; removed and absent: called not pyridine) and
    the mean pyridine probability; present and removed on the same molecules (those with an
    analogue). ``relies`` (the model's verdict, on every row): :func:`relies`."""
    both = molecules[molecules["removable"].astype(bool)]
    p = {"present": both["p_present"].to_numpy(float), "removed": both["p_removed"].to_numpy(float),
         "absent": np.asarray(p_absent, float)}
    rows = []
    for condition in CONDITIONS:
        v = p[condition]
        acc = float(np.mean(v >= 0.5 if condition == "present" else v < 0.5)) if len(v) else float("nan")
        rows.append({"task": TASK, "modality": MODALITY, "model": model, "replicate": int(replicate),
                     "condition": condition, "n_examples": int(len(v)), "accuracy": acc,
                     "evidence_class_prob": float(v.mean()) if len(v) else float("nan")})
    table = pd.DataFrame(rows)
    table["relies"] = relies(table, min_drop)
    return table[RELIANCE_COLUMNS]


def reliance_check(model, data: PyridineStrings, *, model_name: str, replicate: int, min_drop: float,
                   device) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reliance check of ``model``: (:func:`molecule_probabilities`, :func:`reliance_table`),
    ``absent`` being the validation molecules without pyridine that fit."""
    molecules = molecule_probabilities(model, data, device)
    val = data.validation()
    p_absent = pyridine_probabilities(model, data.tokens[val[data.y[val] == 0]], device)
    return molecules, reliance_table(molecules, p_absent, model=model_name, replicate=replicate, min_drop=min_drop)


def relies(table: pd.DataFrame, min_drop: float) -> bool:
    """A model relies on the evidence when removing it lowers the mean pyridine probability by at
    least ``min_drop`` (towards chance and the negative class) and it calls most present molecules
    pyridine (accuracy above 0.5)."""
    by = table.set_index("condition")
    present, removed = by.loc["present"], by.loc["removed"]
    if not (present["n_examples"] and removed["n_examples"]):
        return False
    drop = float(present["evidence_class_prob"]) - float(removed["evidence_class_prob"])
    return bool(drop >= float(min_drop) and float(present["accuracy"]) > 0.5)


def model_table(metrics: Sequence[Mapping], reliance: pd.DataFrame, depends: pd.DataFrame) -> pd.DataFrame:
    """One row per trained model: its training ``metrics`` (one mapping per model, keyed by ``subset``),
    its reliance verdict (``relies``, from the gathered reliance tables) and ``n_scored``, the filter's
    count: the molecules scored for it (those whose call flips without the evidence; 0 where the model
    does not rely on it and so is not scored)."""
    models = pd.DataFrame(list(metrics))
    verdicts = reliance.drop_duplicates("replicate")[["replicate", "relies"]]
    models = models.merge(verdicts, left_on="subset", right_on="replicate", how="left").drop(columns="replicate")
    scored = depends.groupby("replicate")["n_examples"].first() if len(depends) else pd.Series(dtype=int)
    models["n_scored"] = [int(scored.get(k, 0)) for k in models["subset"]]
    return models


# --------------------------------------------------------------------------- localisation
def character_unit_scores(results: Mapping, data: PyridineStrings, idx, readings: Mapping[str, str]) -> dict:
    """``{method: [per-character scores of each molecule]}`` of the methods that applied: each
    method's attribution read with its aggregation and summed over the embedding channels, at the
    molecule's characters in string order (:func:`~.settings.unit`)."""
    character = unit(data.pad_id)
    examples = [torch.as_tensor(data.tokens[i]) for i in idx]
    return {name: [np.asarray(u, float) for u in explanation.units(character, examples, readings[name])]
            for name, explanation in applicable(results).items()}


def localisation_study(model, data: PyridineStrings, molecules: pd.DataFrame, cfg: Mapping, *, ctx: RunContext,
                       model_name: str, replicate: int, scored: bool) -> dict:
    """Explain every evaluation molecule with every method of ``cfg`` (the section's
    :func:`~.settings.explainer`) and score the character scores against the evidence.

    ``molecules``: :func:`molecule_probabilities`. ``scored``: the model relies on the evidence.
    Returns ``depends`` (the localisation table on the molecules whose prediction depends on the
    evidence; empty when the model does not rely or none depends), ``all`` (on every evaluation
    molecule), ``skipped`` (methods that did not apply, with the reason)."""
    # RDKit (through the PRC-AUC's module) only in the job that scores
    from ...evaluation.ground_truth import REFERENCE_RULE
    from ...evaluation.localisation import LOCALISATION_COLUMNS, localisation_table

    model = model.to(ctx.torch_device).eval()
    explain = explainer(model, cfg, ctx=ctx)
    idx = np.asarray(data.evaluation, dtype=int)
    results = explain.explain(torch.as_tensor(data.tokens[idx]))
    scores = character_unit_scores(results, data, idx, explain.readings())
    for name, per in scores.items():
        lengths = [len(s) for s in per]
        want = [len(data.smiles[i]) for i in idx]
        if lengths != want:
            raise AssertionError(f"{name}: character scores do not cover the SMILES strings")
    labels = {"task": TASK, "modality": MODALITY, "unit": CHARACTER, "model": model_name, "replicate": int(replicate)}

    def table(keep: np.ndarray) -> pd.DataFrame:
        if not keep.any() or not scores:
            return pd.DataFrame(columns=LABELS + LOCALISATION_COLUMNS)
        t = localisation_table({m: [s[r] for r in np.flatnonzero(keep)] for m, s in scores.items()},
                               [data.evidence[r] for r in np.flatnonzero(keep)], rule=REFERENCE_RULE)
        for k, v in reversed(labels.items()):
            t.insert(0, k, v)
        return t

    dep = molecules["depends"].to_numpy(bool) & bool(scored)
    skipped = pd.DataFrame([{"method": r.method, "reason": r.reason} for r in results.values()
                            if isinstance(r, NotApplicable)], columns=["method", "reason"])
    return {"depends": table(dep), "all": table(np.ones(len(idx), dtype=bool)), "skipped": skipped}


def ranking_bounds(data: PyridineStrings, seed: int, n_rankings: int = 20) -> pd.DataFrame:
    """The PRC-AUC's range on every evaluation molecule (reference extraction rule), over its
    characters (SMILES2vec's units) and over its atoms (the GGNN's): a perfect ranking (the evidence
    first, in string or atom order), the reversed one, and the mean and sd over ``n_rankings``
    uniformly random rankings (seeded). The curve is not anchored at recall 0, so even the perfect
    ranking scores well below 1, and a string has more units than its molecule has atoms: these rows
    put the two representations' PRC-AUC on one scale."""
    from rdkit import Chem

    from ...evaluation.ground_truth import REFERENCE_RULE, pyridine_atoms, substructure_prc_auc

    smiles = [data.smiles[i] for i in data.evaluation]
    units = {"character": ([len(s) for s in smiles], [list(e) for e in data.evidence]),
             "atom": ([Chem.MolFromSmiles(s).GetNumAtoms() for s in smiles], [pyridine_atoms(s) for s in smiles])}
    rows = []
    for unit_name, (lengths, truth) in units.items():
        perfect = [np.isin(np.arange(n), t).astype(float) for n, t in zip(lengths, truth)]
        rng = np.random.default_rng(seed)
        randoms = [substructure_prc_auc([rng.random(n) for n in lengths], truth, rule=REFERENCE_RULE)["prc_auc"]
                   for _ in range(int(n_rankings))]
        rows.append({"unit": unit_name, "n_molecules": len(lengths), "mean_units": float(np.mean(lengths)),
                     "perfect": substructure_prc_auc(perfect, truth, rule=REFERENCE_RULE)["prc_auc"],
                     "reversed": substructure_prc_auc([-p for p in perfect], truth, rule=REFERENCE_RULE)["prc_auc"],
                     "random": float(np.mean(randoms)), "random_sd": float(np.std(randoms))})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- Table 1
def _ordered(methods) -> list[str]:
    """Each method once, in the order it first appears (the config's order)."""
    return list(dict.fromkeys(methods))


def table1(loc: pd.DataFrame, metrics: Sequence[str] = ("prc_auc", "mass", "pointing")) -> pd.DataFrame:
    """Mean and sd (``ddof=0``, as the GGNN's Table 1) over models of each method's scores, one row
    per method (``molecules`` kept as a column when ``loc`` has it)."""
    group = ["molecules"] if "molecules" in loc else []
    rows = []
    for keys, sub in (loc.groupby(group, sort=False) if group else [((), loc)]):
        keys = keys if isinstance(keys, tuple) else (keys,)
        for method in _ordered(sub["method"]):
            part = sub[sub["method"] == method]
            row = dict(zip(group, keys), method=method, n_models=int(part["replicate"].nunique()),
                       n_examples=int(part["n_examples"].sum()))
            for m in metrics:
                v = part[m].to_numpy(float)
                row[f"{m}_mean"] = float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")
                row[f"{m}_sd"] = float(np.nanstd(v)) if np.isfinite(v).any() else float("nan")
            rows.append(row)
    return pd.DataFrame(rows)


def wilcoxon_table(loc: pd.DataFrame, reference: str = REFERENCE_METHOD,
                   metrics: Sequence[str] = ("prc_auc", "mass", "pointing")) -> pd.DataFrame:
    """BayesGrad (``reference``) against every other method: the paired Wilcoxon signed-rank test
    over models (:func:`~xairepro.evaluation.stats.paired_wilcoxon`; one score per model and method)
    of each metric, per ``molecules`` set when ``loc`` has it. Fewer than two models sharing both
    methods: no row."""
    group = ["molecules"] if "molecules" in loc else []
    rows = []
    for keys, sub in (loc.groupby(group, sort=False) if group else [((), loc)]):
        keys = keys if isinstance(keys, tuple) else (keys,)
        for metric in metrics:
            wide = sub.pivot_table(index="replicate", columns="method", values=metric)
            if reference not in wide:
                continue
            for other in _ordered(wide.columns):
                if other == reference:
                    continue
                pair = wide[[reference, other]].dropna()
                if len(pair) < 2:
                    continue
                res = paired_wilcoxon(pair[reference].to_numpy(), pair[other].to_numpy())
                rows.append({**dict(zip(group, keys)), "metric": metric, "method": reference, "versus": other, **res})
    return pd.DataFrame(rows)


def beside_ggnn(s2v_table: pd.DataFrame, s2v_wilcoxon: pd.DataFrame, ggnn_table: pd.DataFrame,
                ggnn_wilcoxon: pd.DataFrame) -> pd.DataFrame:
    """Table 1 of both representations, one row per method of the GGNN's Table 1 or of this one:
    the GGNN's PRC-AUC mean, sd and models, then SMILES2vec's on the molecules whose prediction
    depends on the evidence (``smiles2vec_*``) and on every validation pyridine molecule
    (``smiles2vec_all_*``), and BayesGrad's gain over the method with the Wilcoxon p over models of
    each (``*_gain``, ``*_p``; NaN for BayesGrad itself and where too few models)."""
    def part(molecules: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        t = s2v_table[s2v_table["molecules"] == molecules].set_index("method") if len(s2v_table) else pd.DataFrame()
        w = (s2v_wilcoxon[(s2v_wilcoxon["molecules"] == molecules) & (s2v_wilcoxon["metric"] == "prc_auc")]
             .set_index("versus") if len(s2v_wilcoxon) else pd.DataFrame())
        return t, w

    g_t, g_w = ggnn_table.set_index("method"), ggnn_wilcoxon.set_index("versus")
    parts = {"smiles2vec": part("depends"), "smiles2vec_all": part("all")}
    methods = _ordered(list(g_t.index) + [m for t, _ in parts.values() for m in t.index])
    nan = float("nan")
    rows = []
    for m in methods:
        row = {"method": m, "ggnn_mean": g_t["mean"].get(m, nan), "ggnn_sd": g_t["sd"].get(m, nan),
               "ggnn_n_models": g_t["n_models"].get(m, 0),
               "ggnn_gain": g_w["mean_diff"].get(m, nan) if len(g_w) else nan,
               "ggnn_p": g_w["pvalue"].get(m, nan) if len(g_w) else nan}
        for name, (t, w) in parts.items():
            have = len(t) and m in t.index
            row[f"{name}_mean"] = float(t.loc[m, "prc_auc_mean"]) if have else nan
            row[f"{name}_sd"] = float(t.loc[m, "prc_auc_sd"]) if have else nan
            row[f"{name}_n_models"] = int(t.loc[m, "n_models"]) if have else 0
            row[f"{name}_gain"] = float(w.loc[m, "mean_diff"]) if len(w) and m in w.index else nan
            row[f"{name}_p"] = float(w.loc[m, "pvalue"]) if len(w) and m in w.index else nan
        rows.append(row)
    return pd.DataFrame(rows)
