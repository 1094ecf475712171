"""The saliency blog's image grid on the dropout classifier (Vanilla/Smooth/Bayes/BayesSmooth, sd)."""
import numpy as np

from xairepro.context import RunContext
from xairepro.experiments.vision.saliency import run_saliency
from xairepro.runtime import script_setup

sm = snakemake  # noqa: F821
log = script_setup(sm)
maps = run_saliency(sm.input.cache, sm.input.model, sm.params.cfg, RunContext.from_params(sm.params.run))
np.savez_compressed(sm.output.maps, **maps)
log.info("saliency maps for %d images", len(maps["labels"]))
