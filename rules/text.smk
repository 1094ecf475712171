# IMDB sentiment (explanatory masks section 3.2; gradients of counterfactuals section 3.2):
# tokenize once -> BiGRU classifier (test accuracy) -> word attributions (completeness, saturation,
# Figures 9-10 table) -> explanation mask (masked accuracy, top words) -> word deletion curves.
# Each rule gets only the config keys it uses; rule name == script name (scripts/<rule>.py).
# Methods are named in config (text.attribution.methods, text.faithfulness.methods); the
# attribution and faithfulness rules get RUN (with the plugins), training rules RUN_TRAIN.

TEXT = CFG["text"]
TEXT_DIR = f"{RESULTS}/text"
if len(TEXT["models"]) != 1:
    raise ValueError(f"text.models: the text experiment trains one classifier; found {sorted(TEXT['models'])}")
TEXT_MODEL = next(iter(TEXT["models"]))
TEXT_MODEL_DIR = f"{TEXT_DIR}/{TEXT_MODEL}"


rule text_prepare:
    input:
        imdb=raw_file("imdb"),
        glove=[raw_file("glove")] if TEXT["data"]["glove"] else [],
    output:
        cache=f"{TEXT_DIR}/data/tokens.pt",
        vocab=f"{TEXT_DIR}/data/vocab.txt",
        summary=f"{TEXT_DIR}/data/summary.json",
    params:
        data=TEXT["data"],
        embed_dim=TEXT["models"][TEXT_MODEL].get("embed_dim", 100),
        run=RUN_TRAIN,
    log:
        log_path("text", "prepare"),
    benchmark:
        bench_path("text_prepare")
    threads: 1
    resources:
        **resources(3000, 6000, runtime=(5, 15)),
    conda:
        CONDA_ENV
    script:
        "../scripts/text_prepare.py"


rule text_train:
    input:
        cache=rules.text_prepare.output.cache,
    output:
        model=f"{TEXT_MODEL_DIR}/model.pt",
        history=f"{TEXT_MODEL_DIR}/history.csv",
        metrics=f"{TEXT_MODEL_DIR}/metrics.json",
    params:
        spec=TEXT["models"][TEXT_MODEL],
        train=TEXT["train"],
        run=RUN_TRAIN,
    log:
        log_path("text", f"train_{TEXT_MODEL}"),
    benchmark:
        bench_path("text_train")
    threads: 1
    resources:
        **resources(3000, 16000, runtime=(10, 120), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/text_train.py"


rule text_attribute:
    input:
        cache=rules.text_prepare.output.cache,
        model=rules.text_train.output.model,
    output:
        scores=f"{TEXT_MODEL_DIR}/attribution/scores.pt",
        completeness=f"{TEXT_MODEL_DIR}/attribution/completeness.csv",
        path=f"{TEXT_MODEL_DIR}/attribution/path.csv",
        saturation=f"{TEXT_MODEL_DIR}/attribution/saturation.csv",
        table=f"{TEXT_MODEL_DIR}/attribution/table.json",
        summary=f"{TEXT_MODEL_DIR}/attribution/summary.json",
    params:
        cfg=TEXT["attribution"],
        run=RUN,
    log:
        log_path("text", f"attribute_{TEXT_MODEL}"),
    benchmark:
        bench_path("text_attribute")
    threads: 1
    resources:
        **resources(4000, 16000, runtime=(10, 60), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/text_attribute.py"


rule text_mask:
    input:
        cache=rules.text_prepare.output.cache,
        model=rules.text_train.output.model,
    output:
        head=f"{TEXT_MODEL_DIR}/mask/head.pt",
        history=f"{TEXT_MODEL_DIR}/mask/history.csv",
        metrics=f"{TEXT_MODEL_DIR}/mask/metrics.json",
        top_words=f"{TEXT_MODEL_DIR}/mask/top_words.csv",
        examples=f"{TEXT_MODEL_DIR}/mask/examples.json",
    params:
        cfg=TEXT["mask"],
        run=RUN_TRAIN,
    log:
        log_path("text", f"mask_{TEXT_MODEL}"),
    benchmark:
        bench_path("text_mask")
    threads: 1
    resources:
        **resources(3000, 16000, runtime=(10, 120), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/text_mask.py"


rule text_faithfulness:
    input:
        cache=rules.text_prepare.output.cache,
        model=rules.text_train.output.model,
        scores=rules.text_attribute.output.scores,
        head=rules.text_mask.output.head,
    output:
        per_example=f"{TEXT_MODEL_DIR}/faithfulness/per_example.csv",
        skipped=f"{TEXT_MODEL_DIR}/faithfulness/faithfulness_skipped.csv",
        curves=f"{TEXT_MODEL_DIR}/faithfulness/curves.csv",
        summary=f"{TEXT_MODEL_DIR}/faithfulness/summary.csv",
    params:
        cfg=TEXT["faithfulness"],
        model=TEXT_MODEL,
        run=RUN,
    log:
        log_path("text", f"faithfulness_{TEXT_MODEL}"),
    benchmark:
        bench_path("text_faithfulness")
    threads: 1
    resources:
        **resources(3000, 16000, runtime=(10, 60), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/text_faithfulness.py"


rule text_reproduction:
    input:
        metrics=rules.text_train.output.metrics,
        mask_metrics=rules.text_mask.output.metrics,
        completeness=rules.text_attribute.output.completeness,
        saturation=rules.text_attribute.output.saturation,
        faithfulness=rules.text_faithfulness.output.summary,
        top_words=rules.text_mask.output.top_words,
    output:
        table=f"{TEXT_DIR}/reproduction.csv",
    params:
        scale=SCALE,
    log:
        log_path("text", "reproduction"),
    benchmark:
        bench_path("text_reproduction")
    resources:
        **resources(500, runtime=5),
    conda:
        CONDA_ENV
    script:
        "../scripts/text_reproduction.py"


NOTEBOOKS["text"] = {
    "inputs": [
        rules.text_prepare.output.summary,
        *rules.text_train.output[1:],
        *[f for k, f in rules.text_attribute.output.items() if k != "scores"],
        *[f for k, f in rules.text_mask.output.items() if k != "head"],
        *rules.text_faithfulness.output,
        rules.text_reproduction.output.table,
    ],
    "figures": [
        "text_training.png",
        "text_completeness.png",
        "text_saturation.png",
        "text_table.png",
        "text_top_words.png",
        "text_faithfulness.png",
    ],
    "parameters": {"scale": SCALE, "model": TEXT_MODEL},
    "category": "IMDB text (explanatory masks 3.2, counterfactuals 3.2)",
}
REPRODUCTION.append(rules.text_reproduction.output.table)
REPORT_RAW.append(raw_file("imdb"))
