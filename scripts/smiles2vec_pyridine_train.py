"""Train SMILES2vec on one Table 1 subset of the Tox21 pyridine training split (the GGNN's subset and
seed of the same index)."""
from xairepro.experiments.smiles2vec.pyridine import load, train_pyridine
from xairepro.runtime import script_setup, training_context, write_json
from xairepro.training import save_trained

sm = snakemake  # noqa: F821
log = script_setup(sm)
k = int(sm.wildcards.seed)
data = load(sm.input.arrays, sm.input.meta)
trained, metrics = train_pyridine(data, k, spec=sm.params.spec, train=sm.params.train,
                                  subset_size=sm.params.subset_size, ctx=training_context(sm),
                                  progress=lambda r: log.info("%s", r))
trained.history.to_csv(sm.output.history, index=False)
write_json(metrics, sm.output.metrics)
save_trained(sm.output.model, trained, extra={"task": "pyridine", "subset": k})
log.info("%s", metrics)
