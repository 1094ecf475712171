"""The faithfulness leaderboard as the report shows it: the gathered tables of every experiment,
the statistics of :mod:`xairepro.evaluation.leaderboard`, the sanity check and the uncertainty
per cell, the checks of the checks (A/A, random last, randomisation lowers the methods, the bound's
coverage), and one display table (methods x experiments) with the reason wherever a cell is empty.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..evaluation.leaderboard import AA_SETTINGS, ROPE, aa_check, bound_coverage, leaderboard
from ..evaluation.sanity import SANITY_THRESHOLD
from ..evaluation.verdicts import GROUP, randomisation_lowers, sanity_verdicts

__all__ = ["TABLES", "aa_table", "assemble", "display_table", "read_tables", "sanity_cells", "uncertainty_cells"]

KINDS = ("per_example", "skipped", "sanity", "uncertainty", "cost", "data_randomisation", "bounds")
#: The tables :func:`assemble` returns, one CSV each under results/leaderboard/.
TABLES = ("cells", "operator_cells", "tests", "mean_ranks", "verdicts", "skipped", "display", "friedman", "posthoc",
          "cd_ranks", "agreement", "consensus", "random_last", "randomisation", "coverage", "aa")
SKIPPED = ["experiment", "modality", "unit", "model", "replicate", "method", "reason"]


def read_tables(paths: Mapping[str, Sequence[str]]) -> dict[str, pd.DataFrame]:
    """``{kind: concatenated CSVs}`` for each kind of :data:`KINDS` (an empty frame where none)."""
    out = {}
    for kind in KINDS:
        frames = [pd.read_csv(p) for p in paths.get(kind, [])]
        frames = [f for f in frames if len(f.columns)]
        out[kind] = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return out


def sanity_cells(sanity: pd.DataFrame) -> pd.DataFrame:
    """Per (experiment, model, method): the mean Spearman correlation between the trained and the fully
    randomised model's unit scores, and its verdict (:func:`~xairepro.evaluation.verdicts.sanity_verdicts`)
    as ``pass`` or ``fail``."""
    if sanity.empty:
        return pd.DataFrame(columns=["experiment", "model", "method", "sanity_rho", "sanity"])
    rows = sanity_verdicts(sanity)
    cells = rows.groupby(list(GROUP), as_index=False).agg(sanity_rho=("verdict_rho", "first"), passes=("passes", "first"))
    cells["sanity"] = np.where(cells.pop("passes"), "pass", "fail")
    return cells


def uncertainty_cells(unc: pd.DataFrame) -> pd.DataFrame:
    """Per (experiment, model, method): the mean over examples of the rank correlation between a unit's
    spread over the samples and the score change when it alone is removed."""
    if unc.empty:
        return pd.DataFrame(columns=["experiment", "model", "method", "uncertainty_rho", "uncertainty_n"])
    return (unc.groupby(["experiment", "model", "method"])["spearman_sd_vs_drop"]
            .agg(uncertainty_rho="mean", uncertainty_n="count").reset_index())


def aa_table(*, seed: int = 0, rope: float = ROPE) -> pd.DataFrame:
    """The A/A check (:func:`~xairepro.evaluation.leaderboard.aa_check`) at each of its settings."""
    return pd.DataFrame([aa_check(m, n, seed=seed, rope=rope) for m, n in AA_SETTINGS])


def assemble(tables: Mapping[str, pd.DataFrame], *, n_boot: int = 1000, seed: int = 0, rope: float = ROPE,
             headline: Mapping[str, str] | None = None, aa: bool = True) -> dict[str, pd.DataFrame]:
    """Every leaderboard table of :data:`TABLES`: cells (the headline operator's: score, interval, rank,
    model, sanity, uncertainty, seconds), every operator's cells, tests, mean ranks, verdicts, skipped,
    the display table, the Friedman test and its post-hoc comparisons with the critical-difference
    ranks, the metric agreement, the checks of the checks (``aa`` only when asked: a simulation) and
    the bound's coverage."""
    rows = tables["per_example"]
    out = leaderboard(rows, n_boot=n_boot, seed=seed, rope=rope, headline=headline)
    out.pop("draws")
    out["randomisation"] = randomisation_lowers(tables["sanity"], rows)
    out["coverage"] = bound_coverage(tables.get("bounds", pd.DataFrame()))
    out["aa"] = aa_table(seed=seed, rope=rope) if aa else pd.DataFrame()
    cells = out["cells"]
    keys = ["experiment", "model", "method"]
    cells = cells.merge(sanity_cells(tables["sanity"]), on=keys, how="left")
    cells = cells.merge(uncertainty_cells(tables["uncertainty"]), on=keys, how="left")
    data_rand = tables.get("data_randomisation", pd.DataFrame())
    if not data_rand.empty:
        per = data_rand.groupby(keys, as_index=False)["spearman"].mean().rename(columns={"spearman": "data_rand_rho"})
        per["data_randomisation"] = np.where(per["data_rand_rho"] < SANITY_THRESHOLD, "pass", "fail")
        cells = cells.merge(per, on=keys, how="left")
    cost = tables["cost"]
    if not cost.empty:
        # the explanation's seconds once per trained model (every operator's cost row repeats them), summed
        # over the models; the curves' seconds per operator
        once = cost.drop_duplicates([*keys, "replicate"]) if "replicate" in cost else cost
        cells = cells.merge(once.groupby(keys, as_index=False)["seconds"].sum(), on=keys, how="left")
        if "curve_seconds" in cost and "operator" in cost and "operator" in cells:
            curve = cost.groupby([*keys, "operator"], as_index=False)["curve_seconds"].sum()
            cells = cells.merge(curve, on=[*keys, "operator"], how="left")
    else:
        cells["seconds"] = np.nan
    out["cells"] = cells
    out["skipped"] = tables["skipped"] if len(tables["skipped"].columns) else pd.DataFrame(columns=SKIPPED)
    out["display"] = display_table(cells, tables["skipped"], rows)
    return out


def _cell_text(c) -> str:
    text = f"{c['score']:.2f} [{c['score_lo']:.2f}, {c['score_hi']:.2f}] #{int(c['rank'])}"
    if isinstance(c.get("sanity"), str):
        text += " ✓" if c["sanity"] == "pass" else " ✗"
    seconds = c.get("seconds")
    if seconds is not None and np.isfinite(seconds):
        text += f" ({seconds:.3g} s)"
    return text


def display_table(cells: pd.DataFrame, skipped: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """Methods (rows) x experiments (columns): 'score [lo, hi] #rank ✓/✗ (seconds)' (✓ passes the sanity
    check; seconds: the method's compute time over the cell's examples and replicates, from the suite's
    cost table), or why the cell is empty."""
    experiments = list(dict.fromkeys(rows["experiment"])) if len(rows) else []
    methods = list(dict.fromkeys(list(rows.get("method", [])) + list(skipped.get("method", []))))
    table = pd.DataFrame(index=methods, columns=experiments, dtype=object)
    for _, c in cells.iterrows():
        table.loc[c["method"], c["experiment"]] = _cell_text(c)
    for _, s in skipped.iterrows() if len(skipped) else []:
        if s["experiment"] in table.columns and pd.isna(table.loc[s["method"], s["experiment"]]):
            table.loc[s["method"], s["experiment"]] = f"n/a: {s['reason']}"
    return table.fillna("not measured").rename_axis("method").reset_index()
