# IMDB sentiment (explanatory masks section 3.2; gradients of counterfactuals section 3.2):
# tokenize once -> BiGRU classifier (test accuracy) -> word attributions (completeness, saturation,
# Figures 9-10 table, per-word spread) -> explanation masks, one job per reading and mask seed (masked
# accuracy, top words, AOPC) -> gathered over seeds -> the leaderboard protocol over words (deletion
# curves, sanity, uncertainty, cost of every method; the further mask readings as model variants).
# The protocol runs on faithfulness.model_seeds classifiers, one job each (rows carry the model seed as
# replicate): seed 0 is the classifier above with its seed-0 masks and attributed reviews; seed s > 0 a
# classifier of the same recipe with the seed derived for s, its own mask per reading, on its own seeded
# test reviews (explained in the faithfulness job), in <model>/seed<s>/.
# Each rule gets only the config keys it uses; rule name == script name (scripts/<rule>.py).
# Methods are named in config (text.attribution.methods, text.faithfulness.methods); the
# attribution and faithfulness rules get RUN (with the plugins), training rules RUN_TRAIN.

TEXT = CFG["text"]
TEXT_DIR = f"{RESULTS}/text"
if len(TEXT["models"]) != 1:
    raise ValueError(f"text.models: the text experiment trains one classifier; found {sorted(TEXT['models'])}")
TEXT_MODEL = next(iter(TEXT["models"]))
TEXT_MODEL_DIR = f"{TEXT_DIR}/{TEXT_MODEL}"
TEXT_MASK = TEXT["mask"]
TEXT_READINGS = list(TEXT_MASK["readings"])  # the first: the paper's explanation_mask
TEXT_MASK_SEEDS = list(range(int(TEXT_MASK["seeds"])))
TEXT_MASK_DIR = f"{TEXT_MODEL_DIR}/mask/{{reading}}/seed{{seed}}"
# What a mask job reads: the mask keys (not the readings and seeds it is repeated over) with its own
# reading's keys, and the attributed reviews its AOPC is read on.
TEXT_MASK_KEYS = {k: v for k, v in TEXT_MASK.items() if k not in ("readings", "seeds")}
TEXT_MASK_AOPC = {"n_reviews": TEXT["attribution"]["n_reviews"], "steps": TEXT["faithfulness"]["steps"],
                  "max_fraction": TEXT["faithfulness"]["max_fraction"]}
# The leaderboard protocol's tables (xairepro.experiments.suite): per-example rows, methods that did
# not apply, curves, summary, sanity, uncertainty, cost.
TEXT_SUITE_OUTPUTS = {k: f"{TEXT_MODEL_DIR}/faithfulness/{f}" for k, f in (
    ("per_example", "per_example.csv"), ("skipped", "faithfulness_skipped.csv"), ("curves", "curves.csv"),
    ("summary", "summary.csv"), ("sanity", "sanity.csv"), ("uncertainty", "uncertainty.csv"), ("cost", "cost.csv"),
    ("bounds", "bounds.csv"))}
TEXT_FAITH_SEEDS = model_seeds(TEXT["faithfulness"], "text.faithfulness")
TEXT_FAITHFULNESS = {k: v for k, v in TEXT["faithfulness"].items() if k != "model_seeds"}
TEXT_SEED_DIR = f"{TEXT_MODEL_DIR}/seed{{seed}}"   # model seed s > 0: classifier, masks, faithfulness tables
TEXT_SEED_MASK = f"{TEXT_SEED_DIR}/mask/{{reading}}"
TEXT_SEED_SUITE = {k: f"{TEXT_SEED_DIR}/faithfulness/{os.path.basename(v)}" for k, v in TEXT_SUITE_OUTPUTS.items()}


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
        seed=config["seed"],
    log:
        log_path("text", "prepare"),
    benchmark:
        bench_path("text_prepare")
    priority: PRIORITY["text"]
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
    priority: PRIORITY["text"]
    threads: 1
    resources:
        **resources(3000, 16000, runtime=(10, 120), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/text_train.py"


# Model seeds 1..n-1 of the faithfulness protocol: the same recipe with the seed derived for s.
use rule text_train as text_train_seed with:
    output:
        model=f"{TEXT_SEED_DIR}/model.pt",
        history=f"{TEXT_SEED_DIR}/history.csv",
        metrics=f"{TEXT_SEED_DIR}/metrics.json",
    params:
        spec=TEXT["models"][TEXT_MODEL],
        train=TEXT["train"],
        run=lambda wildcards: model_seed_run(RUN_TRAIN, wildcards.seed),
    log:
        log_path("text", f"train_{TEXT_MODEL}_seed{{seed}}"),
    benchmark:
        bench_path("text_train_seed/seed{seed}")


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
        spread=f"{TEXT_MODEL_DIR}/attribution/spread_examples.json",
        summary=f"{TEXT_MODEL_DIR}/attribution/summary.json",
    params:
        cfg=TEXT["attribution"],
        run=RUN,
    log:
        log_path("text", f"attribute_{TEXT_MODEL}"),
    benchmark:
        bench_path("text_attribute")
    priority: PRIORITY["text"]
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
        head=f"{TEXT_MASK_DIR}/head.pt",
        history=f"{TEXT_MASK_DIR}/history.csv",
        metrics=f"{TEXT_MASK_DIR}/metrics.json",
        top_words=f"{TEXT_MASK_DIR}/top_words.csv",
        examples=f"{TEXT_MASK_DIR}/examples.json",
    params:
        cfg=lambda w: dict(TEXT_MASK_KEYS, **TEXT_MASK["readings"][w.reading], reading=w.reading, seed=int(w.seed),
                           aopc=TEXT_MASK_AOPC),
        run=RUN,
    wildcard_constraints:
        reading="|".join(TEXT_READINGS),
        seed=r"\d+",
    log:
        log_path("text", f"mask_{TEXT_MODEL}_{{reading}}_seed{{seed}}"),
    benchmark:
        bench_path("text_mask/{reading}_seed{seed}")
    priority: PRIORITY["text"]
    threads: 1
    resources:
        **resources(3000, 16000, runtime=(10, 120), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/text_mask.py"


# The mask of each reading of classifier seed s > 0 (mask seed 0, in that classifier's run).
use rule text_mask as text_mask_model_seed with:
    input:
        cache=rules.text_prepare.output.cache,
        model=f"{TEXT_SEED_DIR}/model.pt",
    output:
        head=f"{TEXT_SEED_MASK}/head.pt",
        history=f"{TEXT_SEED_MASK}/history.csv",
        metrics=f"{TEXT_SEED_MASK}/metrics.json",
        top_words=f"{TEXT_SEED_MASK}/top_words.csv",
        examples=f"{TEXT_SEED_MASK}/examples.json",
    params:
        cfg=lambda w: dict(TEXT_MASK_KEYS, **TEXT_MASK["readings"][w.reading], reading=w.reading, seed=0,
                           aopc=TEXT_MASK_AOPC),
        run=lambda w: model_seed_run(RUN, w.seed),
    log:
        log_path("text", f"mask_{TEXT_MODEL}_seed{{seed}}_{{reading}}"),
    benchmark:
        bench_path("text_mask_model_seed/seed{seed}_{reading}")


rule text_mask_seeds:
    input:
        metrics=expand(f"{TEXT_MASK_DIR}/metrics.json", reading=TEXT_READINGS, seed=TEXT_MASK_SEEDS),
        top_words=expand(f"{TEXT_MASK_DIR}/top_words.csv", reading=TEXT_READINGS, seed=TEXT_MASK_SEEDS),
    output:
        seeds=f"{TEXT_MODEL_DIR}/mask/seeds.csv",
        top_words=f"{TEXT_MODEL_DIR}/mask/top_words.csv",
        stability=f"{TEXT_MODEL_DIR}/mask/stability.csv",
        jaccard=f"{TEXT_MODEL_DIR}/mask/jaccard.csv",
    log:
        log_path("text", "mask_seeds"),
    benchmark:
        bench_path("text_mask_seeds")
    resources:
        **resources(500, runtime=5),
    conda:
        CONDA_ENV
    script:
        "../scripts/text_mask_seeds.py"


rule text_faithfulness:
    input:
        cache=rules.text_prepare.output.cache,
        model=rules.text_train.output.model,
        scores=rules.text_attribute.output.scores,
        heads=expand(f"{TEXT_MASK_DIR}/head.pt", reading=TEXT_READINGS, seed=0),
    output:
        **TEXT_SUITE_OUTPUTS,
    params:
        cfg=TEXT_FAITHFULNESS,
        readings=TEXT_READINGS,
        model=TEXT_MODEL,
        replicate=0,
        run=RUN,
    log:
        log_path("text", f"faithfulness_{TEXT_MODEL}"),
    benchmark:
        bench_path("text_faithfulness")
    priority: PRIORITY["text"]
    threads: 1
    resources:
        **resources(3000, 16000, runtime=(10, 120), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/text_faithfulness.py"


# Model seed s > 0: no attribution study explained this classifier, so the job draws its own seeded test
# reviews (the model seed's run seed) and explains every method there.
use rule text_faithfulness as text_faithfulness_seed with:
    input:
        cache=rules.text_prepare.output.cache,
        model=f"{TEXT_SEED_DIR}/model.pt",
        heads=[f"{TEXT_SEED_MASK}/head.pt".replace("{reading}", r) for r in TEXT_READINGS],
    output:
        **TEXT_SEED_SUITE,
    params:
        cfg=TEXT_FAITHFULNESS,
        readings=TEXT_READINGS,
        model=TEXT_MODEL,
        replicate=lambda w: int(w.seed),
        attribution=TEXT["attribution"],
        run=lambda w: model_seed_run(RUN, w.seed),
    log:
        log_path("text", f"faithfulness_{TEXT_MODEL}_seed{{seed}}"),
    benchmark:
        bench_path("text_faithfulness_seed/seed{seed}")


rule text_reproduction:
    input:
        metrics=rules.text_train.output.metrics,
        mask_seeds=rules.text_mask_seeds.output.seeds,
        stability=rules.text_mask_seeds.output.stability,
        jaccard=rules.text_mask_seeds.output.jaccard,
        completeness=rules.text_attribute.output.completeness,
        saturation=rules.text_attribute.output.saturation,
        faithfulness=rules.text_faithfulness.output.summary,
    output:
        table=f"{TEXT_DIR}/reproduction.csv",
    params:
        scale=SCALE,
        model=TEXT_MODEL,
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
    "inputs": {
        "data_summary": rules.text_prepare.output.summary,
        "history": rules.text_train.output.history,
        "metrics": rules.text_train.output.metrics,
        **{f"attribution_{k}": getattr(rules.text_attribute.output, k)
           for k in ("completeness", "path", "saturation", "table", "summary")},
        "attribution_spread_examples": rules.text_attribute.output.spread,
        "mask_examples": {r: f"{TEXT_MASK_DIR}/examples.json".format(reading=r, seed=0) for r in TEXT_READINGS},
        **{f"mask_{k}": getattr(rules.text_mask_seeds.output, k) for k in ("seeds", "stability", "jaccard")},
        **{f"faithfulness_{k}": TEXT_SUITE_OUTPUTS[k] for k in ("curves", "summary", "skipped", "sanity", "uncertainty",
                                                                "cost")},
        "reproduction": rules.text_reproduction.output.table,
    },
    "figures": {f: f"{f}.png" for f in ("text_training", "text_completeness", "text_saturation", "text_table",
                                        "text_uncertainty", "text_top_words", "text_faithfulness")},
    "parameters": {"scale": SCALE, "model": TEXT_MODEL, "readings": TEXT_READINGS},
    "category": "IMDB text (explanatory masks 3.2, counterfactuals 3.2)",
}
REPRODUCTION.append(rules.text_reproduction.output.table)
REPORT_RAW.append(raw_file("imdb"))
for _kind in ("per_example", "skipped", "sanity", "uncertainty", "cost", "bounds"):
    LEADERBOARD[_kind] += [TEXT_SUITE_OUTPUTS[_kind]] + expand(TEXT_SEED_SUITE[_kind], seed=TEXT_FAITH_SEEDS[1:])
