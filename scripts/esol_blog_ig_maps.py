"""Integrated-gradients maps of the named molecules from the saliency blog's ESOL GGNN."""
from xairepro.context import RunContext
from xairepro.experiments.esol.blog_ig import blog_maps
from xairepro.runtime import script_setup, write_json
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
model, _ = load_checkpoint(sm.input.model, ctx.torch_device)
write_json(blog_maps(model, sm.params.map_molecules, steps=sm.params.steps, baseline=sm.params.baseline, ctx=ctx),
           sm.output.maps)
