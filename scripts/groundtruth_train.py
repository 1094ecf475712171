"""Train one model (wildcards.model, replicate) of a known-answer task with its experiment's recipe."""
from pathlib import Path

from xairepro.groundtruth.modalities import modality
from xairepro.groundtruth.tasks import TASKS, load_task
from xairepro.runtime import script_setup, training_context, write_json
from xairepro.training import save_trained

sm = snakemake  # noqa: F821
log = script_setup(sm)
task = load_task(sm.input.task)
name, replicate = sm.wildcards.task, int(sm.wildcards.replicate)
ctx = training_context(sm).child(TASKS.index(name), replicate)
trained, metrics = modality(name).train(task, sm.params.spec, sm.params.train, ctx=ctx,
                                        workdir=Path(sm.output.model).parent)
metrics.update(task=name, model=sm.wildcards.model, replicate=replicate, seed=ctx.seed, epochs=int(trained.config.epochs))
log.info("%s/%s/%d: %s", name, sm.wildcards.model, replicate, metrics)
save_trained(sm.output.model, trained)
write_json(metrics, sm.output.metrics)
