"""Train one ESOL model on all folds but one."""
from xairepro.data.featurize import load_graphs
from xairepro.experiments.esol import model_kwargs, train_fold
from xairepro.runtime import script_setup
from xairepro.training import save_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
graphs = load_graphs(sm.input.graphs).graphs
fold, name, cfg = int(sm.wildcards.fold), sm.wildcards.model, sm.params.cfg
model, history, tcfg = train_fold(graphs, name, fold, cfg, sm.params.seed, device=sm.params.device,
                                  progress=lambda row: log.info("%s", row))
history.to_csv(sm.output.history, index=False)
save_checkpoint(sm.output.model, model, name, model_kwargs(cfg), tcfg, extra={"fold": fold})
