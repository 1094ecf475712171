"""Train one Tox21 model: the full-data pyridine GGNN, one Table 1 subset GGNN, or the SR-MMP NFP."""
from xairepro.data.featurize import load_graphs
from xairepro.experiments.tox21 import train_recipe
from xairepro.runtime import read_json, script_setup, write_json
from xairepro.training import save_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
graphs = load_graphs(sm.input.graphs).graphs
subset = int(sm.wildcards.seed) if "seed" in sm.wildcards.keys() else None
out = train_recipe(sm.params.recipe, graphs, read_json(sm.input.splits), sm.params.cfg, sm.params.seed,
                   device=sm.params.device, subset=subset, progress=lambda row: log.info("%s", row))
out["history"].to_csv(sm.output.history, index=False)
write_json(out["metrics"], sm.output.metrics)
save_checkpoint(sm.output.model, out["model"], out["model_name"], out["model_kwargs"], out["train_config"],
                extra={"recipe": sm.params.recipe, "subset": subset})
log.info("%s", out["metrics"])
