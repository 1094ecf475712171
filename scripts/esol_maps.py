"""Signed atom maps of the molecules named in config esol.attribution.map_molecules (fold-model ensemble)."""
from xairepro.context import RunContext
from xairepro.experiments.esol.maps import map_attributions
from xairepro.runtime import script_setup, write_json
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
models = [load_checkpoint(p, ctx.torch_device)[0] for p in sm.input.models]
write_json(map_attributions(models, sm.params.map_molecules, attribution=sm.params.attribution, ctx=ctx),
           sm.output.maps)
