"""Character attributions of every configured method, the top-3 check and the atom maps."""
import numpy as np

from xairepro.context import RunContext
from xairepro.experiments.smiles2vec.data import load
from xairepro.experiments.smiles2vec.mask import load_mask_net
from xairepro.experiments.smiles2vec.study import explain_study
from xairepro.runtime import script_setup, write_json
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
data = load(sm.input.arrays, sm.input.meta)
model, _ = load_checkpoint(sm.input.model, ctx.device)
inputs = {"model": model, "mask_net": load_mask_net(sm.input.mask, model, ctx.torch_device), "data": data}
out = explain_study(inputs, sm.params.cfg, ctx=ctx)
log.info("top-3 accuracy:\n%s", out["summary"].to_string())
for method, reason in zip(out["skipped"]["method"], out["skipped"]["reason"]):
    log.warning("%s does not apply: %s", method, reason)
np.savez_compressed(sm.output.scores, **out["arrays"])
out["table"].to_csv(sm.output.top3, index=False)
out["summary"].to_csv(sm.output.summary, index=False)
out["skipped"].to_csv(sm.output.skipped, index=False)
write_json(out["maps"], sm.output.maps)
