"""Fig. 3 across seeds: the key oxygen's rank per seed, molecule and method; the median-rank model's
maps and metrics (the figure's model) and every seed's ROC-AUC."""
import pandas as pd

from xairepro.experiments.tox21.srmmp import median_rank_seed, seed_ranks, top_rank_counts
from xairepro.experiments.tox21.targets import TOP_RANK
from xairepro.runtime import read_json, script_setup, write_json

sm = snakemake  # noqa: F821
log = script_setup(sm)
seeds = [int(s) for s in sm.params.seeds]
maps = {s: read_json(p) for s, p in zip(seeds, sm.input.maps)}
metrics = {s: read_json(p) for s, p in zip(seeds, sm.input.metrics)}
ranks = seed_ranks(maps)
ranks.to_csv(sm.output.ranks, index=False)
counts = top_rank_counts(ranks, TOP_RANK)
counts.to_csv(sm.output.counts, index=False)
chosen = median_rank_seed(ranks, sm.params.molecule)
write_json([dict(m, seed=chosen) for m in maps[chosen]], sm.output.maps)
per_seed = pd.DataFrame([{"seed": s, **{k: m[k] for k in ("train_roc_auc", "val_roc_auc", "test_roc_auc")}}
                         for s, m in metrics.items()])
write_json(dict(metrics[chosen], seed=chosen, median_rank_molecule=sm.params.molecule,
                seeds=per_seed.to_dict("records")), sm.output.metrics)
log.info("median-rank seed %d\n%s", chosen, counts.to_string())
