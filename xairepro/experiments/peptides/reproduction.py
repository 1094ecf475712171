"""Hemolytic-peptide rows of the reproduction table."""
from __future__ import annotations

from ...report.targets import reproduction_row

__all__ = ["reproduction_rows"]


def reproduction_rows(metrics: dict, summary: dict, scale: str) -> list[dict]:
    acc = float(metrics["test_accuracy"])
    probs = metrics["probabilities"]
    probe = ", ".join(f"P({s}) = {p:.2f}" for s, p in probs.items())
    flips = summary["closest_flips"]
    return [
        reproduction_row("dmol.peptides.test_accuracy", f"{acc:.3f}", scale,
                         f"{metrics['n_test']} test peptides, {metrics['test_positive_fraction']:.0%} hemolytic; "
                         f"{probe} (chapter: 1.00 and 0.00 for QQQQQ and GGGGG)", value=acc),
        reproduction_row("dmol.peptides.attributions", f"P(hemolytic) = {summary['probability']:.2f}; see figure",
                         scale, "; ".join(["chapter: P = 1.00", *(f"{name} completeness error {err:.2%}" for name, err
                                                                   in summary["completeness_rel_error"].items())])),
        reproduction_row("dmol.peptides.shapley_sum",
                         f"sum {summary['shapley_sum']:.3f} vs f(x) - E[f] = {summary['logit'] - summary['expected_f']:.3f}",
                         scale, f"{summary['shapley_samples']} samples per residue; chapter: 6.76 vs f(x) = 8.07 "
                                f"(it leaves out E[f])", rel_error=float(summary["shapley_rel_error"])),
        reproduction_row("dmol.peptides.counterfactuals", f"{summary['n_flips']} flips", scale,
                         "closest to the boundary: " + ", ".join(flips), n_flips=int(summary["n_flips"])),
    ]
