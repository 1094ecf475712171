"""Gather every experiment's faithfulness tables into the leaderboard (xairepro.report.leaderboard), and
the localisation column beside it (xairepro.evaluation.leaderboard_localisation)."""
import pandas as pd

from xairepro.evaluation.leaderboard_localisation import (localisation_agreement, localisation_column,
                                                          localisation_rows, tox21_localisation_rows)
from xairepro.report.leaderboard import KINDS, TABLES, assemble, read_tables
from xairepro.runtime import script_setup

sm = snakemake  # noqa: F821
log = script_setup(sm)
tables = read_tables({kind: list(sm.input.get(kind, [])) for kind in KINDS})
out = assemble(tables, n_boot=int(sm.params.n_boot), seed=int(sm.params.seed), rope=float(sm.params.rope),
               headline=dict(sm.params.headline_operator))
tables["per_example"].to_csv(sm.output.rows, index=False)
for name in TABLES:
    out[name].to_csv(getattr(sm.output, name), index=False)
log.info("leaderboard: %d cells over %d experiments", len(out["cells"]), out["cells"]["experiment"].nunique())
tox21 = tox21_localisation_rows(pd.read_csv(sm.input.tox21_table1), model=str(sm.params.tox21_model))
column = localisation_column(localisation_rows([pd.read_csv(p) for p in sm.input.localisation] + [tox21]))
column.to_csv(sm.output.localisation, index=False)
localisation_agreement(out["cells"], column).to_csv(sm.output.localisation_agreement, index=False)
log.info("localisation column: %d (experiment, method) over %d experiments", len(column), column["experiment"].nunique())
