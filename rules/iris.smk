# Iris (chainer-chemistry saliency blog, tabular example): train the MLP on all flowers ->
# gradient importance (every configured method) beside a random forest's -> rows;
#                                                  -> faithfulness over the four measurements.
# Iris ships with scikit-learn, so there is no download rule and no raw file.

IRIS = CFG["iris"]
IRIS_DIR = f"{RESULTS}/iris"
IRIS_MODEL = IRIS["data"]["model"]
# What the faithfulness study reads of the attribution section: SmoothGrad's noise.
IRIS_NOISE = {k: v for k, v in IRIS["attribution"].items() if k in ("smoothgrad_noise", "noise_mode")}


rule train_iris:
    output:
        model=f"{IRIS_DIR}/model.pt",
        history=f"{IRIS_DIR}/history.csv",
        metrics=f"{IRIS_DIR}/metrics.json",
    params:
        spec=IRIS["models"][IRIS_MODEL],
        train=IRIS["train"],
        run=RUN_TRAIN,
    log:
        log_path("iris", "train"),
    benchmark:
        bench_path("train_iris")
    threads: 1
    resources:
        **resources(1000, runtime=(5, 10), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/train_iris.py"


rule iris_importance:
    input:
        model=rules.train_iris.output.model,
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
        model=rules.train_iris.output.model,
    output:
        per_example=f"{IRIS_DIR}/faithfulness/per_example.csv",
        curves=f"{IRIS_DIR}/faithfulness/curves.csv",
        summary=f"{IRIS_DIR}/faithfulness/summary.csv",
        skipped=f"{IRIS_DIR}/faithfulness/faithfulness_skipped.csv",
    params:
        cfg={"attribution": IRIS_NOISE, "faithfulness": IRIS["faithfulness"]},
        model_name=IRIS_MODEL,
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
    "inputs": [rules.train_iris.output.history, rules.train_iris.output.metrics, *rules.iris_importance.output,
               *rules.iris_faithfulness.output, rules.iris_reproduction.output.table],
    "figures": ["iris_importance.png", "iris_faithfulness.png"],
    "parameters": {"scale": SCALE, "mc_samples": IRIS["attribution"]["mc_samples"]},
    "category": "Iris (saliency blog, tabular)",
}
REPRODUCTION.append(rules.iris_reproduction.output.table)
