"""Train the IMDB BiGRU classifier (checkpoint each epoch, resumable) and measure test accuracy."""
from xairepro.context import RunContext
from xairepro.experiments.text.data import load_cache
from xairepro.experiments.text.training import train_text
from xairepro.runtime import script_setup, write_json
from xairepro.training import save_trained

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
trained, metrics = train_text(load_cache(sm.input.cache), sm.params.spec, sm.params.train, ctx=ctx,
                              resume_base=sm.output.model, progress=lambda row: log.info("%s", row))
save_trained(sm.output.model, trained, extra={"metrics": metrics})
trained.history.to_csv(sm.output.history, index=False)
write_json(metrics, sm.output.metrics)
