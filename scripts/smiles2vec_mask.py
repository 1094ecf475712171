"""Train the explanation mask network on the frozen SMILES2vec model for one (fitting target, mask
seed) and measure it: test RMSE unmasked and masked, top-3 of the mask and of a random order."""
import pandas as pd

from xairepro.context import RunContext
from xairepro.experiments.smiles2vec.data import load
from xairepro.experiments.smiles2vec.mask import save_mask_net
from xairepro.experiments.smiles2vec.seeds import mask_seed_study
from xairepro.runtime import script_setup, write_json
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
data = load(sm.input.arrays, sm.input.meta)
model, _ = load_checkpoint(sm.input.model, ctx.device)
out = mask_seed_study({"model": model, "data": data}, dict(sm.params.cfg, target=sm.params.target, seed=sm.params.seed),
                      ctx=ctx)
log.info("mask network (fitted to the %s, mask seed %s): %s", sm.params.target, sm.params.seed, out["metrics"])
save_mask_net(sm.output.mask, out["net"], sm.params.cfg["mask"])
pd.DataFrame(out["history"]).to_csv(sm.output.history, index=False)
write_json(out["metrics"], sm.output.metrics)
