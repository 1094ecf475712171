"""Train the iris MLP on all 150 flowers (params.labels: "true", or "permuted" for the
data-randomisation test)."""
from xairepro.experiments.iris.data import iris_data
from xairepro.experiments.iris.training import train_iris
from xairepro.runtime import script_setup, training_context, write_json
from xairepro.training import save_trained

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = training_context(sm)
trained, metrics = train_iris(iris_data(), sm.params.spec, sm.params.train, ctx=ctx, labels=sm.params.labels)
log.info("iris MLP: %s", metrics)
save_trained(sm.output.model, trained)
trained.history.to_csv(sm.output.history, index=False)
write_json(metrics, sm.output.metrics)
