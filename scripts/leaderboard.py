"""Gather every experiment's faithfulness tables into the leaderboard (xairepro.report.leaderboard)."""
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
