"""The chapter's explanations of one peptide by the seed-0 model: bars of every configured method, Shapley
convergence, counterfactuals."""
from xairepro.context import RunContext
from xairepro.experiments.peptides.data import load_peptides
from xairepro.experiments.peptides.explain import explain_study
from xairepro.runtime import script_setup, write_json
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
data = load_peptides(sm.input.raw, **sm.params.data)  # test_fraction, val_fraction, split_seed
model, _ = load_checkpoint(sm.input.model, ctx.device)
out = explain_study({"model": model, "data": data}, sm.params.cfg, ctx=ctx)
log.info("%s", out.summary)
for method, reason in zip(out.skipped["method"], out.skipped["reason"]):
    log.warning("%s does not apply: %s", method, reason)
out.bars.to_csv(sm.output.bars, index=False)
out.convergence.to_csv(sm.output.shapley, index=False)
out.flips.to_csv(sm.output.counterfactuals, index=False)
out.skipped.to_csv(sm.output.skipped, index=False)
write_json(out.summary, sm.output.summary)
