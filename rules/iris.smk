# Iris (chainer-chemistry saliency blog, tabular example): train the MLP on all flowers ->
# gradient importance (VanillaGrad, SmoothGrad, BayesGrad) beside a random forest's -> rows.
# Iris ships with scikit-learn, so there is no download rule and no raw file.

IRIS = CFG["iris"]
IRIS_DIR = f"{RESULTS}/iris"
IRIS_MODEL = IRIS["data"]["model"]


rule train_iris:
    output:
        model=f"{IRIS_DIR}/model.pt",
        history=f"{IRIS_DIR}/history.csv",
        metrics=f"{IRIS_DIR}/metrics.json",
    params:
        spec=IRIS["models"][IRIS_MODEL],
        train=IRIS["train"],
        run=RUN,
    log:
        f"{LOGS}/iris/train.log",
    benchmark:
        f"{BENCH}/train_iris.tsv"
    threads: 1
    resources:
        mem_mb=mem(1000),
        runtime=runtime_min(5, 10),
        gpu=GPU,
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
    params:
        attribution=IRIS["attribution"],
        forest=IRIS["importance"],
        run=RUN,
    log:
        f"{LOGS}/iris/importance.log",
    benchmark:
        f"{BENCH}/iris_importance.tsv"
    threads: 1
    resources:
        mem_mb=mem(1500),
        runtime=runtime_min(5, 10),
        gpu=GPU,
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/iris_importance.py"


rule iris_reproduction:
    input:
        agreement=rules.iris_importance.output.agreement,
    output:
        table=f"{IRIS_DIR}/reproduction.csv",
    params:
        scale=SCALE,
    log:
        f"{LOGS}/iris/reproduction.log",
    benchmark:
        f"{BENCH}/iris_reproduction.tsv"
    threads: 1
    resources:
        mem_mb=mem(500),
        runtime=5,
    conda:
        CONDA_ENV
    script:
        "../scripts/iris_reproduction.py"


NOTEBOOKS["iris"] = {
    "inputs": [rules.train_iris.output.history, rules.train_iris.output.metrics, *rules.iris_importance.output, rules.iris_reproduction.output.table],
    "figures": ["iris_importance.png"],
    "parameters": {"scale": SCALE, "mc_samples": IRIS["attribution"]["mc_samples"]},
    "category": "Iris (saliency blog, tabular)",
}
REPRODUCTION.append(rules.iris_reproduction.output.table)
