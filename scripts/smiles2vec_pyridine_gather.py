"""SMILES2vec's Table 1 over the subset models: the reliance checks, the localisation tables (the
molecules whose prediction depends on the evidence, in the models that rely on it; and every
validation pyridine molecule of every model), mean and sd per method, BayesGrad's paired Wilcoxon
tests over models, and the GGNN's Table 1 beside it."""
import pandas as pd

from xairepro.experiments.smiles2vec.pyridine import load
from xairepro.experiments.smiles2vec.pyridine_scores import (beside_ggnn, model_table, ranking_bounds, table1,
                                                             wilcoxon_table)
from xairepro.runtime import read_csvs, read_json, script_setup

sm = snakemake  # noqa: F821
log = script_setup(sm)
reliance = read_csvs(sm.input.reliance)
depends, every = read_csvs(sm.input.localisation), read_csvs(sm.input.localisation_all)
models = model_table([read_json(p) for p in sm.input.metrics], reliance, depends)
both = pd.concat([depends.assign(molecules="depends"), every.assign(molecules="all")], ignore_index=True)
table = table1(both)
wilcoxon = wilcoxon_table(both)
beside = beside_ggnn(table, wilcoxon, pd.read_csv(sm.input.ggnn_table), pd.read_csv(sm.input.ggnn_wilcoxon))
# the metric's range on the evaluation molecules, over characters (SMILES2vec) and over atoms (the GGNN)
bounds = ranking_bounds(load(sm.input.arrays, sm.input.meta), sm.params.seed)
bounds.to_csv(sm.output.bounds, index=False)
reliance.to_csv(sm.output.reliance, index=False)
depends.to_csv(sm.output.localisation, index=False)
every.to_csv(sm.output.localisation_all, index=False)
models.to_csv(sm.output.models, index=False)
table.to_csv(sm.output.table, index=False)
wilcoxon.to_csv(sm.output.wilcoxon, index=False)
beside.to_csv(sm.output.beside, index=False)
log.info("PRC-AUC range:\n%s", bounds.to_string())
log.info("%d of %d models rely on the evidence\n%s\nbeside the GGNN:\n%s", int(models["relies"].sum()),
         len(models), table.to_string(), beside.to_string())
