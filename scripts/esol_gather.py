"""Concatenate the folds of one model; held-out metrics and the atom-environment table."""
import pandas as pd

from xairepro.experiments.esol.attribution import summarize
from xairepro.runtime import script_setup, write_json

sm = snakemake  # noqa: F821
log = script_setup(sm)
predictions = pd.concat([pd.read_csv(p) for p in sm.input.predictions]).sort_values("row")
atoms = pd.concat([pd.read_csv(p) for p in sm.input.atoms]).sort_values(["row", "atom_index"])
metrics, table = summarize(predictions, atoms, sm.params.methods)
predictions.to_csv(sm.output.predictions, index=False)
atoms.to_csv(sm.output.atoms, index=False)
table.to_csv(sm.output.environments, index=False)
write_json(metrics, sm.output.metrics)
log.info("held-out r=%.3f MAE=%.3f over %d molecules", metrics["r"], metrics["mae"], metrics["n"])
