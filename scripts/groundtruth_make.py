"""Make one known-answer task (wildcards.task) from its experiment's data with the run's seed."""
from xairepro.context import derive_seed
from xairepro.groundtruth.tasks import TASKS, save_task, task_summary
from xairepro.runtime import script_setup, write_json

sm = snakemake  # noqa: F821
log = script_setup(sm)
name, cfg = sm.wildcards.task, sm.params.data
seed = derive_seed(int(sm.params.seed), TASKS.index(name))
if name == "tables":
    from xairepro.experiments.iris.data import iris_data
    from xairepro.groundtruth.tasks import make_tables_task

    d = iris_data()
    task = make_tables_task(d.x, d.y, d.features, cfg, seed)
elif name == "images":
    from xairepro.experiments.vision.data import load_cached
    from xairepro.groundtruth.tasks import make_images_task

    task = make_images_task(load_cached(sm.input.cache), cfg, seed)
elif name == "text":
    from xairepro.experiments.text.data import load_cache
    from xairepro.groundtruth.tasks import make_text_task

    task = make_text_task(load_cache(sm.input.cache), cfg, seed)
elif name == "peptides":
    from xairepro.experiments.peptides.data import ALPHABET, load_peptides
    from xairepro.groundtruth.tasks import make_peptides_task

    ids = load_peptides(sm.input.raw, test_fraction=0.1, val_fraction=0.1).x.argmax(-1)
    task = make_peptides_task(ids, cfg, seed, ALPHABET)
else:
    raise ValueError(f"groundtruth.tasks: unknown task {name!r}; known: {list(TASKS)}")
summary = dict(task_summary(task), seed=seed)
log.info("task %s: %s", name, summary)
save_task(task, sm.output.task)
write_json(summary, sm.output.summary)
