"""The chapter's explanations of one peptide: bars, Shapley convergence, counterfactuals."""
from xairepro.context import RunContext
from xairepro.experiments.peptides.data import load_peptides
from xairepro.experiments.peptides.explain import explain_peptide
from xairepro.runtime import script_setup, write_json
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
data = load_peptides(sm.input.raw, test_fraction=sm.params.data["test_fraction"],
                     val_fraction=sm.params.data["val_fraction"], seed=ctx.seed)
model, _ = load_checkpoint(sm.input.model, ctx.device)
attribution = sm.params.attribution
bars, conv, flips, summary = explain_peptide(model, data, attribution["peptide"], attribution, ctx=ctx)
log.info("%s", summary)
bars.to_csv(sm.output.bars, index=False)
conv.to_csv(sm.output.shapley, index=False)
flips.to_csv(sm.output.counterfactuals, index=False)
write_json(summary, sm.output.summary)
