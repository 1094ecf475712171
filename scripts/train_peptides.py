"""Train the chapter's hemolytic-peptide CNN on the shuffled training split."""
from xairepro.experiments.peptides.data import load_peptides
from xairepro.experiments.peptides.training import train_peptides
from xairepro.runtime import script_setup, training_context, write_json
from xairepro.training import save_trained

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = training_context(sm)
data = load_peptides(sm.input.raw, test_fraction=sm.params.data["test_fraction"],
                     val_fraction=sm.params.data["val_fraction"], seed=ctx.seed)
trained, metrics = train_peptides(data, sm.params.spec, sm.params.train, sm.params.probe, ctx=ctx)
log.info("peptide CNN: %s", metrics)
save_trained(sm.output.model, trained)
trained.history.to_csv(sm.output.history, index=False)
write_json(metrics, sm.output.metrics)
