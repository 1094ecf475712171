"""Atom integrated gradients of the SR-MMP NFP and the full-data pyridine GGNN: completeness per
molecule, and the score along the scaling path of 25 active molecules (saturation)."""
from xairepro.data.featurize import load_graphs
from xairepro.experiments.tox21 import integrated_gradients_runs, saturation_summary
from xairepro.runtime import read_json, script_setup
from xairepro.training import load_checkpoint, resolve_device

sm = snakemake  # noqa: F821
log = script_setup(sm)
device = resolve_device(sm.params.device)
models = [("srmmp", "SR-MMP NFP", load_checkpoint(sm.input.srmmp_model, device)[0]),
          ("pyridine", "pyridine GGNN", load_checkpoint(sm.input.pyridine_model, device)[0])]
completeness, path_rows = integrated_gradients_runs(
    models, load_graphs(sm.input.graphs).graphs, read_json(sm.input.splits), sm.params.cfg["integrated_gradients"],
    sm.params.max_batch, sm.params.seed, device)
for label, comp in completeness.groupby("model"):
    log.info("%s: completeness relative error median %.3g, max %.3g over %d molecules", label,
             comp["rel_error"].median(), comp["rel_error"].max(), len(comp))
completeness.to_csv(sm.output.completeness, index=False)
path_rows.to_csv(sm.output.path, index=False)
saturation_summary(path_rows).to_csv(sm.output.saturation, index=False)
