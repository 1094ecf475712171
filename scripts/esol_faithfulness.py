"""Deletion and insertion curves over atoms for every attribution method of one ESOL model."""
from xairepro.context import RunContext
from xairepro.data.featurize import load_graphs
from xairepro.experiments.esol.faithfulness import heldout_faithfulness
from xairepro.runtime import script_setup
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
models = [load_checkpoint(p, ctx.torch_device)[0] for p in sm.input.models]
per_example, curves, summary = heldout_faithfulness(models, load_graphs(sm.input.graphs).graphs,
                                                    n_folds=sm.params.n_folds, attribution=sm.params.attribution,
                                                    faithfulness=sm.params.faithfulness, ctx=ctx)
per_example.to_csv(sm.output.per_example, index=False)
curves.to_csv(sm.output.curves, index=False)
summary.to_csv(sm.output.summary, index=False)
log.info("\n%s", summary.to_string())
