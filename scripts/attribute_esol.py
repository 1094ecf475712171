"""Held-out predictions and atom attributions (VanillaGrad, SmoothGrad, BayesGrad) of one fold."""
from xairepro.data.featurize import load_graphs
from xairepro.experiments.esol import attribute_fold
from xairepro.runtime import script_setup
from xairepro.training import load_checkpoint, resolve_device

sm = snakemake  # noqa: F821
log = script_setup(sm)
device = resolve_device(sm.params.device)
graphs = load_graphs(sm.input.graphs).graphs
model, _ = load_checkpoint(sm.input.model, device)
predictions, atoms = attribute_fold(model, graphs, int(sm.wildcards.fold), sm.params.cfg, sm.params.seed,
                                    sm.params.max_batch, device)
predictions.to_csv(sm.output.predictions, index=False)
atoms.to_csv(sm.output.atoms, index=False)
log.info("%d molecules, %d atoms attributed", len(predictions), len(atoms))
