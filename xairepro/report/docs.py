"""Markdown pages of one run's numbers, written by the pipeline from the run's own files, never typed.

:func:`write_docs` reads a finished run (``results/``) and writes into ``docs/results/``:

- ``index.md``: the stamp, the pages, the targets per source by verdict, the run time per rule;
- ``reproduction.md``: every target of every source with the paper's value, ours, the seeds where the
  claim holds, the criterion and the verdict (``results/report/reproduction.csv``);
- ``leaderboard.md``: the faithfulness leaderboard, method x experiment, with the mean ranks and
  BayesGrad's comparisons (``results/leaderboard/*.csv``);
- ``<experiment>.md``: one page per experiment with results: its targets, its leaderboard cells and its
  key tables (:data:`EXPERIMENT_TABLES`).

Each page opens with the same :class:`Stamp` (the command, the git commit, the scale, the machine, the
dates), built by :func:`run_stamp` from what the report's provenance records. A table the run did not
write is listed as absent with its path, never filled in. The rule ``report_docs``
(``rules/docs.smk``) calls this; it is not part of ``rule all``.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import re
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .build import dashboard_counts, provenance, rule_runtimes

__all__ = ["EXPERIMENT_TABLES", "Stamp", "markdown_table", "run_stamp", "write_docs"]

#: Per experiment: its page title and its key tables, as (caption, path pattern under
#: ``results/<experiment>/``, columns to show or None for all[, a column: keep only the rows where it is
#: filled]). A pattern matching several files gives one table with a ``file`` column; a JSON file gives
#: its scalar entries (nested keys dotted).
EXPERIMENT_TABLES: dict[str, tuple[str, list[tuple]]] = {
    "esol": ("ESOL (BayesGrad section 4.3; saliency blog)", [
        ("Held-out metrics per model (the folds pooled)", "*/metrics.json", ["r", "mae", "rmse", "n"]),
        ("Mean attribution per atom environment (nfp, ggnn: BayesGrad; blog_ig: the saliency blog's GGNN "
         "with integrated gradients), the environments the paper's claim names",
         "*/environments.csv", ["environment", "method", "n_atoms", "mean", "sem", "expected_sign",
                                "sign_as_expected"], "expected_sign"),
        ("Faithfulness per model (deletion AOPC)", "*/faithfulness/summary.csv", "FAITHFULNESS"),
    ]),
    "tox21": ("Tox21 (BayesGrad sections 4.1 and 4.2; counterfactuals section 3.1)", [
        ("Table 1: PRC-AUC of the pyridine substructure per method, over the subset models",
         "pyridine/table1.csv", None),
        ("Table 1 under the three extraction rules", "pyridine/table1_rules.csv", None),
        ("Paired Wilcoxon tests between the methods", "pyridine/wilcoxon.csv", None),
        ("Noise sweep (SmoothGrad's sigma)", "pyridine/noise_sweep.csv", None),
        ("Ablation: the earlier GGNN update (`ggnn_embedding_state`), Table 1", "pyridine/ablation/table1.csv", None),
        ("Ablation: paired Wilcoxon tests", "pyridine/ablation/wilcoxon.csv", None),
        ("Full-data pyridine GGNN", "pyridine/full/metrics.json", None),
        ("SR-MMP (paper Fig. 3): rank of the oxygen per seed model", "srmmp/ranks.csv", None),
        ("SR-MMP: how often each claim holds", "srmmp/rank_counts.csv", None),
        ("Dead features: identical attributions of same-type atoms", "dead_features/summary.csv", None),
        ("Faithfulness (deletion AOPC)", "faithfulness/summary.csv", "FAITHFULNESS"),
    ]),
    "vision": ("CIFAR-10 (counterfactuals sections 2.1-2.5, explanatory masks 3.1, saliency blog)", [
        ("Classifiers", "models/*/metrics.json", ["arch", "n_parameters", "test_accuracy", "n_train", "n_test",
                                                  "epochs", "source", "device", "torch_threads", "train_seconds"]),
        ("Counterfactuals: saturation, completeness, gradients by alpha, intermediate-layer saturation per block",
         "counterfactuals/summary.json", None),
        ("Explanation masks, per mask seed", "mask/seed*/metrics.json", None),
        ("Pixel-ablation AOPC: statistics", "aopc/stats.json", None),
        ("Pixel-ablation AOPC per method", "aopc/summary.csv", "FAITHFULNESS"),
    ]),
    "text": ("IMDB (explanatory masks section 3.2; counterfactuals section 3.2)", [
        ("Classifier", "*/metrics.json", ["test_accuracy", "n_test", "n_train", "epochs", "hidden", "max_len", "glove",
                                          "device", "train_seconds"]),
        ("Word attributions: completeness of integrated gradients and the cost per method",
         "*/attribution/summary.json", None),
        ("Explanation masks, per reading and mask seed", "*/mask/seeds.csv", None),
        ("Top words of the masks", "*/mask/top_words.csv", None),
        ("Agreement of the mask seeds' top words (Jaccard)", "*/mask/jaccard.csv", None),
        ("Faithfulness (deletion AOPC)", "*/faithfulness/summary.csv", "FAITHFULNESS"),
    ]),
    "smiles2vec": ("SMILES2vec on ESOL (explanatory masks section 3.3)", [
        ("Models per split, and the mask", "*/metrics.json", None),
        ("Explanation masks, per fitting target and mask seed", "mask/seeds.csv", None),
        ("Top-3 check (soluble and insoluble molecules)", "explain/top3_summary.csv", None),
        ("Faithfulness (deletion AOPC)", "faithfulness/summary.csv", "FAITHFULNESS"),
        ("Table 1 on SMILES strings (the pyridine models): per model, its reliance verdict and the molecules "
         "scored", "pyridine/models.csv", None),
        ("Table 1 on SMILES strings beside the GGNN's (same subsets, seeds and molecules)",
         "pyridine/beside_ggnn.csv", None),
    ]),
    "peptides": ("Hemolytic peptides (dmol.pub interpretability chapter)", [
        ("Models, per architecture and seed", "models/*/seed*/metrics.json", None),
        ("Seed 0: Shapley sum, counterfactuals", "explain.json", None),
        ("Single-substitution counterfactuals that flip (seed 0)", "counterfactuals.csv", None),
        ("Faithfulness (deletion AOPC)", "faithfulness/summary.csv", "FAITHFULNESS"),
    ]),
    "groundtruth": ("Table 1 in every modality (known-answer tasks)", [
        ("Per method and task: PRC-AUC (Table 1's rule), relevance mass and pointing game, mean and sd over "
         "the models that pass the reliance check", "summary.csv", None),
        ("BayesGrad against the other methods per task, over models (paired t-test below 6 models, Wilcoxon from 6)", "comparisons.csv", None),
        ("The reliance check per model: accuracy towards the evidence's class with the evidence present, "
         "removed and swapped", "reliance.csv", None),
        ("Verdict per model (only models that rely on the evidence are scored)", "verdicts.csv", None),
    ]),
    "iris": ("Iris (chainer-chemistry saliency blog)", [
        ("Classifier", "metrics.json", None),
        ("Feature ranking per method against the random forest", "agreement.csv", None),
        ("Mean importance per feature and method", "importance.csv", None),
        ("Data-randomisation test (the model retrained on permuted labels)", "data_randomisation/summary.csv", None),
        ("Faithfulness (deletion AOPC)", "faithfulness/summary.csv", "FAITHFULNESS"),
    ]),
}
#: Pages without reproduction targets or leaderboard cells of their own (their tables only): the
#: known-answer tasks, whose localisation column the leaderboard page shows
WITHOUT_TARGETS = ("groundtruth",)
#: The columns shown of a faithfulness summary (every other column stays in the CSV).
FAITHFULNESS_COLUMNS = ["model", "replicate", "operator", "method", "rank", "deletion_aopc", "deletion_aopc_sem",
                        "lerf_aopc", "srg", "insertion_auc", "n_examples", "p_vs_random"]
MAX_ROWS = 60
MAX_COLUMNS = 14
REPRODUCTION_COLUMNS = ["id", "verdict", "paper", "ours", "seeds", "holding_rate", "criterion", "scale", "note"]


@dataclass(frozen=True)
class Stamp:
    """What made the numbers of a page: the command, the git commit, the scale, the machine, and the
    dates (``date``: when the page was written; ``results_date``: when the report's table was)."""

    command: str
    commit: str
    scale: str
    machine: str
    date: str
    results_date: str = ""
    rerun: str = "`snakemake report_docs --cores 1` with the run's --config"   # what writes the page again

    def markdown(self) -> str:
        lines = ["> Written by the pipeline from its own results; do not edit by hand (rerun "
                 f"{self.rerun} instead).", ">",
                 f"> - command: `{self.command}`", f"> - git commit: `{self.commit}`",
                 f"> - scale: **{self.scale}**", f"> - machine: {self.machine}",
                 f"> - date: {self.date}" + (f" (results of {self.results_date})" if self.results_date else "")]
        return "\n".join(lines)


def _utc(ts: float | None = None) -> str:
    t = _dt.datetime.now(_dt.timezone.utc) if ts is None else _dt.datetime.fromtimestamp(ts, _dt.timezone.utc)
    return t.strftime("%Y-%m-%d %H:%M UTC")


def _report_commit(results_dir: Path) -> str | None:
    """The git commit the report recorded (``results/report/index.html``), if there is one."""
    page = results_dir / "report" / "index.html"
    if not page.exists():
        return None
    m = re.search(r"git commit: <code>(.*?)</code>", page.read_text(encoding="utf-8", errors="replace"))
    return m.group(1) if m else None


def run_stamp(results_dir, *, config: dict, command: str, workdir=".", threads: Sequence[int] = ()) -> Stamp:
    """The stamp of a run: the scale from ``config``, the commit the report recorded (or the working
    tree's), the machine from :func:`xairepro.report.build.provenance`, the dates."""
    results_dir = Path(results_dir)
    prov = provenance(config, [], results_dir / "benchmarks", workdir, threads)
    now_commit = prov["git_commit"]
    commit = _report_commit(results_dir) or now_commit
    if commit != now_commit:
        commit += f"; pages written at {now_commit}"
    torch_threads = ", ".join(str(t) for t in sorted(set(threads))) or "unknown"
    machine = (f"{prov['platform']}, {os.cpu_count()} CPUs, python {prov['python']}, torch "
               f"{prov['packages'].get('torch')}, torch threads per job: {torch_threads}, accelerator: {prov['accelerator']}")
    table = results_dir / "report" / "reproduction.csv"
    return Stamp(command=command, commit=commit, scale=str(config.get("scale", "unknown")), machine=machine,
                 date=_utc(), results_date=_utc(table.stat().st_mtime) if table.exists() else "")


# --- Markdown -------------------------------------------------------------------------------------

def _cell(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return str(value).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def markdown_table(df: pd.DataFrame, *, max_rows: int | None = None, source: str = "") -> str:
    """``df`` as a GitHub Markdown table (floats to 4 significant digits, ``|`` escaped); beyond
    ``max_rows`` rows, a line saying how many rows are left out and where the whole table is."""
    if df.empty:
        return "(no rows)"
    shown = df if max_rows is None or len(df) <= max_rows else df.head(max_rows)
    cols = [str(c) for c in shown.columns]
    lines = ["| " + " | ".join(_cell(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in shown.itertuples(index=False)]
    if len(shown) < len(df):
        lines.append(f"\nFirst {len(shown)} of {len(df)} rows" + (f"; the whole table: `{source}`." if source else "."))
    return "\n".join(lines)


def _flatten(obj, prefix: str = "") -> dict:
    """Scalar entries of a JSON object, nested keys dotted; short lists of scalars joined."""
    out = {}
    items = obj.items() if isinstance(obj, dict) else [("value", obj)]
    for key, value in items:
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        elif isinstance(value, list):
            if len(value) <= 10 and all(not isinstance(v, (dict, list)) for v in value):
                out[name] = ", ".join(_cell(v) for v in value)
            else:
                out[name] = f"[{len(value)} values]"
        else:
            out[name] = value
    return out


def _read_table(paths: list[Path], base: Path, columns, nonempty: str | None = None) -> pd.DataFrame:
    """One table from the matched files: CSVs concatenated, JSON objects one row each (a single JSON
    file: one row per entry); a ``file`` column where several files matched."""
    frames = []
    for path in paths:
        if path.suffix == ".json":
            frame = pd.DataFrame([_flatten(json.loads(path.read_text()))])
        else:
            try:
                frame = pd.read_csv(path)
            except pd.errors.EmptyDataError:
                frame = pd.DataFrame()
        if len(paths) > 1:
            frame.insert(0, "file", str(path.parent.relative_to(base)) if path.suffix == ".json"
                         else str(path.relative_to(base)))
        frames.append(frame)
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if nonempty and nonempty in df.columns:
        df = df[df[nonempty].notna() & (df[nonempty].astype(str) != "")]
    if columns:
        keep = [c for c in ["file", *columns] if c in df.columns]
        df = df[keep]
    if len(paths) == 1 and paths[0].suffix == ".json" and len(df):
        df = pd.DataFrame({"entry": list(df.columns), "value": list(df.iloc[0])})
    return df


def _absent(path: str) -> str:
    return (f"*Absent in this run:* `{path}` was not written (not measured at this scale or by this version, "
            "or the run stopped before it).")


# --- pages -----------------------------------------------------------------------------------------

def _reproduction(results_dir: Path) -> pd.DataFrame | None:
    path = results_dir / "report" / "reproduction.csv"
    return pd.read_csv(path, keep_default_na=False, dtype=str) if path.exists() else None


def _counts_md(table: pd.DataFrame) -> str:
    counts = dashboard_counts(table)
    counts.loc["all"] = counts.sum()
    return markdown_table(counts.reset_index().rename(columns={"index": "source"}))


def _reproduction_rows_md(table: pd.DataFrame) -> str:
    cols = [c for c in REPRODUCTION_COLUMNS if c in table.columns]
    return markdown_table(table[cols].assign(id=lambda d: "`" + d["id"] + "`"))


def reproduction_page(results_dir: Path, stamp: Stamp) -> str:
    parts = ["# Reproduction table", "", stamp.markdown(), ""]
    table = _reproduction(results_dir)
    if table is None:
        return "\n".join(parts + [_absent("results/report/reproduction.csv")]) + "\n"
    scales = table.loc[table["scale"] != "", "scale"].value_counts() if "scale" in table else pd.Series(dtype=int)
    parts += ["Every target of every source by id: the paper's value, ours, the number of seeds (model or mask) "
              "where the claim holds when the paper's claim rests on one model, the criterion that decides, and "
              "the verdict. Over seeds, the share of seeds where the claim holds comes with its 95% Wilson interval "
              "(`holding_rate`): reproduced when the interval lies at or above one half, not reproduced when "
              "below, unstable when it straddles one half.", "",
              "## Targets per source by verdict", "", _counts_md(table), ""]
    if len(scales):
        parts += ["Rows made at scale: " + ", ".join(f"{s} ({n})" for s, n in scales.items()) + ".", ""]
    parts += ["## Every target", "", _reproduction_rows_md(table)]
    return "\n".join(parts) + "\n"


def _read_optional(path: Path) -> pd.DataFrame | None:
    if not path.exists():
        return None
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def _cell_text(c) -> str:
    text = f"{c['score']:.2f} [{c['score_lo']:.2f}, {c['score_hi']:.2f}] #{int(c['rank'])}"
    if isinstance(c.get("sanity"), str):
        text += f" {c['sanity']}"
    if pd.notna(c.get("seconds", np.nan)):
        text += f", {float(c['seconds']):.3g} s"
    return text


def leaderboard_cells_md(cells: pd.DataFrame, skipped: pd.DataFrame | None) -> str:
    """Methods x experiments: 'score [95% interval] #rank sanity, seconds', or n/a with a lettered
    reason listed below the table."""
    experiments = list(dict.fromkeys(cells["experiment"]))
    methods = list(dict.fromkeys(cells["method"]))
    skipped = skipped if skipped is not None and len(skipped) and "reason" in skipped else pd.DataFrame()
    methods += [m for m in dict.fromkeys(skipped.get("method", [])) if m not in methods]
    table = pd.DataFrame("", index=methods, columns=experiments, dtype=object)
    for _, c in cells.iterrows():
        table.loc[c["method"], c["experiment"]] = _cell_text(c)
    letters: dict[str, str] = {}
    for _, s in skipped.iterrows():
        if s["experiment"] in table.columns and not table.loc[s["method"], s["experiment"]]:
            letter = letters.setdefault(str(s["reason"]), chr(ord("a") + len(letters)))
            table.loc[s["method"], s["experiment"]] = f"n/a ({letter})"
    table = table.replace("", "not measured")
    out = markdown_table(table.rename_axis("method").reset_index().assign(method=lambda d: "`" + d["method"] + "`"))
    notes = "; ".join(f"({k}) {r}" for r, k in letters.items())
    return out + ("\n\n" + notes if notes else "")


def leaderboard_page(results_dir: Path, stamp: Stamp, figures: Mapping[str, str] | None = None) -> str:
    lb = results_dir / "leaderboard"
    parts = ["# Faithfulness leaderboard", "", stamp.markdown(), ""]
    cells = _read_optional(lb / "cells.csv")
    if cells is None or cells.empty:
        return "\n".join(parts + [_absent("results/leaderboard/cells.csv")]) + "\n"
    parts += ["Every registered method on every experiment, one protocol ([the protocol](../methods.md#the-"
              "faithfulness-leaderboard-protocol)). Cell: normalised deletion score (0: the random order, 1: the best "
              "order found on every example) [95% bootstrap interval] #rank within the experiment (1 + the methods "
              "called better: model-level tests, Holm-corrected; ties are methods no call separates), the "
              "model-randomisation check "
              "(pass below a mean Spearman of 0.5), and the method's compute seconds over the cell's examples.",
              "", leaderboard_cells_md(cells, _read_optional(lb / "skipped.csv")), "",
              *([f"![The cells' scores as a heatmap]({figures['leaderboard_heatmap']})", ""]
                if figures and "leaderboard_heatmap" in figures else []),
              "## Models and examples per cell", "",
              markdown_table(cells[[c for c in ["experiment", "model", "method", "n_replicates", "n_examples",
                                                "sanity_rho", "uncertainty_rho"] if c in cells]]), "",
              "## Mean rank across experiments", ""]
    ranks = _read_optional(lb / "mean_ranks.csv")
    if ranks is None or ranks.empty:
        parts.append(_absent("results/leaderboard/mean_ranks.csv"))
    else:
        parts.append(markdown_table(pd.DataFrame({
            "method": "`" + ranks["method"] + "`",
            "mean rank [95% interval]": [f"{r.mean_rank:.1f} [{r.mean_rank_lo:.1f}, {r.mean_rank_hi:.1f}]"
                                         for r in ranks.itertuples()],
            "experiments": ranks["n_experiments"]})))
    parts += ["", "## BayesGrad against VanillaGrad, SmoothGrad and the noise methods", ""]
    verdicts = _read_optional(lb / "verdicts.csv")
    if verdicts is None or verdicts.empty:
        parts.append(_absent("results/leaderboard/verdicts.csv"))
    else:
        parts += [f"- {v}" for v in verdicts["verdict"]]
    parts += _leaderboard_checks_md(lb, figures)
    return "\n".join(parts) + "\n"


def _optional_table(parts: list[str], lb: Path, name: str, columns=None, max_rows: int | None = MAX_ROWS) -> None:
    table = _read_optional(lb / f"{name}.csv")
    if table is None:
        parts.append(_absent(f"results/leaderboard/{name}.csv"))
    else:
        table = table[[c for c in columns if c in table]] if columns else table
        parts.append(markdown_table(table, max_rows=max_rows, source=f"results/leaderboard/{name}.csv"))


def _leaderboard_checks_md(lb: Path, figures: Mapping[str, str] | None) -> list[str]:
    """The leaderboard's statistics across experiments and its checks, from the rule's own tables:
    Friedman and the mean ranks of the critical-difference diagram (``figures`` names its image where
    the page has one beside it), the post-hoc pairs told apart, the metric agreement (mean tau per
    ranking; the consensus and headline operators), the searched bound's coverage, the A/A, random-last
    and randomisation checks."""
    figures = dict(figures or {})
    parts = ["", "## Across experiments: Friedman test and critical difference", ""]
    _optional_table(parts, lb, "friedman")
    parts += ["", "Mean rank of each method over the experiments it shares with every other (the diagram's "
              "axis; 1 = most faithful):", ""]
    _optional_table(parts, lb, "cd_ranks")
    posthoc = _read_optional(lb / "posthoc.csv")
    if posthoc is not None and len(posthoc) and "significant" in posthoc:
        told = posthoc[posthoc["significant"].astype(str).str.lower() == "true"]
        parts += ["", f"Wilcoxon–Holm post-hoc pairs told apart across experiments: {len(told)} of {len(posthoc)}"
                  + ("." if told.empty else ":"), ""]
        if len(told):
            parts.append(markdown_table(told[["method_a", "method_b", "n", "mean_diff", "p_holm"]]))
    if "critical_difference" in figures:
        parts += ["", f"![Critical-difference diagram]({figures['critical_difference']})"]
    parts += ["", "## Metric agreement: which ranking the others agree with", "",
              "Per experiment, each (operator / MoRF, LeRF, SRG) ranking's mean Kendall τ with every other ranking of "
              "the experiment; `consensus` marks the highest MoRF ranking, `headline` the configured one "
              "(`leaderboard.headline_operator`). Every pair's τ: `results/leaderboard/agreement.csv`.", ""]
    _optional_table(parts, lb, "consensus", max_rows=None)
    parts += ["", "## The searched bound's coverage", "",
              "Share of examples where the searched best order is at least as good as every method's order "
              "(goal: 99%), the searches used and their cost.", ""]
    _optional_table(parts, lb, "coverage", max_rows=None)
    parts += ["", "## Checks of the checks", "", "A/A: a method against itself, decided by the leaderboard's own rule "
              "(a sound rule calls a difference in at most 5%):", ""]
    _optional_table(parts, lb, "aa")
    parts += ["", "The random order last or tied last (within the ROPE) in the bootstrap draws, where some method's "
              "interval lies above 0 (`applies`); passes at 95%:", ""]
    _optional_table(parts, lb, "random_last", max_rows=None)
    randomisation = _read_optional(lb / "randomisation.csv")
    parts += ["", "Model randomisation lowers the methods (re-initialising the network moves every non-random "
              "method's ranking; `randomisation.csv` has every method):", ""]
    if randomisation is None:
        parts.append(_absent("results/leaderboard/randomisation.csv"))
    elif len(randomisation) and {"experiment", "ok"} <= set(randomisation):
        ok = randomisation["ok"].astype(str).str.lower() == "true"
        by = randomisation.assign(ok=ok).groupby("experiment", sort=False)["ok"]
        parts.append(markdown_table(pd.DataFrame({"methods": by.size(), "as expected": by.sum()}).reset_index()))
    else:
        parts.append(markdown_table(randomisation))
    return parts


def write_leaderboard_docs(results_dir, out_dir, stamp: Stamp, figures: Mapping[str, str | Path] = ()) -> Path:
    """The leaderboard page alone, with the run's job time (for a scale whose whole report is not made,
    e.g. the cpu scale's leaderboard): ``out_dir/leaderboard.md`` and the ``figures`` ({name: image})
    copied beside it; returns the page's path."""
    import shutil

    results_dir, out_dir = Path(results_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    shown = {}
    for name, src in dict(figures).items():
        dest = out_dir / Path(src).name
        shutil.copyfile(src, dest)
        shown[name] = dest.name
    text = leaderboard_page(results_dir, dataclasses.replace(
        stamp, rerun="`snakemake leaderboard_docs --cores 1` with the run's --config"), shown)
    runtimes = rule_runtimes(results_dir / "benchmarks")
    text += "\n## Job time of the run\n\n"
    if runtimes.empty:
        text += _absent("results/benchmarks/*.tsv") + "\n"
    else:
        total = runtimes["seconds"].sum()
        text += (f"Every job of the results folder (`benchmark:` files; the leaderboard's inputs and what they "
                 f"depend on): {int(runtimes['jobs'].sum())} jobs, {total / 3600:.2f} h summed over the jobs' own "
                 f"wall times: {total / 3600 / max(1, os.cpu_count() or 1):.2f} h on this machine's {os.cpu_count()} "
                 "cores if the jobs packed them perfectly (the run may have been resumed: this is not one command's "
                 "wall time).\n\n" + markdown_table(runtimes.rename(columns={"max_rss_mb": "peak RSS (MB)"}))
                 + "\n")
    path = out_dir / "leaderboard.md"
    tmp = path.with_name(".leaderboard.md.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def experiment_page(name: str, results_dir: Path, stamp: Stamp, table: pd.DataFrame | None,
                    cells: pd.DataFrame | None) -> str:
    title, specs = EXPERIMENT_TABLES.get(name, (name, []))
    base = results_dir / name
    parts = [f"# {title}", "", stamp.markdown(), ""]
    rows = base / "reproduction.csv"
    if name in WITHOUT_TARGETS:
        return _tables_md(parts, specs, base, name)
    parts += ["## Targets", ""]
    if not rows.exists():
        parts.append(_absent(f"results/{name}/reproduction.csv"))
    elif table is None:
        parts.append(_absent("results/report/reproduction.csv"))
    else:
        ids = set(pd.read_csv(rows, dtype=str)["id"])
        parts.append(_reproduction_rows_md(table[table["id"].isin(ids)]))
    parts += ["", "## Faithfulness leaderboard cells", ""]
    mine = cells[cells["experiment"] == name] if cells is not None and len(cells) else pd.DataFrame()
    if len(mine):
        parts.append(leaderboard_cells_md(mine, None) + "\n\nThe whole leaderboard: [leaderboard.md](leaderboard.md).")
    elif cells is None:
        parts.append(_absent("results/leaderboard/cells.csv"))
    else:
        parts.append(f"No cell for {name} in `results/leaderboard/cells.csv`.")
    return _tables_md(parts, specs, base, name)


def _tables_md(parts: list[str], specs, base: Path, name: str) -> str:
    """``parts`` followed by each key table of ``specs`` read under ``base`` (absent ones named)."""
    for caption, pattern, columns, *nonempty in specs:
        parts += ["", f"## {caption}", ""]
        paths = sorted(base.glob(pattern))
        where = f"results/{name}/{pattern}"
        if not paths:
            parts.append(_absent(where))
            continue
        columns = FAITHFULNESS_COLUMNS if columns == "FAITHFULNESS" else columns
        df = _read_table(paths, base, columns, *nonempty)
        note = ""
        if len(df.columns) > MAX_COLUMNS:
            note = f" First {MAX_COLUMNS} of {len(df.columns)} columns; the others are in the files."
            df = df.iloc[:, :MAX_COLUMNS]
        parts += [f"From `{where}`.{note}", "", markdown_table(df, max_rows=MAX_ROWS, source=where)]
    return "\n".join(parts) + "\n"


def experiments_in(results_dir: Path) -> list[str]:
    """The experiments with results: the known ones whose folder exists, then any other folder with
    reproduction rows (an experiment a user added)."""
    known = [n for n in EXPERIMENT_TABLES if (results_dir / n).is_dir()]
    not_experiments = {*EXPERIMENT_TABLES, "report", "leaderboard", "logs", "benchmarks", "data"}
    other = sorted(p.name for p in results_dir.iterdir() if p.is_dir() and p.name not in not_experiments
                   and (p / "reproduction.csv").exists()) if results_dir.is_dir() else []
    return known + other


def index_page(results_dir: Path, stamp: Stamp, experiments: Iterable[str], table: pd.DataFrame | None) -> str:
    experiments = list(experiments)
    parts = ["# Results of one run", "", stamp.markdown(), "",
             "- [Reproduction table](reproduction.md): every target with the paper's value, ours and the verdict",
             "- [Faithfulness leaderboard](leaderboard.md): every method on every experiment"]
    parts += [f"- [{EXPERIMENT_TABLES.get(n, (n,))[0]}]({n}.md)" for n in experiments]
    missing = [n for n in EXPERIMENT_TABLES if n not in experiments]
    if missing:
        parts += ["", "No results in this run for: " + ", ".join(missing) + "."]
    parts += ["", "## Targets per source by verdict", ""]
    parts.append(_counts_md(table) if table is not None else _absent("results/report/reproduction.csv"))
    parts += ["", "## Run time per rule", ""]
    runtimes = rule_runtimes(results_dir / "benchmarks")
    if runtimes.empty:
        parts.append(_absent("results/benchmarks/*.tsv"))
    else:
        total = runtimes["seconds"].sum()
        parts += [f"From the `benchmark:` files, jobs: {int(runtimes['jobs'].sum())}; job time summed over jobs: "
                  f"{total / 60:.1f} min (not wall time: jobs run in parallel), the largest peak memory "
                  f"{runtimes['max_rss_mb'].max():.0f} MB.", "",
                  markdown_table(runtimes.rename(columns={"max_rss_mb": "peak RSS (MB)"}))]
    return "\n".join(parts) + "\n"


def write_docs(results_dir, out_dir, stamp: Stamp) -> list[Path]:
    """Write ``index.md``, ``reproduction.md``, ``leaderboard.md`` and one ``<experiment>.md`` per
    experiment with results into ``out_dir``, from the run in ``results_dir``; returns the paths.
    Pages of experiments no longer in the run are removed, so the folder is one run's."""
    results_dir, out_dir = Path(results_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = _reproduction(results_dir)
    cells = _read_optional(results_dir / "leaderboard" / "cells.csv")
    experiments = experiments_in(results_dir)
    pages = {"index.md": index_page(results_dir, stamp, experiments, table),
             "reproduction.md": reproduction_page(results_dir, stamp),
             "leaderboard.md": leaderboard_page(results_dir, stamp)}
    pages.update({f"{n}.md": experiment_page(n, results_dir, stamp, table, cells) for n in experiments})
    for stale in out_dir.glob("*.md"):
        if stale.name not in pages:
            stale.unlink()
    written = []
    for name, text in pages.items():
        path = out_dir / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    return written
