"""Featurize ESOL SMILES into graphs once, so training never re-parses them."""
from xairepro.data.featurize import save_graphs
from xairepro.experiments.esol.data import featurize_esol
from xairepro.runtime import script_setup, write_json

log = script_setup(snakemake)  # noqa: F821
result = featurize_esol(snakemake.input[0])  # noqa: F821
save_graphs(snakemake.output.graphs, result, meta={"source": snakemake.input[0]})  # noqa: F821
write_json({"n_parsed": result.n_parsed, "n_failed": len(result.failures), "failures": result.failures},
           snakemake.output.summary)  # noqa: F821
log.info("%d molecules featurized, %d skipped", result.n_parsed, len(result.failures))
