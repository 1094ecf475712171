"""Train SMILES2vec on one split (random or scaffold) of ESOL."""
from xairepro.experiments.smiles2vec.data import load
from xairepro.experiments.smiles2vec.training import train_smiles2vec
from xairepro.runtime import script_setup, training_context, write_json
from xairepro.training import save_trained

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = training_context(sm)
data = load(sm.input.arrays, sm.input.meta)
trained, metrics = train_smiles2vec(data, sm.wildcards.split, sm.params.spec, sm.params.train, ctx=ctx)
log.info("SMILES2vec (%s split): %s", sm.wildcards.split, metrics)
save_trained(sm.output.model, trained)
trained.history.to_csv(sm.output.history, index=False)
write_json(metrics, sm.output.metrics)
