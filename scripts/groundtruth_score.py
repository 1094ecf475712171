"""The reliance check of one known-answer model and, when it relies on the evidence, every configured
method's localisation scores on the examples whose prediction depends on it."""
from xairepro.context import RunContext
from xairepro.groundtruth.study import score_model
from xairepro.groundtruth.tasks import TASKS, load_task
from xairepro.runtime import script_setup
from xairepro.safe_io import atomic_torch_save
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
name, replicate = sm.wildcards.task, int(sm.wildcards.replicate)
ctx = RunContext.from_params(sm.params.run).child(TASKS.index(name), replicate)
task = load_task(sm.input.task)
model, _ = load_checkpoint(sm.input.model, ctx.device)
section = dict(sm.params.section)
res = score_model(model, task, section, ctx=ctx, methods=list(section["methods"]),
                  labels={"model": sm.wildcards.model, "replicate": replicate},
                  min_drop=float(sm.params.reliance["min_drop"]), min_flip=float(sm.params.reliance["min_flip"]),
                  n_scored=int(sm.params.n_scored), n_shown=int(sm.params.n_shown))
log.info("reliance:\n%s\nverdict:\n%s", res.reliance.to_string(), res.verdict.to_string())
if not bool(res.verdict["relies"].iloc[0]):
    log.warning("%s/%s/%d fails the reliance check: not scored", name, sm.wildcards.model, replicate)
log.info("localisation:\n%s", res.localisation.to_string())
for method, reason in zip(res.skipped["method"], res.skipped["reason"]):
    log.warning("%s does not apply: %s", method, reason)
for kind in ("reliance", "verdict", "localisation", "skipped"):
    getattr(res, kind).to_csv(getattr(sm.output, kind), index=False)
atomic_torch_save(dict(res.examples, task=name, model=sm.wildcards.model, replicate=replicate), sm.output.examples)
