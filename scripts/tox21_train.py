"""Train one Tox21 model (rule tox21_train and its variants): the full-data pyridine model, one
Table 1 subset model, or one SR-MMP seed model."""
from xairepro.data.featurize import load_graphs
from xairepro.experiments.tox21.training import train_tox21
from xairepro.runtime import read_json, script_setup, training_context, write_json
from xairepro.training import save_trained

sm = snakemake  # noqa: F821
log = script_setup(sm)
subset = int(sm.wildcards.seed) if "seed" in sm.wildcards.keys() else None
trained, metrics = train_tox21(sm.params.recipe, load_graphs(sm.input.graphs).graphs, read_json(sm.input.splits),
                               **sm.params.training, ctx=training_context(sm), subset=subset,
                               subset_size=sm.params.get("subset_size", 1000), progress=lambda r: log.info("%s", r))
trained.history.to_csv(sm.output.history, index=False)
write_json(metrics, sm.output.metrics)
save_trained(sm.output.model, trained, extra={"recipe": sm.params.recipe, "subset": subset})
log.info("%s", metrics)
