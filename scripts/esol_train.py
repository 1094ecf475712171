"""Train one ESOL model on all folds but one."""
from xairepro.data.featurize import load_graphs
from xairepro.experiments.esol.training import train_esol
from xairepro.runtime import script_setup, training_context
from xairepro.training import save_trained

sm = snakemake  # noqa: F821
log = script_setup(sm)
fold = int(sm.wildcards.fold)
trained = train_esol(load_graphs(sm.input.graphs).graphs, sm.params.spec, fold=fold, n_folds=sm.params.n_folds,
                     train=sm.params.train, ctx=training_context(sm), progress=lambda row: log.info("%s", row))
trained.history.to_csv(sm.output.history, index=False)
save_trained(sm.output.model, trained, extra={"fold": fold})
