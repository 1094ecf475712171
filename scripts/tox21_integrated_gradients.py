"""Atom integrated gradients of the SR-MMP NFP and the full-data pyridine GGNN: completeness per
molecule, and the score along the scaling path of 25 active molecules (saturation)."""
import pandas as pd

from xairepro.data.featurize import load_graphs
from xairepro.experiments.tox21 import ig_molecule_sets, integrated_gradients_study, saturation_summary
from xairepro.runtime import read_json, script_setup
from xairepro.training import load_checkpoint, resolve_device

sm = snakemake  # noqa: F821
log = script_setup(sm)
device = resolve_device(sm.params.device)
cfg = sm.params.cfg["integrated_gradients"]
graphs, splits = load_graphs(sm.input.graphs).graphs, read_json(sm.input.splits)
completeness, paths = [], []
for which, label, path in (("srmmp", "SR-MMP NFP", sm.input.srmmp_model),
                          ("pyridine", "pyridine GGNN", sm.input.pyridine_model)):
    model, _ = load_checkpoint(path, device)
    actives, molecules = ig_molecule_sets(graphs, splits, which, cfg)
    comp, _, _ = integrated_gradients_study(model, molecules, cfg["steps"], 0, sm.params.max_batch,
                                            sm.params.seed, device, label=label)
    _, path_rows, _ = integrated_gradients_study(model, actives, cfg["steps"], len(actives), sm.params.max_batch,
                                                 sm.params.seed, device, label=label)
    completeness.append(comp)
    paths.append(path_rows)
    log.info("%s: completeness relative error median %.3g, max %.3g over %d molecules", label,
             comp["rel_error"].median(), comp["rel_error"].max(), len(comp))
pd.concat(completeness).to_csv(sm.output.completeness, index=False)
path_rows = pd.concat(paths)
path_rows.to_csv(sm.output.path, index=False)
saturation_summary(path_rows).to_csv(sm.output.saturation, index=False)
