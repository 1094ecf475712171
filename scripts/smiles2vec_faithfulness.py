"""The leaderboard protocol over SMILES characters for every configured method: per-example rows,
curves, summary, the methods that cannot apply with the reason, the model-randomisation check, the
uncertainty's informativeness, the cost per method, and the sampled methods' per-character mean and sd."""
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
          "model_name": sm.params.model_name, "replicate": sm.params.replicate}
res = faithfulness_study(inputs, sm.params.cfg, ctx=ctx)
log.info("faithfulness:\n%s", res.summary.to_string())
for method, reason in zip(res.skipped["method"], res.skipped["reason"]):
    log.warning("%s does not apply: %s", method, reason)
for kind, table in res.tables().items():
    table.to_csv(getattr(sm.output, kind), index=False)
