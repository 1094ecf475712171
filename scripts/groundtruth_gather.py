"""The known-answer tables over every task, model and replicate: localisation rows, reliance checks,
verdicts, skipped methods, the summary (mean +- sd over models), BayesGrad's model-level comparisons,
the per-(task, method) scores for the leaderboard, and the examples of the figure."""
import pandas as pd

from xairepro.groundtruth.gather import comparisons, localisation_scores, summary
from xairepro.runtime import read_csvs, script_setup
from xairepro.safe_io import atomic_torch_save, safe_torch_load

sm = snakemake  # noqa: F821
log = script_setup(sm)

loc = read_csvs(sm.input.localisation)
tables = {"localisation": loc, "reliance": read_csvs(sm.input.reliance), "verdicts": read_csvs(sm.input.verdict),
          "skipped": read_csvs(sm.input.skipped), "summary": summary(loc),
          # Table 1's score first, then the two that see the top 10% of the units (the PRC-AUC's blind spot)
          "comparisons": pd.concat([comparisons(loc, score=s) for s in ("prc_auc", "mass", "pointing")],
                                   ignore_index=True),
          "scores": localisation_scores(loc)}
for name, table in tables.items():
    table.to_csv(getattr(sm.output, name), index=False)
log.info("verdicts:\n%s", tables["verdicts"].to_string())
log.info("summary:\n%s", tables["summary"].to_string())
log.info("comparisons:\n%s", tables["comparisons"].to_string())
examples = [safe_torch_load(p, "known-answer examples", "rerun groundtruth_score") for p in sm.input.examples]
atomic_torch_save([e for e in examples if e.get("index")], sm.output.examples)
