"""SMILES2vec rows of the reproduction table.

The model's test RMSE is one model. The masked RMSE and the top-3 accuracy are rows over mask seeds
(the seeds table of :func:`~.seeds.seeds_table`; ``per_seed``: one dict of the measure the target
checks per seed; ``ours``: how many seeds hold, the median and the range): the masked RMSE on the
mask fitted to the labels (the prediction-fitted figure in the note), the top-3 accuracy on the
mask fitted to the prediction (the labels-fitted and the random-order figures, and the other
methods of the explanation study, in the note).
"""
from __future__ import annotations

from typing import Sequence

import pandas as pd

from ...report.targets import reproduction_row, seed_summary
from .seeds import MASK_METHOD
from .targets import TARGETS

__all__ = ["MASK_METHOD", "reproduction_rows", "seed_row"]

_BY_ID = {t.id: t for t in TARGETS}


def _spread(values, fmt: str) -> str:
    s = seed_summary(list(values))
    if not s["n"]:
        return "no seeds"
    return f"median {fmt.format(s['median'])} ({fmt.format(s['min'])}-{fmt.format(s['max'])}, {s['n']} seeds)"


def seed_row(target_id: str, values: Sequence[float], seeds: Sequence[int], measure: str, scale: str, note: str,
             fmt: str = "{:.3f}") -> dict:
    """One over-seeds row: per seed ``{measure: value, "seed": seed}``; ``ours`` says how many seeds
    hold the claim, with the median and the range of the measure."""
    per_seed = [{"seed": int(s), measure: float(v)} for s, v in zip(seeds, values)]
    k, n = _BY_ID[target_id].seed_counts({"per_seed": per_seed})
    summary = seed_summary([float(v) for v in values])
    ours = (f"holds in {k}/{n} seeds; median {fmt.format(summary['median'])} "
            f"({fmt.format(summary['min'])}-{fmt.format(summary['max'])}, IQR {fmt.format(summary['iqr'])})")
    extra = {f"{measure}_{key}": summary[key] for key in ("median", "min", "max", "iqr")}
    return reproduction_row(target_id, ours, scale, note, per_seed=per_seed, fraction=k / n, n_seeds=n, **extra)


def _target(seeds: pd.DataFrame, target: str) -> pd.DataFrame:
    part = seeds[seeds["target"] == target].sort_values("seed")
    if part.empty:
        raise ValueError(f"smiles2vec: the mask seeds table has no {target!r} rows (targets: "
                         f"{sorted(set(seeds['target']))}); smiles2vec.mask.targets must name it")
    return part


def reproduction_rows(random_metrics: dict, scaffold_metrics: dict, seeds: pd.DataFrame, top3: pd.DataFrame,
                      scale: str, method: str = MASK_METHOD) -> list[dict]:
    """The three rows. ``seeds``: the mask seeds table; ``top3``: the explanation study's top-3
    summary (its methods other than ``method`` are context in the top-3 note)."""
    rmse = float(random_metrics["test_rmse"])
    labels, prediction = _target(seeds, "labels"), _target(seeds, "prediction")
    t3 = top3.set_index("method")
    if method not in t3.index:
        raise ValueError(f"smiles2vec: the top-3 summary has no row for {method!r} (methods: {list(t3.index)}); "
                         "smiles2vec.attribution.methods must name it")
    context = ", ".join(f"{m} {t3.loc[m, 'top3_accuracy']:.0%}" for m in t3.index if m != method)
    return [
        reproduction_row("masks.esol_smiles2vec.rmse", rmse, scale,
                         f"{random_metrics['n_test']} test molecules; scaffold split test RMSE "
                         f"{float(scaffold_metrics['test_rmse']):.3f} (no paper number)", value=rmse),
        seed_row("masks.esol_smiles2vec.masked_rmse", labels["test_masked_rmse"], labels["seed"], "masked_rmse", scale,
                 f"mask fitted to the labels, one frozen model (unmasked test RMSE "
                 f"{float(labels['test_rmse'].iloc[0]):.3f}); mask fitted to the model's prediction: "
                 f"{_spread(prediction['test_masked_rmse'], '{:.3f}')}"),
        seed_row("masks.esol_smiles2vec.top3_accuracy", prediction["top3_accuracy"], prediction["seed"],
                 "top3_accuracy", scale,
                 f"mask fitted to the model's prediction, {int(prediction['n_top3'].iloc[0])} soluble or insoluble "
                 f"molecules; random order on the same molecules and seeds: "
                 f"{_spread(prediction['random_top3_accuracy'], '{:.1%}')}; mask fitted to the labels: "
                 f"{_spread(labels['top3_accuracy'], '{:.1%}')}; seed-0 explanation study: {method} "
                 f"{t3.loc[method, 'top3_accuracy']:.0%}, {context}", fmt="{:.1%}"),
    ]
