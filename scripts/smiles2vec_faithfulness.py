"""Deletion/insertion faithfulness over SMILES characters for the four methods."""
import numpy as np

from xairepro.context import RunContext
from xairepro.experiments.smiles2vec.data import load
from xairepro.experiments.smiles2vec.study import faithfulness_study_from_scores
from xairepro.runtime import script_setup
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
data = load(sm.input.arrays, sm.input.meta)
model, _ = load_checkpoint(sm.input.model, ctx.device)
with np.load(sm.input.scores) as arrays:
    per_example, curves, summary = faithfulness_study_from_scores(model, data, dict(arrays), sm.params.split,
                                                                  sm.params.faithfulness, ctx=ctx)
log.info("faithfulness:\n%s", summary.to_string())
per_example.to_csv(sm.output.per_example, index=False)
curves.to_csv(sm.output.curves, index=False)
summary.to_csv(sm.output.summary, index=False)
