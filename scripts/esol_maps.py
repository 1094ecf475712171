"""Signed atom maps of the molecules named in config esol.attribution.map_molecules (fold-model ensemble)."""
from xairepro.context import RunContext
from xairepro.experiments.esol.maps import maps_study
from xairepro.runtime import script_setup, write_json
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
models = [load_checkpoint(p, ctx.torch_device)[0] for p in sm.input.models]
write_json(maps_study({"models": models}, sm.params.cfg, ctx=ctx), sm.output.maps)
