# SMILES2vec with an explanation mask on ESOL ("Explanatory masks" 3.3): featurize (DeepChem's
# SmilesToSeq, random and scaffold splits) -> one model per split -> mask network on the random
# split's model (fitted to the prediction, mask seed 0; beside it one job per fitting target and
# further mask seed, each measuring RMSE unmasked/masked and top-3 of the mask and of a random order,
# gathered into the seeds table) -> every configured method's character scores, top-3 check and atom
# maps -> the leaderboard protocol over characters of every faithfulness method -> rows.
# The protocol runs on faithfulness.model_seeds models of the mask split, one job each (rows carry the
# model seed as replicate): seed 0 is the model above with its mask (prediction, mask seed 0); seed
# s > 0 a model of the same recipe with the seed derived for s and its own mask, in <split>/seed<s>/.

S2V = CFG["smiles2vec"]
S2V_DIR = f"{RESULTS}/smiles2vec"
S2V_SPLITS = ["random", "scaffold"]
S2V_MASK_SPLIT = S2V["mask"]["split"]
S2V_MODEL = S2V["data"]["model"]
# What the faithfulness study reads of the attribution section: the settings and the reading, not
# the attribution study's method list.
S2V_READING = {k: v for k, v in S2V["attribution"].items() if k != "methods"}
# The mask network and its training (not the seeds and targets it is repeated over).
S2V_MASK_SPEC = {k: v for k, v in S2V["mask"].items() if k not in ("targets", "seeds")}
S2V_MASK_TARGETS = list(S2V["mask"]["targets"])
S2V_MASK_SEEDS = list(range(int(S2V["mask"]["seeds"])))
S2V_MASK_DIR = f"{S2V_DIR}/mask"
# The mask the explanation studies read is (prediction, seed 0), its own job (smiles2vec_mask); every
# other (fitting target, mask seed) is a smiles2vec_mask_seed job.
S2V_MASK_METRICS = [f"{S2V_MASK_DIR}/metrics.json" if (t, s) == ("prediction", 0)
                    else f"{S2V_MASK_DIR}/seeds/{t}/seed{s}/metrics.json" for t in S2V_MASK_TARGETS for s in S2V_MASK_SEEDS]
# The leaderboard protocol's tables (xairepro.experiments.suite) and the sampled methods'
# per-character mean and sd of a few test molecules (the notebook's sd bars).
S2V_SUITE_OUTPUTS = {k: f"{S2V_DIR}/faithfulness/{f}" for k, f in (
    ("per_example", "per_example.csv"), ("curves", "curves.csv"), ("summary", "summary.csv"),
    ("skipped", "faithfulness_skipped.csv"), ("sanity", "sanity.csv"), ("uncertainty", "uncertainty.csv"),
    ("cost", "cost.csv"), ("unit_examples", "uncertainty_examples.csv"), ("bounds", "bounds.csv"))}
S2V_FAITH_SEEDS = model_seeds(S2V["faithfulness"], "smiles2vec.faithfulness")
S2V_FAITHFULNESS = {k: v for k, v in S2V["faithfulness"].items() if k != "model_seeds"}
S2V_SEED_DIR = f"{S2V_DIR}/{S2V_MASK_SPLIT}/seed{{seed}}"   # model seed s > 0: model, mask, faithfulness
S2V_SEED_SUITE = {k: f"{S2V_SEED_DIR}/faithfulness/{os.path.basename(v)}" for k, v in S2V_SUITE_OUTPUTS.items()}


rule smiles2vec_featurize:
    input:
        raw=raw_file("esol"),
    output:
        arrays=f"{S2V_DIR}/featurized.npz",
        meta=f"{S2V_DIR}/featurized.json",
    params:
        data={k: S2V["data"][k] for k in ("max_len", "pad_len", "fractions")},
        seed=config["seed"],
    log:
        log_path("smiles2vec", "featurize"),
    benchmark:
        bench_path("smiles2vec_featurize")
    threads: 1
    resources:
        **resources(2000, runtime=10),
    conda:
        CONDA_ENV
    script:
        "../scripts/smiles2vec_featurize.py"


rule smiles2vec_train:
    input:
        arrays=rules.smiles2vec_featurize.output.arrays,
        meta=rules.smiles2vec_featurize.output.meta,
    output:
        model=f"{S2V_DIR}/{{split}}/model.pt",
        history=f"{S2V_DIR}/{{split}}/history.csv",
        metrics=f"{S2V_DIR}/{{split}}/metrics.json",
    wildcard_constraints:
        split="random|scaffold",
    params:
        spec=S2V["models"][S2V_MODEL],
        train=S2V["train"],
        run=RUN_TRAIN,
    log:
        log_path("smiles2vec", "train_{split}"),
    benchmark:
        bench_path("smiles2vec_train/{split}")
    threads: 1
    resources:
        **resources(3000, runtime=(10, 30), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/smiles2vec_train.py"


# Model seeds 1..n-1 of the faithfulness protocol: the same recipe on the mask split, the derived seed.
use rule smiles2vec_train as smiles2vec_train_seed with:
    output:
        model=f"{S2V_DIR}/{{split}}/seed{{seed}}/model.pt",
        history=f"{S2V_DIR}/{{split}}/seed{{seed}}/history.csv",
        metrics=f"{S2V_DIR}/{{split}}/seed{{seed}}/metrics.json",
    params:
        spec=S2V["models"][S2V_MODEL],
        train=S2V["train"],
        run=lambda wildcards: model_seed_run(RUN_TRAIN, wildcards.seed),
    log:
        log_path("smiles2vec", "train_{split}_seed{seed}"),
    benchmark:
        bench_path("smiles2vec_train_seed/{split}_seed{seed}")


rule smiles2vec_mask:
    input:
        arrays=rules.smiles2vec_featurize.output.arrays,
        meta=rules.smiles2vec_featurize.output.meta,
        model=f"{S2V_DIR}/{S2V_MASK_SPLIT}/model.pt",
    output:
        mask=f"{S2V_MASK_DIR}/mask_net.pt",
        history=f"{S2V_MASK_DIR}/history.csv",
        metrics=f"{S2V_MASK_DIR}/metrics.json",
    params:
        cfg={"mask": S2V_MASK_SPEC, "attribution": S2V_READING, "top3": S2V["top3"]},
        target="prediction",
        seed=0,
        run=RUN_TRAIN,
    log:
        log_path("smiles2vec", "mask"),
    benchmark:
        bench_path("smiles2vec_mask")
    threads: 1
    resources:
        **resources(3000, runtime=(10, 30), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/smiles2vec_mask.py"


# The same job for every other (fitting target, mask seed).
use rule smiles2vec_mask as smiles2vec_mask_seed with:
    output:
        mask=f"{S2V_MASK_DIR}/seeds/{{target}}/seed{{seed}}/mask_net.pt",
        history=f"{S2V_MASK_DIR}/seeds/{{target}}/seed{{seed}}/history.csv",
        metrics=f"{S2V_MASK_DIR}/seeds/{{target}}/seed{{seed}}/metrics.json",
    wildcard_constraints:
        target="prediction|labels",
        seed=r"\d+",
    params:
        cfg={"mask": S2V_MASK_SPEC, "attribution": S2V_READING, "top3": S2V["top3"]},
        target=lambda wildcards: wildcards.target,
        seed=lambda wildcards: int(wildcards.seed),
        run=RUN_TRAIN,
    log:
        log_path("smiles2vec", "mask_{target}_seed{seed}"),
    benchmark:
        bench_path("smiles2vec_mask_seed/{target}_seed{seed}")


# The explained mask (prediction, mask seed 0) of model seed s > 0.
use rule smiles2vec_mask as smiles2vec_mask_model_seed with:
    input:
        arrays=rules.smiles2vec_featurize.output.arrays,
        meta=rules.smiles2vec_featurize.output.meta,
        model=f"{S2V_SEED_DIR}/model.pt",
    output:
        mask=f"{S2V_SEED_DIR}/mask/mask_net.pt",
        history=f"{S2V_SEED_DIR}/mask/history.csv",
        metrics=f"{S2V_SEED_DIR}/mask/metrics.json",
    params:
        cfg={"mask": S2V_MASK_SPEC, "attribution": S2V_READING, "top3": S2V["top3"]},
        target="prediction",
        seed=0,
        run=lambda wildcards: model_seed_run(RUN_TRAIN, wildcards.seed),
    log:
        log_path("smiles2vec", "mask_model_seed{seed}"),
    benchmark:
        bench_path("smiles2vec_mask_model_seed/seed{seed}")


rule smiles2vec_mask_seeds:
    input:
        metrics=S2V_MASK_METRICS,
    output:
        table=f"{S2V_MASK_DIR}/seeds.csv",
    log:
        log_path("smiles2vec", "mask_seeds"),
    benchmark:
        bench_path("smiles2vec_mask_seeds")
    threads: 1
    resources:
        **resources(500, runtime=5),
    conda:
        CONDA_ENV
    script:
        "../scripts/smiles2vec_mask_seeds.py"


rule smiles2vec_explain:
    input:
        arrays=rules.smiles2vec_featurize.output.arrays,
        meta=rules.smiles2vec_featurize.output.meta,
        model=f"{S2V_DIR}/{S2V_MASK_SPLIT}/model.pt",
        mask=rules.smiles2vec_mask.output.mask,
    output:
        scores=f"{S2V_DIR}/explain/scores.npz",
        top3=f"{S2V_DIR}/explain/top3.csv",
        summary=f"{S2V_DIR}/explain/top3_summary.csv",
        skipped=f"{S2V_DIR}/explain/skipped.csv",
        maps=f"{S2V_DIR}/explain/maps.json",
    params:
        cfg={"split": S2V_MASK_SPLIT, "attribution": S2V["attribution"], "top3": S2V["top3"]},
        run=RUN,
    log:
        log_path("smiles2vec", "explain"),
    benchmark:
        bench_path("smiles2vec_explain")
    threads: 1
    resources:
        **resources(4000, runtime=(10, 30), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/smiles2vec_explain.py"


rule smiles2vec_faithfulness:
    input:
        arrays=rules.smiles2vec_featurize.output.arrays,
        meta=rules.smiles2vec_featurize.output.meta,
        model=f"{S2V_DIR}/{S2V_MASK_SPLIT}/model.pt",
        mask=rules.smiles2vec_mask.output.mask,
    output:
        **S2V_SUITE_OUTPUTS,
    params:
        cfg={"split": S2V_MASK_SPLIT, "attribution": S2V_READING, "faithfulness": S2V_FAITHFULNESS},
        model_name=S2V_MODEL,
        replicate=0,
        run=RUN,
    log:
        log_path("smiles2vec", "faithfulness"),
    benchmark:
        bench_path("smiles2vec_faithfulness")
    threads: 1
    resources:
        **resources(3000, runtime=(5, 30), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/smiles2vec_faithfulness.py"


use rule smiles2vec_faithfulness as smiles2vec_faithfulness_seed with:
    input:
        arrays=rules.smiles2vec_featurize.output.arrays,
        meta=rules.smiles2vec_featurize.output.meta,
        model=f"{S2V_SEED_DIR}/model.pt",
        mask=f"{S2V_SEED_DIR}/mask/mask_net.pt",
    output:
        **S2V_SEED_SUITE,
    params:
        cfg={"split": S2V_MASK_SPLIT, "attribution": S2V_READING, "faithfulness": S2V_FAITHFULNESS},
        model_name=S2V_MODEL,
        replicate=lambda wildcards: int(wildcards.seed),
        run=RUN,
    log:
        log_path("smiles2vec", "faithfulness_seed{seed}"),
    benchmark:
        bench_path("smiles2vec_faithfulness_seed/seed{seed}")


rule smiles2vec_reproduction:
    input:
        random=f"{S2V_DIR}/random/metrics.json",
        scaffold=f"{S2V_DIR}/scaffold/metrics.json",
        seeds=rules.smiles2vec_mask_seeds.output.table,
        top3=rules.smiles2vec_explain.output.summary,
    output:
        table=f"{S2V_DIR}/reproduction.csv",
    params:
        scale=SCALE,
    log:
        log_path("smiles2vec", "reproduction"),
    benchmark:
        bench_path("smiles2vec_reproduction")
    threads: 1
    resources:
        **resources(500, runtime=5),
    conda:
        CONDA_ENV
    script:
        "../scripts/smiles2vec_reproduction.py"


NOTEBOOKS["smiles2vec"] = {
    "inputs": {
        "featurize": rules.smiles2vec_featurize.output.meta,
        "history": {s: f"{S2V_DIR}/{s}/history.csv" for s in S2V_SPLITS},
        "metrics": {s: f"{S2V_DIR}/{s}/metrics.json" for s in S2V_SPLITS},
        "mask_history": rules.smiles2vec_mask.output.history,
        "mask_metrics": rules.smiles2vec_mask.output.metrics,
        "mask_seeds": rules.smiles2vec_mask_seeds.output.table,
        "top3_summary": rules.smiles2vec_explain.output.summary,
        "maps": rules.smiles2vec_explain.output.maps,
        **{f"faithfulness_{k}": S2V_SUITE_OUTPUTS[k] for k in ("curves", "summary", "skipped", "sanity", "uncertainty",
                                                               "cost", "unit_examples")},
        "reproduction": rules.smiles2vec_reproduction.output.table,
    },
    "figures": {f: f"{f}.png" for f in ("smiles2vec_training", "smiles2vec_mask_seeds", "smiles2vec_top3",
                                        "smiles2vec_maps", "smiles2vec_faithfulness", "smiles2vec_uncertainty")},
    "parameters": {"scale": SCALE, "soluble": S2V["top3"]["soluble"], "insoluble": S2V["top3"]["insoluble"]},
    "category": "SMILES2vec explanation mask (explanatory masks 3.3)",
}
REPRODUCTION.append(rules.smiles2vec_reproduction.output.table)
if raw_file("esol") not in REPORT_RAW:
    REPORT_RAW.append(raw_file("esol"))
for _kind in ("per_example", "skipped", "sanity", "uncertainty", "cost", "bounds"):
    LEADERBOARD[_kind] += [S2V_SUITE_OUTPUTS[_kind]] + expand(S2V_SEED_SUITE[_kind], seed=S2V_FAITH_SEEDS[1:])
