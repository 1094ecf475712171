"""Integrated-gradients maps of the named molecules from the saliency blog's ESOL GGNN."""
from xairepro.context import RunContext
from xairepro.experiments.esol.blog_ig import blog_maps_study
from xairepro.runtime import script_setup, write_json
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
model, _ = load_checkpoint(sm.input.model, ctx.torch_device)
write_json(blog_maps_study({"model": model}, sm.params.cfg, ctx=ctx), sm.output.maps)
