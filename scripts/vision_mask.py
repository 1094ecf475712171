"""Train one explanation mask network (one mask seed) on the frozen CIFAR-10 classifier (masks section 3.1)."""
import numpy as np
import pandas as pd

from xairepro.context import RunContext
from xairepro.experiments.vision.masks import run_mask
from xairepro.runtime import script_setup, write_json

sm = snakemake  # noqa: F821
log = script_setup(sm)
out = run_mask(sm.input.cache, sm.input.model, sm.params.cfg, sm.output.mask,
               ctx=RunContext.from_params(sm.params.run).child(int(sm.wildcards.seed)), progress=lambda row: log.info("%s", row))
pd.DataFrame(out["history"]).to_csv(sm.output.history, index=False)
write_json(out["metrics"], sm.output.metrics)
np.savez_compressed(sm.output.examples, **out["examples"])
log.info("%s", out["metrics"])
