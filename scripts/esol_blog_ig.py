"""Integrated gradients of the saliency blog's ESOL GGNN on held-out molecules: atom scores, signs."""
from xairepro.context import RunContext
from xairepro.data.featurize import load_graphs
from xairepro.experiments.esol.blog_ig import blog_ig_study
from xairepro.runtime import script_setup
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
model, _ = load_checkpoint(sm.input.model, ctx.torch_device)
atoms, table = blog_ig_study({"model": model, "graphs": load_graphs(sm.input.graphs).graphs}, sm.params.cfg, ctx=ctx)
atoms.to_csv(sm.output.atoms, index=False)
table.to_csv(sm.output.environments, index=False)
log.info("IG completeness: median relative error %.3g\n%s", atoms["ig_rel_error"].median(), table.to_string())
