# CIFAR-10 (gradients of counterfactuals 2.1-2.5, explanatory masks 3.1, the saliency blog's images):
# raw archive -> tensor cache -> classifier + its dropout variant (checkpoint each epoch, resumable)
#   classifier -> saturation, interior gradients, IG vs gradient, completeness
#   classifier -> explanation mask network
#   classifier + dropout variant + mask -> pixel-ablation AOPC (one faithfulness metric)
#   dropout variant -> blog saliency grid (Vanilla/Smooth/Bayes/BayesSmooth + BayesGrad sd)
# Each rule gets only the config keys it uses.

VISION = CFG["vision"]
VISION_DIR = f"{RESULTS}/vision"
VISION_MODELS = list(VISION["models"])


rule vision_data:
    input:
        raw_file("cifar10"),
    output:
        cache=f"{VISION_DIR}/data/cifar10.pt",
        summary=f"{VISION_DIR}/data/summary.json",
    params:
        data={k: VISION["data"][k] for k in ("n_train_per_class", "n_test_per_class")},
    log:
        f"{LOGS}/vision/data.log",
    benchmark:
        f"{BENCH}/vision_data.tsv"
    threads: 1
    resources:
        mem_mb=mem(1500, 4000),
        runtime=runtime_min(5, 15),
    conda:
        CONDA_ENV
    script:
        "../scripts/vision_data.py"


rule train_vision:
    input:
        cache=rules.vision_data.output.cache,
    output:
        model=f"{VISION_DIR}/models/{{model}}/model.pt",
        history=f"{VISION_DIR}/models/{{model}}/history.csv",
        metrics=f"{VISION_DIR}/models/{{model}}/metrics.json",
    params:
        spec=lambda wc: VISION["models"][wc.model],
        train=VISION["train"],
        augmentation=VISION["data"]["augmentation"],
        run=RUN,
    wildcard_constraints:
        model="|".join(VISION_MODELS),
    log:
        f"{LOGS}/vision/train_{{model}}.log",
    benchmark:
        f"{BENCH}/train_vision/{{model}}.tsv"
    threads: 1
    resources:
        mem_mb=mem(2500, 16000),
        runtime=runtime_min(10, 60),
        gpu=GPU,
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/vision_train.py"


rule vision_mask:
    input:
        cache=rules.vision_data.output.cache,
        model=f"{VISION_DIR}/models/classifier/model.pt",
    output:
        mask=f"{VISION_DIR}/mask/mask_net.pt",
        history=f"{VISION_DIR}/mask/history.csv",
        metrics=f"{VISION_DIR}/mask/metrics.json",
        examples=f"{VISION_DIR}/mask/examples.npz",
    params:
        cfg=VISION["mask"],
        run=RUN,
    log:
        f"{LOGS}/vision/mask.log",
    benchmark:
        f"{BENCH}/vision_mask.tsv"
    threads: 1
    resources:
        mem_mb=mem(2500, 16000),
        runtime=runtime_min(10, 60),
        gpu=GPU,
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/vision_mask.py"


rule vision_counterfactuals:
    input:
        cache=rules.vision_data.output.cache,
        model=f"{VISION_DIR}/models/classifier/model.pt",
    output:
        curves=f"{VISION_DIR}/counterfactuals/saturation.csv",
        trend=f"{VISION_DIR}/counterfactuals/interior_trend.csv",
        completeness=f"{VISION_DIR}/counterfactuals/completeness.csv",
        arrays=f"{VISION_DIR}/counterfactuals/maps.npz",
        summary=f"{VISION_DIR}/counterfactuals/summary.json",
    params:
        cfg=dict(VISION["counterfactuals"], ig_steps=VISION["attribution"]["ig_steps"]),
        run=RUN,
    log:
        f"{LOGS}/vision/counterfactuals.log",
    benchmark:
        f"{BENCH}/vision_counterfactuals.tsv"
    threads: 1
    resources:
        mem_mb=mem(5500, 16000),
        runtime=runtime_min(10, 30),
        gpu=GPU,
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/vision_counterfactuals.py"


rule vision_aopc:
    input:
        cache=rules.vision_data.output.cache,
        classifier=f"{VISION_DIR}/models/classifier/model.pt",
        dropout=f"{VISION_DIR}/models/dropout/model.pt",
        mask=rules.vision_mask.output.mask,
    output:
        per_example=f"{VISION_DIR}/aopc/per_example.csv",
        curves=f"{VISION_DIR}/aopc/curves.csv",
        summary=f"{VISION_DIR}/aopc/summary.csv",
        stats=f"{VISION_DIR}/aopc/stats.json",
    params:
        cfg=dict(VISION["aopc"], **VISION["attribution"]),
        run=RUN,
    log:
        f"{LOGS}/vision/aopc.log",
    benchmark:
        f"{BENCH}/vision_aopc.tsv"
    threads: 1
    resources:
        mem_mb=mem(5000, 16000),
        runtime=runtime_min(10, 60),
        gpu=GPU,
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/vision_aopc.py"


rule vision_saliency:
    input:
        cache=rules.vision_data.output.cache,
        model=f"{VISION_DIR}/models/dropout/model.pt",
    output:
        maps=f"{VISION_DIR}/saliency/maps.npz",
    params:
        cfg=dict(VISION["saliency"], **{k: VISION["attribution"][k] for k in ("mc_samples", "smoothgrad_noise")}),
        run=RUN,
    log:
        f"{LOGS}/vision/saliency.log",
    benchmark:
        f"{BENCH}/vision_saliency.tsv"
    threads: 1
    resources:
        mem_mb=mem(2000, 8000),
        runtime=runtime_min(5, 15),
        gpu=GPU,
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/vision_saliency.py"


rule vision_reproduction:
    input:
        classifier=f"{VISION_DIR}/models/classifier/metrics.json",
        mask=rules.vision_mask.output.metrics,
        counterfactuals=rules.vision_counterfactuals.output.summary,
        aopc_summary=rules.vision_aopc.output.summary,
        aopc_stats=rules.vision_aopc.output.stats,
        saliency=rules.vision_saliency.output.maps,
    output:
        table=f"{VISION_DIR}/reproduction.csv",
    params:
        scale=SCALE,
    log:
        f"{LOGS}/vision/reproduction.log",
    threads: 1
    resources:
        mem_mb=mem(500),
        runtime=5,
    conda:
        CONDA_ENV
    script:
        "../scripts/vision_reproduction.py"


NOTEBOOKS["vision"] = {
    "inputs": [
        rules.vision_data.output.summary,
        *expand(f"{VISION_DIR}/models/{{model}}/{{f}}", model=VISION_MODELS, f=["history.csv", "metrics.json"]),
        *rules.vision_mask.output[1:],
        *rules.vision_counterfactuals.output,
        *rules.vision_aopc.output,
        rules.vision_saliency.output.maps,
        rules.vision_reproduction.output.table,
    ],
    "figures": [
        "vision_training.png",
        "vision_saturation.png",
        "vision_interior.png",
        "vision_ig_grid.png",
        "vision_completeness.png",
        "vision_aopc.png",
        "vision_masks.png",
        "vision_saliency.png",
    ],
    "parameters": {"scale": SCALE, "ig_steps": VISION["attribution"]["ig_steps"],
                   "mc_samples": VISION["attribution"]["mc_samples"]},
    "category": "CIFAR-10 (counterfactuals 2.1-2.5, masks 3.1, saliency blog)",
}
REPRODUCTION.append(rules.vision_reproduction.output.table)
REPORT_RAW.append(raw_file("cifar10"))
