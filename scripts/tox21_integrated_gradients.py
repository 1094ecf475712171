"""Atom integrated gradients of the SR-MMP model and the full-data pyridine model: completeness per
molecule, and the score along the scaling path of active molecules (saturation)."""
from xairepro.context import RunContext
from xairepro.data.featurize import load_graphs
from xairepro.experiments.tox21.integrated_gradients import integrated_gradients_study, saturation_summary
from xairepro.experiments.tox21.targets import IG_MODELS
from xairepro.runtime import read_json, script_setup
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
models = [("srmmp", IG_MODELS["srmmp_nfp"], load_checkpoint(sm.input.srmmp_model, ctx.torch_device)[0]),
          ("pyridine", IG_MODELS["pyridine_ggnn"], load_checkpoint(sm.input.pyridine_model, ctx.torch_device)[0])]
inputs = {"models": models, "graphs": load_graphs(sm.input.graphs).graphs, "splits": read_json(sm.input.splits)}
completeness, path_rows = integrated_gradients_study(inputs, sm.params.cfg, ctx=ctx)
completeness.to_csv(sm.output.completeness, index=False)
path_rows.to_csv(sm.output.path, index=False)
saturation_summary(path_rows).to_csv(sm.output.saturation, index=False)
log.info("completeness relative error (median):\n%s", completeness.groupby("model")["rel_error"].median())
