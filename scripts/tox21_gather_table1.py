"""Table 1 (or its ablation): PRC-AUC mean and sd per method over the subset models (reference
extraction rule; every rule in table1_rules.csv), the paired Wilcoxon tests,
the SmoothGrad noise sweep and the mean PR curves."""
import pandas as pd

from xairepro.experiments.tox21.pyridine import mean_curves, noise_sweep_table, rules_table, table1, wilcoxon_table
from xairepro.runtime import read_json, script_setup

sm = snakemake  # noqa: F821
log = script_setup(sm)
prc = pd.concat([pd.read_csv(p) for p in sm.input.prcauc], ignore_index=True)
curves = pd.concat([pd.read_csv(p) for p in sm.input.curves], ignore_index=True)
models = pd.DataFrame([read_json(p) for p in sm.input.metrics])
prc.to_csv(sm.output.per_model, index=False)
models.to_csv(sm.output.models, index=False)
table = table1(prc)
table.to_csv(sm.output.table, index=False)
rules_table(prc).to_csv(sm.output.rules, index=False)
wilcoxon_table(prc).to_csv(sm.output.wilcoxon, index=False)
noise_sweep_table(prc).to_csv(sm.output.noise_sweep, index=False)
mean_curves(curves).to_csv(sm.output.curves, index=False)
log.info("Table 1 over %d models:\n%s", prc["seed"].nunique(), table.to_string())
