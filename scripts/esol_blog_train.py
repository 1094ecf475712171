"""Train the saliency blog's ESOL GGNN on every fold but the first."""
from xairepro.data.featurize import load_graphs
from xairepro.experiments.esol.blog_ig import BLOG_FOLD
from xairepro.experiments.esol.training import train_esol
from xairepro.runtime import script_setup, training_context
from xairepro.training import save_trained

sm = snakemake  # noqa: F821
log = script_setup(sm)
trained = train_esol(load_graphs(sm.input.graphs).graphs, sm.params.spec, fold=BLOG_FOLD, n_folds=sm.params.n_folds,
                     train=sm.params.train, ctx=training_context(sm), progress=lambda row: log.info("%s", row))
trained.history.to_csv(sm.output.history, index=False)
save_trained(sm.output.model, trained, extra={"fold": BLOG_FOLD, "study": "blog_ig"})
