"""Hemolytic-peptide rows of the reproduction table.

The claims the chapter makes from one model are rows over model seeds (``per_seed``: one dict of
the measures the target checks per seed; ``ours``: how many seeds hold, the median and the range);
the figure, the Shapley convergence and the counterfactuals are read on the seed-0 model.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from ...report.targets import reproduction_row, seed_summary
from .targets import TARGETS

__all__ = ["reproduction_rows", "seed_row"]

_BY_ID = {t.id: t for t in TARGETS}


def _threads(metrics: Sequence[Mapping]) -> str:
    threads = sorted({int(m.get("torch_threads", 0)) for m in metrics})
    return f"torch threads per training job: {', '.join(map(str, threads))} (another count gives other numbers)"


def seed_row(target_id: str, values: Sequence, seeds: Sequence[int], measure: str, scale: str, note: str,
             fmt: str = "{:.2f}") -> dict:
    """One over-seeds row: per seed ``{measure: value, "seed": seed}``; ``ours`` says how many seeds
    hold the claim, with the median and the range of the measure (for a boolean measure, the count)."""
    per_seed = [{"seed": int(s), measure: v} for s, v in zip(seeds, values)]
    k, n = _BY_ID[target_id].seed_counts({"per_seed": per_seed})
    numeric = [float(v) for v in values if v is not None and not isinstance(v, bool)]
    summary = seed_summary(numeric) if numeric else {"n": 0}
    if summary["n"]:
        ours = (f"holds in {k}/{n} seeds; median {fmt.format(summary['median'])} "
                f"({fmt.format(summary['min'])}-{fmt.format(summary['max'])}, IQR {fmt.format(summary['iqr'])})")
        extra = {f"{measure}_{key}": summary[key] for key in ("median", "min", "max", "iqr")}
    else:
        ours, extra = f"holds in {k}/{n} seeds", {}
    return reproduction_row(target_id, ours, scale, note, per_seed=per_seed, fraction=k / n if n else None,
                            n_seeds=n, **extra)


def reproduction_rows(metrics: Sequence[Mapping], probes: Sequence[Mapping], summary: Mapping, scale: str,
                      dropout_metrics: Mapping | None = None) -> list[dict]:
    """``metrics``: each model seed's training metrics (test accuracy, probe probabilities, seed,
    threads); ``probes``: each seed's Shapley reading of the chapter's peptide
    (:func:`~.explain.seed_shapley_study`); ``summary``: the seed-0 explanation study;
    ``dropout_metrics``: the dropout variant's training metrics (context in the accuracy note)."""
    seeds = [int(m["seed"]) for m in metrics]
    threads = _threads(metrics)
    split = (f"the book's split (split seed {metrics[0]['split_seed']}, the same for every model seed): "
             f"{metrics[0]['n_test']} test peptides, {metrics[0]['test_positive_fraction']:.0%} hemolytic")
    variant = ""
    if dropout_metrics is not None:
        variant = f"; dropout variant (seed {dropout_metrics['seed']}) test accuracy {dropout_metrics['test_accuracy']:.3f}"
    rows = [seed_row("dmol.peptides.test_accuracy", [float(m["test_accuracy"]) for m in metrics], seeds, "accuracy",
                     scale, f"{split}; {threads}{variant}", fmt="{:.3f}")]
    probe_ids = {"QQQQQ": "dmol.peptides.p_qqqqq", "GGGGG": "dmol.peptides.p_ggggg",
                 summary["peptide"]: "dmol.peptides.p_example"}
    for seq, target_id in probe_ids.items():
        if all(seq in m["probabilities"] for m in metrics):
            rows.append(seed_row(target_id, [float(m["probabilities"][seq]) for m in metrics], seeds, "probability",
                                 scale, f"P({seq}) per model seed; {threads}"))
    by_seed = {int(p["seed"]): p for p in probes}
    readings = [by_seed[s] for s in seeds if s in by_seed]
    if readings:
        tops = ", ".join(f"seed {p['seed']}: {p['top_residues']}" for p in readings[:5])
        rows.append(seed_row("dmol.peptides.shapley_reading", [p["holds"] for p in readings],
                             [p["seed"] for p in readings], "holds", scale,
                             f"{readings[0]['samples']} chimera samples per residue; also by magnitude in "
                             f"{sum(bool(p['holds_abs']) for p in readings)}/{len(readings)}; top residues {tops}; "
                             f"P > 0.5 in {sum(p['probability'] > 0.5 for p in readings)}/{len(readings)} of these "
                             f"seeds; {threads}"))
    flips = summary["closest_flips"]
    rows += [
        reproduction_row("dmol.peptides.attributions", f"P(hemolytic) = {summary['probability']:.2f}; see figure",
                         scale, "; ".join(["seed-0 model; chapter: P = 1.00",
                                           *(f"{name} completeness error {err:.2%}"
                                             for name, err in summary["completeness_rel_error"].items())])),
        reproduction_row("dmol.peptides.shapley_sum",
                         f"sum {summary['shapley_sum']:.3f} vs f(x) - E[f] = {summary['logit'] - summary['expected_f']:.3f}",
                         scale, f"seed-0 model, {summary['shapley_samples']} samples per residue; chapter: 6.76 vs "
                                f"f(x) = 8.07 (it leaves out E[f])", rel_error=float(summary["shapley_rel_error"])),
        reproduction_row("dmol.peptides.counterfactuals", f"{summary['n_flips']} flips", scale,
                         "seed-0 model; closest to the boundary: " + ", ".join(flips), n_flips=int(summary["n_flips"])),
    ]
    return rows
