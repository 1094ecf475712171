"""Maps (tox21.srmmp.methods; BayesGrad first, with its sd across samples) of Tyrphostin 9, its
O-methyl derivative and Tox21 compounds with the same hindered phenol, from the SR-MMP model (paper
Fig. 3), with the oxygen's rank under every method."""
from xairepro.context import RunContext
from xairepro.data.featurize import load_graphs
from xairepro.experiments.tox21.srmmp import similar_phenols, srmmp_maps_study
from xairepro.runtime import read_json, script_setup, write_json
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx, cfg = RunContext.from_params(sm.params.run), sm.params.cfg
molecules = [{"name": name, "smiles": smi, "source": "named in config (not in Tox21)"}
             for name, smi in cfg["map_molecules"].items()]
molecules += similar_phenols(load_graphs(sm.input.graphs).graphs, read_json(sm.input.splits),
                             cfg["oxygen_smarts"], cfg["n_similar"])
model, _ = load_checkpoint(sm.input.model, ctx.torch_device)
records = srmmp_maps_study({"model": model, "molecules": molecules}, cfg, ctx=ctx)
write_json(records, sm.output.maps)
for r in records:
    log.info("%s: p(SR-MMP) = %.3f, key O rank %s of %d", r["name"], r["probability"], r.get("oxygen_rank"), r["n_atoms"])
