"""The Table 1 subset models' faithfulness tables in one (rule tox21_gather_faithfulness): every kind
concatenated over the models, the curves pooled, the methods ranked over every (model, molecule) pair."""
import pandas as pd

from xairepro.experiments.tox21.faithfulness import gather_faithfulness
from xairepro.runtime import script_setup

sm = snakemake  # noqa: F821
log = script_setup(sm)
kinds = [k for k in sm.output.keys() if k not in ("summary", "pooled_curves")]
n = len(sm.input.per_example)
tables = [{k: pd.read_csv(getattr(sm.input, k)[i]) for k in kinds} for i in range(n)]
out = gather_faithfulness(tables)
for kind in sm.output.keys():
    out[kind].to_csv(getattr(sm.output, kind), index=False)
log.info("%d subset models\n%s", n, out["summary"].to_string())
