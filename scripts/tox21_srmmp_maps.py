"""BayesGrad maps (and their sd across samples) of Tyrphostin 9, its O-methyl derivative and Tox21
compounds with the same hindered phenol, from the SR-MMP NFP model (paper Fig. 3)."""
from xairepro.data.featurize import load_graphs
from xairepro.experiments.tox21 import similar_phenols, srmmp_maps
from xairepro.runtime import read_json, script_setup, write_json
from xairepro.training import load_checkpoint, resolve_device

sm = snakemake  # noqa: F821
log = script_setup(sm)
device = resolve_device(sm.params.device)
cfg = sm.params.cfg
molecules = [{"name": name, "smiles": smi, "source": "named in config (not in Tox21)"}
             for name, smi in cfg["srmmp"]["map_molecules"].items()]
molecules += similar_phenols(load_graphs(sm.input.graphs).graphs, read_json(sm.input.splits),
                             cfg["srmmp"]["phenol_smarts"], cfg["srmmp"]["n_similar"])
model, _ = load_checkpoint(sm.input.model, device)
records = srmmp_maps(model, molecules, cfg, sm.params.seed, sm.params.max_batch, device)
write_json(records, sm.output.maps)
for r in records:
    log.info("%s: p(SR-MMP) = %.3f, key O atom %s rank %s of %d", r["name"], r["probability"], r["oxygen"],
             r.get("oxygen_rank"), r["n_atoms"])
