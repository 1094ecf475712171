"""Read CIFAR-10 once (python batches or JPEG class folders) into a tensor cache."""
from xairepro.experiments.vision.data import prepare_cache
from xairepro.runtime import script_setup, write_json

sm = snakemake  # noqa: F821
log = script_setup(sm)
summary = prepare_cache(sm.input[0], sm.output.cache, sm.params.data["n_train_per_class"],
                        sm.params.data["n_test_per_class"])
write_json(summary, sm.output.summary)
log.info("%s", summary)
