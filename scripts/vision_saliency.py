"""The saliency blog's image grid on the dropout classifier: every configured method's map and its spread."""
import numpy as np

from xairepro.context import RunContext
from xairepro.experiments.vision.saliency import run_saliency
from xairepro.runtime import script_setup

sm = snakemake  # noqa: F821
log = script_setup(sm)
maps = run_saliency(sm.input.cache, sm.input.model, sm.params.cfg, ctx=RunContext.from_params(sm.params.run))
np.savez_compressed(sm.output.maps, **maps)
log.info("saliency maps of %s for %d images", list(maps["methods"]), len(maps["labels"]))
for name, reason in zip(maps["skipped_methods"], maps["skipped_reasons"]):
    log.info("%s did not apply: %s", name, reason)
