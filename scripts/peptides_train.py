"""Train one model of peptides.models (the chapter's CNN or its dropout variant) for one model seed on
the book's split (shuffled once with the split seed, the same for every model seed)."""
from xairepro.experiments.peptides.data import load_peptides
from xairepro.experiments.peptides.training import train_peptides
from xairepro.runtime import script_setup, training_context, write_json
from xairepro.training import save_trained

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = training_context(sm).child(int(sm.wildcards.seed))
data = load_peptides(sm.input.raw, **sm.params.data)  # test_fraction, val_fraction, split_seed
trained, metrics = train_peptides(data, sm.params.spec, sm.params.train, sm.params.probe, ctx=ctx)
metrics["model"] = sm.wildcards.model
log.info("peptide CNN %s, seed %s: %s", sm.wildcards.model, sm.wildcards.seed, metrics)
save_trained(sm.output.model, trained)
trained.history.to_csv(sm.output.history, index=False)
write_json(metrics, sm.output.metrics)
