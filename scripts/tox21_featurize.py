"""Featurize every Tox21 SMILES once (all 12 task labels kept, NaN = not measured)."""
from xairepro.data.featurize import save_graphs
from xairepro.experiments.tox21.data import featurize_summary, featurize_tox21
from xairepro.runtime import script_setup, write_json

sm = snakemake  # noqa: F821
log = script_setup(sm)
result = featurize_tox21(sm.input[0])
save_graphs(sm.output.graphs, result, meta={"source": sm.input[0]})
summary = featurize_summary(result)
write_json(summary, sm.output.summary)
log.info("%d of %d molecules featurized, %d skipped, %d contain pyridine", summary["n_parsed"],
         summary["n_rows"], summary["n_failed"], summary["n_pyridine"])
