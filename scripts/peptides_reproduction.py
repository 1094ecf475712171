"""Hemolytic-peptide rows of the reproduction table: the chapter's one-model claims over model seeds,
the figure, the Shapley convergence and the counterfactuals of the seed-0 model."""
from xairepro.experiments.peptides.reproduction import reproduction_rows
from xairepro.report.targets import write_reproduction_rows
from xairepro.runtime import read_json, script_setup

sm = snakemake  # noqa: F821
script_setup(sm)
rows = reproduction_rows([read_json(p) for p in sm.input.metrics], [read_json(p) for p in sm.input.readings],
                         read_json(sm.input.summary), sm.params.scale, dropout_metrics=read_json(sm.input.dropout))
write_reproduction_rows(rows, sm.output.table)
