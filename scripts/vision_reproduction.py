"""CIFAR-10 rows of the reproduction table (paper's numbers beside ours)."""
from xairepro.experiments.vision.reproduction import reproduction_from_files
from xairepro.report.targets import write_reproduction_rows
from xairepro.runtime import script_setup

sm = snakemake  # noqa: F821
script_setup(sm)
rows = reproduction_from_files(sm.input.classifier, list(sm.input.masks), sm.input.counterfactuals, sm.input.aopc_summary,
                               sm.input.aopc_stats, sm.input.saliency, sm.params.scale)
write_reproduction_rows(rows, sm.output.table)
