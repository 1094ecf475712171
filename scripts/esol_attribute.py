"""Held-out predictions and atom attributions (the methods of esol.attribution.methods) of one fold."""
from xairepro.context import RunContext
from xairepro.data.featurize import load_graphs
from xairepro.experiments.esol.attribution import attribution_study
from xairepro.runtime import script_setup
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
model, _ = load_checkpoint(sm.input.model, ctx.torch_device, expect=sm.params.spec)
inputs = {"model": model, "graphs": load_graphs(sm.input.graphs).graphs, "fold": int(sm.wildcards.fold)}
predictions, atoms = attribution_study(inputs, sm.params.cfg, ctx=ctx)
predictions.to_csv(sm.output.predictions, index=False)
atoms.to_csv(sm.output.atoms, index=False)
log.info("%d molecules, %d atoms attributed", len(predictions), len(atoms))
