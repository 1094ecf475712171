"""The leaderboard protocol over residues: every method of peptides.faithfulness.methods on the chapter's
CNN, the MC-dropout methods (faithfulness.dropout_methods) on its dropout variant; per-example rows,
curves, summary, the methods that cannot apply with the reason, the model-randomisation check, the
uncertainty's informativeness, the cost per method, and the sampled methods' per-residue mean and sd."""
from xairepro.context import RunContext
from xairepro.experiments.peptides.data import load_peptides
from xairepro.experiments.peptides.faithfulness import faithfulness_study
from xairepro.runtime import script_setup
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
data = load_peptides(sm.input.raw, **sm.params.data)  # test_fraction, val_fraction, split_seed
inputs = {"data": data, "model": load_checkpoint(sm.input.model, ctx.device)[0], "model_name": sm.params.model_name,
          "dropout": load_checkpoint(sm.input.dropout, ctx.device)[0], "dropout_name": sm.params.dropout_name,
          "replicate": sm.params.replicate}
res = faithfulness_study(inputs, sm.params.cfg, ctx=ctx)
log.info("faithfulness:\n%s", res.summary.to_string())
for model, method, reason in res.skipped[["model", "method", "reason"]].itertuples(index=False):
    log.warning("%s does not apply to %s: %s", method, model, reason)
for kind, table in res.tables().items():
    table.to_csv(getattr(sm.output, kind), index=False)
