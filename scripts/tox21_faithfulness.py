"""Deletion and insertion curves over atoms for every attribution method on the pyridine model."""
from xairepro.context import RunContext
from xairepro.data.featurize import load_graphs
from xairepro.experiments.tox21.faithfulness import pyridine_faithfulness
from xairepro.runtime import read_json, script_setup
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
model, _ = load_checkpoint(sm.input.model, ctx.torch_device)
per_example, curves, summary = pyridine_faithfulness(model, load_graphs(sm.input.graphs).graphs,
                                                     read_json(sm.input.splits), attribution=sm.params.attribution,
                                                     faithfulness=sm.params.faithfulness, ctx=ctx)
per_example.to_csv(sm.output.per_example, index=False)
curves.to_csv(sm.output.curves, index=False)
summary.to_csv(sm.output.summary, index=False)
log.info("\n%s", summary.to_string())
