"""Deletion/insertion faithfulness over SMILES characters for every configured method."""
from xairepro.context import RunContext
from xairepro.experiments.smiles2vec.data import load
from xairepro.experiments.smiles2vec.faithfulness import faithfulness_study
from xairepro.experiments.smiles2vec.mask import load_mask_net
from xairepro.runtime import script_setup
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
data = load(sm.input.arrays, sm.input.meta)
model, _ = load_checkpoint(sm.input.model, ctx.device)
inputs = {"model": model, "mask_net": load_mask_net(sm.input.mask, model, ctx.torch_device), "data": data,
          "model_name": sm.params.model_name}
res = faithfulness_study(inputs, sm.params.cfg, ctx=ctx)
log.info("faithfulness:\n%s", res.summary.to_string())
for method, reason in zip(res.skipped["method"], res.skipped["reason"]):
    log.warning("%s does not apply: %s", method, reason)
res.per_example.to_csv(sm.output.per_example, index=False)
res.curves.to_csv(sm.output.curves, index=False)
res.summary.to_csv(sm.output.summary, index=False)
res.skipped.to_csv(sm.output.skipped, index=False)
