"""The data-randomisation test on iris: every faithfulness method on the trained MLP and on the MLP
trained on permuted labels, per flower the Spearman correlation of their feature scores, per method
the mean (pass below the sanity threshold) and the correlation of the per-feature mean importance."""
from xairepro.context import RunContext
from xairepro.experiments.iris.data import iris_data
from xairepro.experiments.iris.faithfulness import data_randomisation_study
from xairepro.runtime import script_setup
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
inputs = {"model": load_checkpoint(sm.input.model, ctx.device)[0],
          "permuted": load_checkpoint(sm.input.permuted, ctx.device)[0], "data": iris_data(),
          "model_name": sm.params.model_name}
out = data_randomisation_study(inputs, sm.params.cfg, ctx=ctx)
log.info("data randomisation:\n%s", out["summary"].to_string())
out["rows"].to_csv(sm.output.rows, index=False)
out["summary"].to_csv(sm.output.summary, index=False)
