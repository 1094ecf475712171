# Table 1 in every modality (issue 29): known-answer tasks made from each experiment's data
# (groundtruth_make) -> n_models models per task (groundtruth_train) -> the reliance check and every
# method's localisation scores per model (groundtruth_score) -> the tables over models
# (groundtruth_gather) -> the notebook's "Table 1 in every modality" section.
# `snakemake --cores N groundtruth` runs this stage alone.

GT = CFG["groundtruth"]
GT_DIR = f"{RESULTS}/groundtruth"
GT_TASKS = list(GT["tasks"])
GT_TASK_INPUTS = {
    "tables": {},
    "images": {"cache": rules.vision_data.output.cache},
    "text": {"cache": rules.text_prepare.output.cache},
    "peptides": {"raw": raw_file("hemolytic")},
}
GT_RUNS = [(task, model, r) for task in GT_TASKS for model in GT["tasks"][task]["models"]
           for r in range(int(GT["n_models"]))]
GT_SCORED = ("reliance", "verdict", "localisation", "skipped")
GT_TABLES = ("localisation", "reliance", "verdicts", "skipped", "summary", "comparisons", "scores")


rule groundtruth_make:
    input:
        unpack(lambda wc: GT_TASK_INPUTS[wc.task]),
    output:
        task=f"{GT_DIR}/{{task}}/task.pt",
        summary=f"{GT_DIR}/{{task}}/summary.json",
    params:
        data=lambda wc: GT["tasks"][wc.task]["data"],
        seed=config["seed"],
    wildcard_constraints:
        task="|".join(GT_TASKS),
    log:
        log_path("groundtruth", "make_{task}"),
    benchmark:
        bench_path("groundtruth_make/{task}")
    threads: 1
    resources:
        **resources(2500, 8000, runtime=(5, 15)),
    conda:
        CONDA_ENV
    script:
        "../scripts/groundtruth_make.py"


rule groundtruth_train:
    input:
        task=rules.groundtruth_make.output.task,
    output:
        model=f"{GT_DIR}/{{task}}/{{model}}/{{replicate}}/model.pt",
        metrics=f"{GT_DIR}/{{task}}/{{model}}/{{replicate}}/metrics.json",
    params:
        spec=lambda wc: GT["tasks"][wc.task]["models"][wc.model],
        train=lambda wc: GT["tasks"][wc.task]["train"],
        run=RUN_TRAIN,
    wildcard_constraints:
        task="|".join(GT_TASKS),
        replicate="[0-9]+",
    log:
        log_path("groundtruth", "train_{task}_{model}_{replicate}"),
    benchmark:
        bench_path("groundtruth_train/{task}_{model}_{replicate}")
    threads: long_training_threads()
    resources:
        **resources(2500, 8000, runtime=(10, 60), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/groundtruth_train.py"


rule groundtruth_score:
    input:
        task=rules.groundtruth_make.output.task,
        model=rules.groundtruth_train.output.model,
    output:
        **{k: f"{GT_DIR}/{{task}}/{{model}}/{{replicate}}/{k}.csv" for k in GT_SCORED},
        examples=f"{GT_DIR}/{{task}}/{{model}}/{{replicate}}/examples.pt",
    params:
        section=lambda wc: with_method_defaults(GT["tasks"][wc.task]["attribution"]),
        reliance=GT["reliance"],
        n_scored=GT["n_scored"],
        n_shown=GT["n_shown"],
        run=RUN,
    wildcard_constraints:
        task="|".join(GT_TASKS),
        replicate="[0-9]+",
    log:
        log_path("groundtruth", "score_{task}_{model}_{replicate}"),
    benchmark:
        bench_path("groundtruth_score/{task}_{model}_{replicate}")
    threads: 1
    resources:
        **resources(2500, 8000, runtime=(10, 60), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/groundtruth_score.py"


rule groundtruth_gather:
    input:
        **{k: [f"{GT_DIR}/{t}/{m}/{r}/{k}.csv" for t, m, r in GT_RUNS] for k in GT_SCORED},
        examples=[f"{GT_DIR}/{t}/{m}/{r}/examples.pt" for t, m, r in GT_RUNS],
        tasks=[f"{GT_DIR}/{t}/summary.json" for t in GT_TASKS],
    output:
        **{k: f"{GT_DIR}/{k}.csv" for k in GT_TABLES},
        examples=f"{GT_DIR}/examples.pt",
    log:
        log_path("groundtruth", "gather"),
    benchmark:
        bench_path("groundtruth_gather")
    threads: 1
    resources:
        **resources(1000, runtime=5),
    conda:
        CONDA_ENV
    script:
        "../scripts/groundtruth_gather.py"


rule groundtruth:
    input:
        rules.groundtruth_gather.output,


NOTEBOOKS["groundtruth"] = {
    "inputs": {k: getattr(rules.groundtruth_gather.output, k) for k in GT_TABLES + ("examples",)},
    "figures": {f: f"{f}.png" for f in ("groundtruth_table", "groundtruth_reliance", "groundtruth_examples")},
    "parameters": {"scale": SCALE, "n_models": GT["n_models"]},
    "category": "Table 1 in every modality",
}
