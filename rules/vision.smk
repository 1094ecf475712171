# CIFAR-10 (gradients of counterfactuals 2.1-2.5 and Fig. 12, explanatory masks 3.1, the saliency blog's images):
# raw archive -> tensor cache -> classifier -> its dropout variant, fine-tuned from it (vision.finetune)
#   (checkpoint each epoch, resumable)
#   classifier -> saturation of the score and of every block, interior gradients, IG vs gradient, completeness
#   classifier -> one explanation mask network per mask seed (masked accuracy over seeds)
#   classifier + dropout variant + seed-0 mask -> the faithfulness protocol (pixel-ablation AOPC of every
#     configured method, methods that cannot apply with the reason, sanity check, uncertainty, cost)
#   dropout variant -> blog saliency grid (each configured method's map and its spread)
#   the faithfulness protocol on aopc.model_seeds trained networks, one job each (rows carry the model seed
#     as replicate): seed 0 the classifier, dropout variant and seed-0 mask above; seed s > 0 a classifier
#     of the same recipe with the seed derived for s, its dropout variant fine-tuned from it and its own
#     mask network, in models/<name>/seed<s>/ (tables in aopc/seed<s>/)
# Each rule gets only the config keys it uses.

VISION = CFG["vision"]
VISION_DIR = f"{RESULTS}/vision"
VISION_MODELS = list(VISION["models"])
VISION_ATTR = VISION["attribution"]
VISION_FINETUNE = VISION.get("finetune") or {}
VISION_MASK_SEEDS = list(range(int(VISION["mask"]["n_seeds"])))
VISION_MASK = f"{VISION_DIR}/mask/seed{{seed}}"
VISION_AOPC_SEEDS = model_seeds(VISION["aopc"], "vision.aopc")
VISION_AOPC = {k: v for k, v in VISION["aopc"].items() if k != "model_seeds"}
VISION_SEED_MODEL = f"{VISION_DIR}/models/{{model}}/seed{{seed}}"   # model seed s > 0 of vision.models
for _name, _ft in VISION_FINETUNE.items():  # a model of vision.models, from one trained from scratch
    if _name not in VISION["models"] or _ft["from"] not in set(VISION["models"]) - set(VISION_FINETUNE):
        raise ValueError(f"vision.finetune.{_name}: not a model fine-tuned from a model trained from scratch")


rule vision_data:
    input:
        raw_file("cifar10"),
    output:
        cache=f"{VISION_DIR}/data/cifar10.pt",
        summary=f"{VISION_DIR}/data/summary.json",
    params:
        data={k: VISION["data"][k] for k in ("n_train_per_class", "n_test_per_class")},
    log:
        log_path("vision", "data"),
    benchmark:
        bench_path("vision_data")
    priority: PRIORITY["vision"]
    threads: 1
    resources:
        **resources(1500, 4000, runtime=(5, 15)),
    conda:
        CONDA_ENV
    script:
        "../scripts/vision_data.py"


rule vision_train:
    input:
        # the cache, and for a fine-tuned model the model whose weights it starts from
        unpack(lambda wc: dict(cache=rules.vision_data.output.cache,
                               **({"init": f"{VISION_DIR}/models/{VISION_FINETUNE[wc.model]['from']}/model.pt"}
                                  if wc.model in VISION_FINETUNE else {}))),
    output:
        model=f"{VISION_DIR}/models/{{model}}/model.pt",
        history=f"{VISION_DIR}/models/{{model}}/history.csv",
        metrics=f"{VISION_DIR}/models/{{model}}/metrics.json",
    params:
        spec=lambda wc: VISION["models"][wc.model],
        # the shared train section, with a fine-tuned model's own epochs and one-cycle peak
        train=lambda wc: dict(VISION["train"], **{k: v for k, v in VISION_FINETUNE.get(wc.model, {}).items()
                                                  if k in ("epochs", "lr")}),
        augmentation=VISION["data"]["augmentation"],
        channels_last=VISION["data"].get("channels_last", False),
        run=RUN_TRAIN,
    wildcard_constraints:
        model="|".join(VISION_MODELS),
    log:
        log_path("vision", "train_{model}"),
    benchmark:
        bench_path("vision_train/{model}")
    priority: PRIORITY["vision"]
    threads: long_training_threads()
    resources:
        **resources(2500, 16000, runtime=(10, 60), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/vision_train.py"


# Model seeds 1..n-1 of the faithfulness protocol: the same recipe with the seed derived for s (a
# fine-tuned model starts from the model of the same seed).
use rule vision_train as vision_train_seed with:
    input:
        unpack(lambda wc: dict(cache=rules.vision_data.output.cache,
                               **({"init": f"{VISION_DIR}/models/{VISION_FINETUNE[wc.model]['from']}/seed{wc.seed}/model.pt"}
                                  if wc.model in VISION_FINETUNE else {}))),
    output:
        model=f"{VISION_SEED_MODEL}/model.pt",
        history=f"{VISION_SEED_MODEL}/history.csv",
        metrics=f"{VISION_SEED_MODEL}/metrics.json",
    params:
        spec=lambda wc: VISION["models"][wc.model],
        train=lambda wc: dict(VISION["train"], **{k: v for k, v in VISION_FINETUNE.get(wc.model, {}).items()
                                                  if k in ("epochs", "lr")}),
        augmentation=VISION["data"]["augmentation"],
        channels_last=VISION["data"].get("channels_last", False),
        run=lambda wc: model_seed_run(RUN_TRAIN, wc.seed),
    log:
        log_path("vision", "train_{model}_seed{seed}"),
    benchmark:
        bench_path("vision_train_seed/{model}_seed{seed}")


rule vision_mask:
    input:
        cache=rules.vision_data.output.cache,
        model=f"{VISION_DIR}/models/classifier/model.pt",
    output:
        mask=f"{VISION_MASK}/mask_net.pt",
        history=f"{VISION_MASK}/history.csv",
        metrics=f"{VISION_MASK}/metrics.json",
        examples=f"{VISION_MASK}/examples.npz",
    params:
        cfg={k: v for k, v in VISION["mask"].items() if k != "n_seeds"},
        run=RUN_TRAIN,
    log:
        log_path("vision", "mask_seed{seed}"),
    benchmark:
        bench_path("vision_mask/seed{seed}")
    priority: PRIORITY["vision"]
    threads: 1
    resources:
        **resources(2500, 16000, runtime=(10, 60), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/vision_mask.py"


# The explained mask network of classifier seed s > 0 (mask seed s of that classifier's run).
use rule vision_mask as vision_mask_model_seed with:
    input:
        cache=rules.vision_data.output.cache,
        model=f"{VISION_DIR}/models/classifier/seed{{seed}}/model.pt",
    output:
        mask=f"{VISION_DIR}/models/classifier/seed{{seed}}/mask/mask_net.pt",
        history=f"{VISION_DIR}/models/classifier/seed{{seed}}/mask/history.csv",
        metrics=f"{VISION_DIR}/models/classifier/seed{{seed}}/mask/metrics.json",
        examples=f"{VISION_DIR}/models/classifier/seed{{seed}}/mask/examples.npz",
    params:
        cfg={k: v for k, v in VISION["mask"].items() if k != "n_seeds"},
        run=lambda wc: model_seed_run(RUN_TRAIN, wc.seed),
    log:
        log_path("vision", "mask_classifier_seed{seed}"),
    benchmark:
        bench_path("vision_mask_model_seed/seed{seed}")


rule vision_counterfactuals:
    input:
        cache=rules.vision_data.output.cache,
        model=f"{VISION_DIR}/models/classifier/model.pt",
    output:
        curves=f"{VISION_DIR}/counterfactuals/saturation.csv",
        layers=f"{VISION_DIR}/counterfactuals/layer_saturation.csv",
        trend=f"{VISION_DIR}/counterfactuals/interior_trend.csv",
        completeness=f"{VISION_DIR}/counterfactuals/completeness.csv",
        arrays=f"{VISION_DIR}/counterfactuals/maps.npz",
        summary=f"{VISION_DIR}/counterfactuals/summary.json",
    params:
        cfg=dict(VISION["counterfactuals"], n_steps=VISION_ATTR["method_options"]["integrated_gradients"]["n_steps"]),
        run=RUN,
    log:
        log_path("vision", "counterfactuals"),
    benchmark:
        bench_path("vision_counterfactuals")
    threads: 1
    resources:
        **resources(5500, 16000, runtime=(10, 30), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/vision_counterfactuals.py"


VISION_AOPC_CFG = dict(VISION_AOPC, **attribution_params(VISION_ATTR, VISION_AOPC["methods"]
                                                         + list(VISION_AOPC.get("dropout_methods") or []),
                                                         [k for k in VISION_ATTR if k != "method_options"],
                                                         study=VISION_AOPC))


rule vision_aopc:
    input:
        cache=rules.vision_data.output.cache,
        classifier=f"{VISION_DIR}/models/classifier/model.pt",
        dropout=f"{VISION_DIR}/models/dropout/model.pt",
        mask=f"{VISION_MASK.format(seed=VISION_MASK_SEEDS[0])}/mask_net.pt",
    output:
        per_example=f"{VISION_DIR}/aopc/per_example.csv",
        skipped=f"{VISION_DIR}/aopc/faithfulness_skipped.csv",
        curves=f"{VISION_DIR}/aopc/curves.csv",
        summary=f"{VISION_DIR}/aopc/summary.csv",
        sanity=f"{VISION_DIR}/aopc/sanity.csv",
        uncertainty=f"{VISION_DIR}/aopc/uncertainty.csv",
        cost=f"{VISION_DIR}/aopc/cost.csv",
        bounds=f"{VISION_DIR}/aopc/bounds.csv",
        stats=f"{VISION_DIR}/aopc/stats.json",
    params:
        cfg=VISION_AOPC_CFG,
        replicate=0,
        run=RUN,
    log:
        log_path("vision", "aopc"),
    benchmark:
        bench_path("vision_aopc")
    priority: PRIORITY["vision"]
    threads: 1
    resources:
        **resources(5000, 16000, runtime=(15, 90), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/vision_aopc.py"


use rule vision_aopc as vision_aopc_seed with:
    input:
        cache=rules.vision_data.output.cache,
        classifier=f"{VISION_DIR}/models/classifier/seed{{seed}}/model.pt",
        dropout=f"{VISION_DIR}/models/dropout/seed{{seed}}/model.pt",
        mask=f"{VISION_DIR}/models/classifier/seed{{seed}}/mask/mask_net.pt",
    output:
        **{k: f"{VISION_DIR}/aopc/seed{{seed}}/{os.path.basename(v)}" for k, v in rules.vision_aopc.output.items()},
    params:
        cfg=VISION_AOPC_CFG,
        replicate=lambda wc: int(wc.seed),
        run=RUN,
    log:
        log_path("vision", "aopc_seed{seed}"),
    benchmark:
        bench_path("vision_aopc_seed/seed{seed}")


rule vision_saliency:
    input:
        cache=rules.vision_data.output.cache,
        model=f"{VISION_DIR}/models/dropout/model.pt",
    output:
        maps=f"{VISION_DIR}/saliency/maps.npz",
    params:
        cfg=dict(VISION["saliency"], **attribution_params(VISION_ATTR, VISION["saliency"]["methods"],
                                                          ("mc_samples",), study=VISION["saliency"])),
        run=RUN,
    log:
        log_path("vision", "saliency"),
    benchmark:
        bench_path("vision_saliency")
    threads: 1
    resources:
        **resources(2000, 8000, runtime=(5, 15), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/vision_saliency.py"


rule vision_reproduction:
    input:
        classifier=f"{VISION_DIR}/models/classifier/metrics.json",
        masks=expand(rules.vision_mask.output.metrics, seed=VISION_MASK_SEEDS),
        counterfactuals=rules.vision_counterfactuals.output.summary,
        aopc_summary=rules.vision_aopc.output.summary,
        aopc_stats=rules.vision_aopc.output.stats,
        saliency=rules.vision_saliency.output.maps,
    output:
        table=f"{VISION_DIR}/reproduction.csv",
    params:
        scale=SCALE,
    log:
        log_path("vision", "reproduction"),
    benchmark:
        bench_path("vision_reproduction")
    threads: 1
    resources:
        **resources(500, runtime=5),
    conda:
        CONDA_ENV
    script:
        "../scripts/vision_reproduction.py"


NOTEBOOKS["vision"] = {
    "inputs": {
        "data_summary": rules.vision_data.output.summary,
        "classifier_metrics": f"{VISION_DIR}/models/classifier/metrics.json",
        "dropout_metrics": f"{VISION_DIR}/models/dropout/metrics.json",
        "history": {m: f"{VISION_DIR}/models/{m}/history.csv" for m in VISION_MODELS},
        "mask_metrics": expand(rules.vision_mask.output.metrics, seed=VISION_MASK_SEEDS),  # in seed order
        "mask_examples": expand(rules.vision_mask.output.examples, seed=VISION_MASK_SEEDS[0])[0],
        **{f"counterfactuals_{k}": getattr(rules.vision_counterfactuals.output, v) for k, v in (
            ("saturation", "curves"), ("layer_saturation", "layers"), ("interior_trend", "trend"),
            ("completeness", "completeness"), ("maps", "arrays"), ("summary", "summary"))},
        **{f"aopc_{k}": getattr(rules.vision_aopc.output, k)
           for k in ("summary", "stats", "curves", "cost", "skipped", "sanity", "uncertainty")},
        "saliency_maps": rules.vision_saliency.output.maps,
        "reproduction": rules.vision_reproduction.output.table,
    },
    "figures": {f: f"{f}.png" for f in ("vision_training", "vision_saturation", "vision_layer_saturation",
                                        "vision_interior", "vision_ig_grid", "vision_completeness", "vision_aopc",
                                        "vision_masks", "vision_saliency")},
    "parameters": {"scale": SCALE, "n_steps": VISION_ATTR["method_options"]["integrated_gradients"]["n_steps"],
                   "mc_samples": VISION_ATTR["mc_samples"]},
    "category": "CIFAR-10 (counterfactuals 2.1-2.5, masks 3.1, saliency blog)",
}
REPRODUCTION.append(rules.vision_reproduction.output.table)
for _kind in ("per_example", "skipped", "sanity", "uncertainty", "cost", "bounds"):
    LEADERBOARD[_kind] += [getattr(rules.vision_aopc.output, _kind)] + expand(
        getattr(rules.vision_aopc_seed.output, _kind), seed=VISION_AOPC_SEEDS[1:])
REPORT_RAW.append(raw_file("cifar10"))
