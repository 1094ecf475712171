"""Train one explanation mask network (one reading, one mask seed); masked test accuracy, top words,
shaded example reviews, deletion AOPC on the attributed reviews."""
from xairepro.context import RunContext
from xairepro.experiments.text.data import TextInputs, load_cache
from xairepro.experiments.text.masks import mask_study
from xairepro.runtime import script_setup, write_json
from xairepro.training import load_checkpoint, save_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
model, _ = load_checkpoint(sm.input.model, ctx.device)
out = mask_study(TextInputs(model, load_cache(sm.input.cache)), sm.params.cfg, ctx=ctx)
save_checkpoint(sm.output.head, out["net"].head, out["head"]["arch"], out["head"]["kwargs"],
                extra={k: out["metrics"][k] for k in ("reading", "seed", "entropy", "sparsity", "length",
                                                      "masked_accuracy")})
out["history"].to_csv(sm.output.history, index=False)
out["top_words"].to_csv(sm.output.top_words, index=False)
write_json(out["metrics"], sm.output.metrics)
write_json(out["examples"], sm.output.examples)
