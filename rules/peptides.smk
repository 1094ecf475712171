# Hemolytic peptides (dmol.pub interpretability chapter, 10.3-10.6), on the book's split (shuffled once
# with the split seed, the same for every model seed):
#   train the chapter's CNN once per model seed (peptides.seeds; one job each) -> probe probabilities
#     and the Shapley reading of RAGLQFPVGRLLRRLLRRLLR per seed -> rows over seeds
#   seed-0 CNN -> explain RAGLQFPVGRLLRRLLRRLLR (every configured method; Shapley convergence; counterfactuals)
#   seed-s CNN + its dropout variant (seed s, the same recipe) -> the faithfulness protocol over residues
#     (every method on the CNN, the MC-dropout methods on the variant; sanity check, uncertainty, cost),
#     one job per model seed of faithfulness.model_seeds (rows carry the seed as replicate; seed 0's
#     tables in faithfulness/, the others' in faithfulness/seed<s>/)

PEPTIDES = CFG["peptides"]
PEPTIDES_DIR = f"{RESULTS}/peptides"
PEPTIDES_MODEL = PEPTIDES["data"]["model"]
PEPTIDES_DROPOUT = PEPTIDES["data"]["dropout_model"]
PEPTIDES_SEEDS = list(range(int(PEPTIDES["seeds"])))
PEPTIDES_ATTRIBUTION = PEPTIDES["attribution"]
PEPTIDES_SPLIT = {k: PEPTIDES["data"][k] for k in ("test_fraction", "val_fraction", "split_seed")}
PEPTIDES_RUN = f"{PEPTIDES_DIR}/models/{{model}}/seed{{seed}}"
PEPTIDES_MAIN = PEPTIDES_RUN.format(model=PEPTIDES_MODEL, seed=PEPTIDES_SEEDS[0])
PEPTIDES_VARIANT = PEPTIDES_RUN.format(model=PEPTIDES_DROPOUT, seed=PEPTIDES_SEEDS[0])
# The leaderboard protocol's tables (xairepro.experiments.suite), both models in each, and the sampled
# methods' per-residue mean and sd of the first peptides (the notebook's sd bars).
PEPTIDES_SUITE_OUTPUTS = {k: f"{PEPTIDES_DIR}/faithfulness/{f}" for k, f in (
    ("per_example", "per_example.csv"), ("curves", "curves.csv"), ("summary", "summary.csv"),
    ("skipped", "faithfulness_skipped.csv"), ("sanity", "sanity.csv"), ("uncertainty", "uncertainty.csv"),
    ("cost", "cost.csv"), ("unit_examples", "uncertainty_examples.csv"), ("bounds", "bounds.csv"))}
PEPTIDES_FAITH_SEEDS = model_seeds(PEPTIDES["faithfulness"], "peptides.faithfulness")
PEPTIDES_FAITHFULNESS = {k: v for k, v in PEPTIDES["faithfulness"].items() if k != "model_seeds"}
PEPTIDES_SEED_SUITE = {k: f"{PEPTIDES_DIR}/faithfulness/seed{{seed}}/{os.path.basename(v)}"
                       for k, v in PEPTIDES_SUITE_OUTPUTS.items()}


rule peptides_train:
    input:
        raw=raw_file("hemolytic"),
    output:
        model=f"{PEPTIDES_RUN}/model.pt",
        history=f"{PEPTIDES_RUN}/history.csv",
        metrics=f"{PEPTIDES_RUN}/metrics.json",
    wildcard_constraints:
        model="|".join(PEPTIDES["models"]),
    params:
        spec=lambda wildcards: PEPTIDES["models"][wildcards.model],
        data=PEPTIDES_SPLIT,
        train=PEPTIDES["train"],
        probe=PEPTIDES_ATTRIBUTION["probe"] + [PEPTIDES_ATTRIBUTION["peptide"]],
        run=RUN_TRAIN,
    log:
        log_path("peptides", "train_{model}_seed{seed}"),
    benchmark:
        bench_path("peptides_train/{model}_seed{seed}")
    threads: 1  # the probe probabilities change with the thread count (recorded in metrics.json)
    resources:
        **resources(1500, runtime=(5, 15), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/peptides_train.py"


rule peptides_seed_shapley:
    input:
        raw=raw_file("hemolytic"),
        model=f"{PEPTIDES_RUN}/model.pt",
    output:
        reading=f"{PEPTIDES_RUN}/shapley_reading.json",
    wildcard_constraints:
        model=PEPTIDES_MODEL,
    params:
        data=PEPTIDES_SPLIT,
        cfg={k: PEPTIDES_ATTRIBUTION[k] for k in ("peptide", "seed_samples", "method_options")},
        run=RUN,
    log:
        log_path("peptides", "seed_shapley_{model}_seed{seed}"),
    benchmark:
        bench_path("peptides_seed_shapley/{model}_seed{seed}")
    threads: 1
    resources:
        **resources(1500, runtime=(5, 10), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/peptides_seed_shapley.py"


rule peptides_explain:
    input:
        raw=raw_file("hemolytic"),
        model=f"{PEPTIDES_MAIN}/model.pt",
    output:
        bars=f"{PEPTIDES_DIR}/attributions.csv",
        shapley=f"{PEPTIDES_DIR}/shapley_convergence.csv",
        counterfactuals=f"{PEPTIDES_DIR}/counterfactuals.csv",
        skipped=f"{PEPTIDES_DIR}/attributions_skipped.csv",
        summary=f"{PEPTIDES_DIR}/explain.json",
    params:
        data=PEPTIDES_SPLIT,
        cfg={k: v for k, v in PEPTIDES_ATTRIBUTION.items() if k not in ("probe", "seed_samples")},
        run=RUN,
    log:
        log_path("peptides", "explain"),
    benchmark:
        bench_path("peptides_explain")
    threads: 1
    resources:
        **resources(2000, runtime=(5, 15), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/peptides_explain.py"


rule peptides_faithfulness:
    input:
        raw=raw_file("hemolytic"),
        model=f"{PEPTIDES_MAIN}/model.pt",
        dropout=f"{PEPTIDES_VARIANT}/model.pt",
    output:
        **PEPTIDES_SUITE_OUTPUTS,
    params:
        data=PEPTIDES_SPLIT,
        cfg=PEPTIDES_FAITHFULNESS,
        model_name=PEPTIDES_MODEL,
        dropout_name=PEPTIDES_DROPOUT,
        replicate=PEPTIDES_SEEDS[0],
        run=RUN,
    log:
        log_path("peptides", "faithfulness"),
    benchmark:
        bench_path("peptides_faithfulness")
    threads: 1
    resources:
        **resources(2000, runtime=(5, 30), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/peptides_faithfulness.py"


# Model seeds 1..n-1 of the faithfulness protocol: the CNN and its dropout variant of that seed.
use rule peptides_faithfulness as peptides_faithfulness_seed with:
    input:
        raw=raw_file("hemolytic"),
        model=os.path.join(PEPTIDES_RUN.format(model=PEPTIDES_MODEL, seed="{seed}"), "model.pt"),
        dropout=os.path.join(PEPTIDES_RUN.format(model=PEPTIDES_DROPOUT, seed="{seed}"), "model.pt"),
    output:
        **PEPTIDES_SEED_SUITE,
    params:
        data=PEPTIDES_SPLIT,
        cfg=PEPTIDES_FAITHFULNESS,
        model_name=PEPTIDES_MODEL,
        dropout_name=PEPTIDES_DROPOUT,
        replicate=lambda wildcards: int(wildcards.seed),
        run=RUN,
    log:
        log_path("peptides", "faithfulness_seed{seed}"),
    benchmark:
        bench_path("peptides_faithfulness_seed/seed{seed}")


rule peptides_reproduction:
    input:
        metrics=expand(f"{PEPTIDES_RUN}/metrics.json", model=PEPTIDES_MODEL, seed=PEPTIDES_SEEDS),
        readings=expand(f"{PEPTIDES_RUN}/shapley_reading.json", model=PEPTIDES_MODEL, seed=PEPTIDES_SEEDS),
        dropout=f"{PEPTIDES_VARIANT}/metrics.json",
        summary=rules.peptides_explain.output.summary,
    output:
        table=f"{PEPTIDES_DIR}/reproduction.csv",
    params:
        scale=SCALE,
    log:
        log_path("peptides", "reproduction"),
    benchmark:
        bench_path("peptides_reproduction")
    threads: 1
    resources:
        **resources(500, runtime=5),
    conda:
        CONDA_ENV
    script:
        "../scripts/peptides_reproduction.py"


NOTEBOOKS["peptides"] = {
    "inputs": {
        "seed_metrics": rules.peptides_reproduction.input.metrics,  # one per model seed, in seed order
        "seed_shapley_readings": rules.peptides_reproduction.input.readings,
        "explain_summary": rules.peptides_explain.output.summary,
        "attributions": rules.peptides_explain.output.bars,
        "shapley_convergence": rules.peptides_explain.output.shapley,
        "counterfactuals": rules.peptides_explain.output.counterfactuals,
        **{f"faithfulness_{k}": PEPTIDES_SUITE_OUTPUTS[k] for k in ("curves", "summary", "skipped", "sanity",
                                                                    "uncertainty", "unit_examples")},
        "reproduction": rules.peptides_reproduction.output.table,
    },
    "figures": {f: f"{f}.png" for f in ("peptides_attributions", "peptides_shapley_convergence", "peptides_seeds",
                                        "peptides_faithfulness", "peptides_uncertainty")},
    "parameters": {"scale": SCALE, "peptide": PEPTIDES_ATTRIBUTION["peptide"], "model": PEPTIDES_MODEL,
                   "dropout_model": PEPTIDES_DROPOUT, "seeds": PEPTIDES_SEEDS},
    "category": "Hemolytic peptides (dmol chapter 10.3-10.6)",
}
REPRODUCTION.append(rules.peptides_reproduction.output.table)
REPORT_RAW.append(raw_file("hemolytic"))
for _kind in ("per_example", "skipped", "sanity", "uncertainty", "cost", "bounds"):
    LEADERBOARD[_kind] += [PEPTIDES_SUITE_OUTPUTS[_kind]] + expand(PEPTIDES_SEED_SUITE[_kind],
                                                                   seed=PEPTIDES_FAITH_SEEDS[1:])
