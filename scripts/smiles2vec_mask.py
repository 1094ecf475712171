"""Train the explanation mask network on the frozen SMILES2vec model."""
import pandas as pd

from xairepro.context import RunContext
from xairepro.experiments.smiles2vec.data import load
from xairepro.experiments.smiles2vec.mask import masked_predictions, save_mask_net, train_smiles2vec_mask
from xairepro.runtime import script_setup, write_json
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx, spec = RunContext.from_params(sm.params.run), sm.params.mask
data = load(sm.input.arrays, sm.input.meta)
model, _ = load_checkpoint(sm.input.model, ctx.device)
net, history = train_smiles2vec_mask(model, data, spec["split"], spec, ctx=ctx)
metrics = masked_predictions(net, data, spec["split"], ctx.torch_device)
log.info("mask network: %s", metrics)
save_mask_net(sm.output.mask, net, spec)
pd.DataFrame(history).to_csv(sm.output.history, index=False)
write_json(metrics, sm.output.metrics)
