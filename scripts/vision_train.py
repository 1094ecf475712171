"""Train one CIFAR-10 classifier, from scratch or fine-tuned from another (checkpoint each epoch: an
interrupted job resumes)."""
from xairepro.context import RunContext
from xairepro.experiments.vision.training import train_and_save
from xairepro.runtime import script_setup, write_json

sm = snakemake  # noqa: F821
log = script_setup(sm)
history, metrics = train_and_save(sm.input.cache, sm.params.spec, sm.params.train, sm.output.model,
                                  ctx=RunContext.from_params(sm.params.run), augmentation=sm.params.augmentation,
                                  progress=lambda row: log.info("%s", row), init_path=sm.input.get("init"),
                                  channels_last=sm.params.channels_last)
history.to_csv(sm.output.history, index=False)
write_json(metrics, sm.output.metrics)
log.info("%s", metrics)
