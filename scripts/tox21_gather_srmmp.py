"""Fig. 3 across seeds: the key oxygen's rank per seed, molecule and method; the median-rank model's
maps and metrics (the figure's model) and every seed's ROC-AUC."""
from xairepro.experiments.tox21.srmmp import gather_seeds
from xairepro.experiments.tox21.targets import TOP_RANK
from xairepro.runtime import read_json, script_setup, write_json

sm = snakemake  # noqa: F821
log = script_setup(sm)
seeds = [int(s) for s in sm.params.seeds]
ranks, counts, maps, metrics = gather_seeds({s: read_json(p) for s, p in zip(seeds, sm.input.maps)},
                                            {s: read_json(p) for s, p in zip(seeds, sm.input.metrics)},
                                            sm.params.molecule, TOP_RANK)
ranks.to_csv(sm.output.ranks, index=False)
counts.to_csv(sm.output.counts, index=False)
write_json(maps, sm.output.maps)
write_json(metrics, sm.output.metrics)
log.info("median-rank seed %d\n%s", metrics["seed"], counts.to_string())
