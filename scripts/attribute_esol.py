"""Held-out predictions and atom attributions (VanillaGrad, SmoothGrad, BayesGrad) of one fold."""
from xairepro.context import RunContext
from xairepro.data.featurize import load_graphs
from xairepro.experiments.esol.attribution import attribute_fold
from xairepro.runtime import script_setup
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
model, _ = load_checkpoint(sm.input.model, ctx.torch_device, expect=sm.params.spec)
predictions, atoms = attribute_fold(model, load_graphs(sm.input.graphs).graphs, int(sm.wildcards.fold),
                                    n_folds=sm.params.n_folds, attribution=sm.params.attribution, ctx=ctx)
predictions.to_csv(sm.output.predictions, index=False)
atoms.to_csv(sm.output.atoms, index=False)
log.info("%d molecules, %d atoms attributed", len(predictions), len(atoms))
