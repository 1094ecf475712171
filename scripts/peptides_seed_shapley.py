"""The chapter's Shapley bars of its example peptide for one model seed, and the chapter's reading
of them (glutamine 5 and proline 7 among the top three residues)."""
from xairepro.context import RunContext
from xairepro.experiments.peptides.data import load_peptides
from xairepro.experiments.peptides.explain import seed_shapley_study
from xairepro.runtime import script_setup, write_json
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
data = load_peptides(sm.input.raw, **sm.params.data)  # test_fraction, val_fraction, split_seed
model, _ = load_checkpoint(sm.input.model, ctx.device)
out = seed_shapley_study({"model": model, "data": data, "seed": int(sm.wildcards.seed)}, sm.params.cfg, ctx=ctx)
log.info("seed %s: P = %.3f, top residues %s (reading holds: %s)", out["seed"], out["probability"],
         out["top_residues"], out["holds"])
write_json(out, sm.output.reading)
