"""Saturation of the score and of every block, interior gradients, IG vs gradient and completeness
(counterfactuals 2.2-2.4, Fig. 12)."""
import numpy as np

from xairepro.context import RunContext
from xairepro.experiments.vision.counterfactuals import run_counterfactuals
from xairepro.runtime import script_setup, write_json

sm = snakemake  # noqa: F821
log = script_setup(sm)
out = run_counterfactuals(sm.input.cache, sm.input.model, sm.params.cfg, ctx=RunContext.from_params(sm.params.run))
out["curves"].to_csv(sm.output.curves, index=False)
out["layers"].to_csv(sm.output.layers, index=False)
out["trend"].to_csv(sm.output.trend, index=False)
out["completeness"].to_csv(sm.output.completeness, index=False)
np.savez_compressed(sm.output.arrays, **out["arrays"])
write_json(out["summary"], sm.output.summary)
log.info("%s", out["summary"])
