"""Deletion/insertion faithfulness of the four peptide methods over residues."""
from xairepro.context import RunContext
from xairepro.experiments.peptides.data import load_peptides
from xairepro.experiments.peptides.faithfulness import faithfulness
from xairepro.runtime import script_setup
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
data = load_peptides(sm.input.raw, test_fraction=sm.params.data["test_fraction"],
                     val_fraction=sm.params.data["val_fraction"], seed=ctx.seed)
model, _ = load_checkpoint(sm.input.model, ctx.device)
per_example, curves, summary = faithfulness(model, data, sm.params.attribution, sm.params.faithfulness, ctx=ctx)
log.info("faithfulness:\n%s", summary.to_string())
per_example.to_csv(sm.output.per_example, index=False)
curves.to_csv(sm.output.curves, index=False)
summary.to_csv(sm.output.summary, index=False)
