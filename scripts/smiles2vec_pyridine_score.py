"""One SMILES2vec pyridine model: the reliance check (evidence present, removed, absent), then every
method's character scores against the pyridine ring characters (PRC-AUC, mass, pointing game)."""
import numpy as np

from xairepro.context import RunContext
from xairepro.experiments.smiles2vec.pyridine import load
from xairepro.experiments.smiles2vec.pyridine_scores import localisation_study, reliance_check
from xairepro.runtime import script_setup
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
k = int(sm.wildcards.seed)
cfg = sm.params.cfg
ctx = RunContext.from_params(sm.params.run).child(k)
data = load(sm.input.arrays, sm.input.meta)
model, _ = load_checkpoint(sm.input.model, ctx.torch_device)
molecules, reliance = reliance_check(model, data, model_name=sm.params.model_name, replicate=k,
                                     min_drop=cfg["min_drop"], device=ctx.torch_device)
relies = bool(reliance["relies"].iloc[0])
result = localisation_study(model, data, molecules, cfg["attribution"], ctx=ctx, model_name=sm.params.model_name,
                            replicate=k, scored=relies)
molecules.to_csv(sm.output.molecules, index=False)
reliance.to_csv(sm.output.reliance, index=False)
result["depends"].to_csv(sm.output.localisation, index=False)
result["all"].to_csv(sm.output.localisation_all, index=False)
result["skipped"].to_csv(sm.output.skipped, index=False)
log.info("model %d: reliance\n%s\nrelies: %s; %d of %d molecules depend on the evidence\n%s", k,
         reliance.to_string(), relies, int(np.sum(molecules["depends"])), len(molecules),
         result["depends"].to_string())
