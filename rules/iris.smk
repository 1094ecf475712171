# Iris (chainer-chemistry saliency blog, tabular example): train the MLP on all flowers ->
# gradient importance (every configured method) beside a random forest's -> rows;
#   -> the faithfulness protocol over the four measurements (sanity check, uncertainty, cost);
# the same MLP trained on permuted labels -> the data-randomisation test (every faithfulness method).
# The faithfulness protocol runs on iris.faithfulness.model_seeds trained MLPs (one job each, rows carry
# the model seed as replicate): seed 0 is the MLP above, seed s > 0 the same recipe with the derived seed.
# Iris ships with scikit-learn, so there is no download rule and no raw file.

IRIS = CFG["iris"]
IRIS_DIR = f"{RESULTS}/iris"
IRIS_MODEL = IRIS["data"]["model"]
# What the faithfulness study reads of the attribution section: how SmoothGrad's sigma is read (noise_mode).
IRIS_NOISE = {k: v for k, v in IRIS["attribution"].items() if k in ("noise_mode",)}
# The leaderboard protocol's tables (xairepro.experiments.suite) and the sampled methods' per-feature
# mean and sd of three flowers (the notebook's sd bars).
IRIS_SUITE_OUTPUTS = {k: f"{IRIS_DIR}/faithfulness/{f}" for k, f in (
    ("per_example", "per_example.csv"), ("curves", "curves.csv"), ("summary", "summary.csv"),
    ("skipped", "faithfulness_skipped.csv"), ("sanity", "sanity.csv"), ("uncertainty", "uncertainty.csv"),
    ("cost", "cost.csv"), ("unit_examples", "uncertainty_examples.csv"), ("bounds", "bounds.csv"))}
IRIS_SEEDS = model_seeds(IRIS["faithfulness"], "iris.faithfulness")
IRIS_SEED_DIR = f"{IRIS_DIR}/seed{{seed}}"  # model seeds 1..n-1: the MLP and its faithfulness tables
IRIS_FAITHFULNESS = {k: v for k, v in IRIS["faithfulness"].items() if k != "model_seeds"}


rule iris_train:
    output:
        model=f"{IRIS_DIR}/model.pt",
        history=f"{IRIS_DIR}/history.csv",
        metrics=f"{IRIS_DIR}/metrics.json",
    params:
        spec=IRIS["models"][IRIS_MODEL],
        train=IRIS["train"],
        labels="true",
        run=RUN_TRAIN,
    log:
        log_path("iris", "train"),
    benchmark:
        bench_path("iris_train")
    threads: 1
    resources:
        **resources(1000, runtime=(5, 10), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/iris_train.py"


# The data-randomisation test's model: the same recipe and seed on labels permuted by a seeded shuffle.
use rule iris_train as iris_train_permuted with:
    output:
        model=f"{IRIS_DIR}/permuted/model.pt",
        history=f"{IRIS_DIR}/permuted/history.csv",
        metrics=f"{IRIS_DIR}/permuted/metrics.json",
    params:
        spec=IRIS["models"][IRIS_MODEL],
        train=IRIS["train"],
        labels="permuted",
        run=RUN_TRAIN,
    log:
        log_path("iris", "train_permuted"),
    benchmark:
        bench_path("iris_train_permuted")


# Model seeds 1..n-1 of the faithfulness protocol: the same recipe, the seed derived for s.
use rule iris_train as iris_train_seed with:
    output:
        model=f"{IRIS_SEED_DIR}/model.pt",
        history=f"{IRIS_SEED_DIR}/history.csv",
        metrics=f"{IRIS_SEED_DIR}/metrics.json",
    params:
        spec=IRIS["models"][IRIS_MODEL],
        train=IRIS["train"],
        labels="true",
        run=lambda wildcards: model_seed_run(RUN_TRAIN, wildcards.seed),
    log:
        log_path("iris", "train_seed{seed}"),
    benchmark:
        bench_path("iris_train_seed/seed{seed}")


rule iris_importance:
    input:
        model=rules.iris_train.output.model,
    output:
        importance=f"{IRIS_DIR}/importance.csv",
        agreement=f"{IRIS_DIR}/agreement.csv",
        skipped=f"{IRIS_DIR}/importance_skipped.csv",
    params:
        cfg={"attribution": IRIS["attribution"], "importance": IRIS["importance"]},
        run=RUN,
    log:
        log_path("iris", "importance"),
    benchmark:
        bench_path("iris_importance")
    threads: 1
    resources:
        **resources(1500, runtime=(5, 10), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/iris_importance.py"


rule iris_faithfulness:
    input:
        model=rules.iris_train.output.model,
    output:
        **IRIS_SUITE_OUTPUTS,
    params:
        cfg={"attribution": IRIS_NOISE, "faithfulness": IRIS_FAITHFULNESS},
        model_name=IRIS_MODEL,
        replicate=0,
        run=RUN,
    log:
        log_path("iris", "faithfulness"),
    benchmark:
        bench_path("iris_faithfulness")
    threads: 1
    resources:
        **resources(1000, runtime=(5, 10), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/iris_faithfulness.py"


use rule iris_faithfulness as iris_faithfulness_seed with:
    input:
        model=f"{IRIS_SEED_DIR}/model.pt",
    output:
        **{k: f"{IRIS_SEED_DIR}/faithfulness/{os.path.basename(v)}" for k, v in IRIS_SUITE_OUTPUTS.items()},
    params:
        cfg={"attribution": IRIS_NOISE, "faithfulness": IRIS_FAITHFULNESS},
        model_name=IRIS_MODEL,
        replicate=lambda wildcards: int(wildcards.seed),
        run=RUN,
    log:
        log_path("iris", "faithfulness_seed{seed}"),
    benchmark:
        bench_path("iris_faithfulness_seed/seed{seed}")


rule iris_data_randomisation:
    input:
        model=rules.iris_train.output.model,
        permuted=rules.iris_train_permuted.output.model,
    output:
        rows=f"{IRIS_DIR}/data_randomisation/rows.csv",
        summary=f"{IRIS_DIR}/data_randomisation/summary.csv",
    params:
        cfg={"attribution": IRIS_NOISE, "faithfulness": IRIS["faithfulness"]},
        model_name=IRIS_MODEL,
        run=RUN,
    log:
        log_path("iris", "data_randomisation"),
    benchmark:
        bench_path("iris_data_randomisation")
    threads: 1
    resources:
        **resources(1000, runtime=(5, 10), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/iris_data_randomisation.py"


rule iris_reproduction:
    input:
        agreement=rules.iris_importance.output.agreement,
    output:
        table=f"{IRIS_DIR}/reproduction.csv",
    params:
        scale=SCALE,
    log:
        log_path("iris", "reproduction"),
    benchmark:
        bench_path("iris_reproduction")
    threads: 1
    resources:
        **resources(500, runtime=5),
    conda:
        CONDA_ENV
    script:
        "../scripts/iris_reproduction.py"


NOTEBOOKS["iris"] = {
    "inputs": {
        "metrics": rules.iris_train.output.metrics,
        "importance": rules.iris_importance.output.importance,
        "agreement": rules.iris_importance.output.agreement,
        **{f"faithfulness_{k}": IRIS_SUITE_OUTPUTS[k] for k in ("curves", "summary", "skipped", "sanity", "uncertainty",
                                                                "unit_examples")},
        "permuted_metrics": rules.iris_train_permuted.output.metrics,
        "data_randomisation_summary": rules.iris_data_randomisation.output.summary,
        "reproduction": rules.iris_reproduction.output.table,
    },
    "figures": {f: f"{f}.png" for f in ("iris_importance", "iris_faithfulness", "iris_uncertainty",
                                        "iris_data_randomisation")},
    "parameters": {"scale": SCALE, "mc_samples": IRIS["attribution"]["mc_samples"]},
    "category": "Iris (saliency blog, tabular)",
}
REPRODUCTION.append(rules.iris_reproduction.output.table)
for _kind in ("per_example", "skipped", "sanity", "uncertainty", "cost", "bounds"):
    LEADERBOARD[_kind] += [IRIS_SUITE_OUTPUTS[_kind]] + expand(
        f"{IRIS_SEED_DIR}/faithfulness/{os.path.basename(IRIS_SUITE_OUTPUTS[_kind])}", seed=IRIS_SEEDS[1:])
LEADERBOARD["data_randomisation"].append(rules.iris_data_randomisation.output.rows)
