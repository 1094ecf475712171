# ESOL solubility (BayesGrad section 4.3): featurize -> k-fold training -> held-out predictions and
# atom attributions -> gathered metrics and environment table -> maps of named molecules
#                                                             -> faithfulness of every method (the
#                                                                leaderboard protocol, folds as replicates);
# rules/esol_blog.smk: the saliency blog's GGNN (integrated gradients, signed maps), ESOL's rows.
# Rule name == script name (scripts/<rule>.py). Methods are named in config
# (esol.attribution.methods, esol.faithfulness.methods). Each rule gets only the config keys it
# uses: editing esol.attribution.map_molecules reruns the maps only, esol.attribution.mc_samples
# the attributions (never training), esol.train training.

ESOL = CFG["esol"]
ESOL_DIR = f"{RESULTS}/esol"
ESOL_MODELS = list(ESOL["models"])
ESOL_N_FOLDS = ESOL["data"]["n_folds"]
ESOL_FOLDS = list(range(ESOL_N_FOLDS))
# What attribution reads; map_molecules only reaches the map rules.
ESOL_ATTRIBUTION = {k: v for k, v in ESOL["attribution"].items() if k != "map_molecules"}
# The attribution settings the faithfulness study shares (its methods and readings are its own).
ESOL_FAITHFULNESS = dict({k: ESOL["attribution"][k] for k in ("mc_samples", "baseline")},
                         **ESOL["faithfulness"], n_folds=ESOL_N_FOLDS)
ESOL_FOLD_MODELS = expand(f"{ESOL_DIR}/{{{{model}}}}/fold{{fold}}/model.pt", fold=ESOL_FOLDS)
# The leaderboard protocol's tables of one model (xairepro.experiments.suite; the folds are its
# replicates): per-example rows, methods that did not apply, curves, summary, sanity, uncertainty, cost.
ESOL_SUITE_OUTPUTS = {k: f"{ESOL_DIR}/{{model}}/faithfulness/{f}" for k, f in (
    ("per_example", "per_example.csv"), ("skipped", "faithfulness_skipped.csv"), ("curves", "curves.csv"),
    ("summary", "summary.csv"), ("sanity", "sanity.csv"), ("uncertainty", "uncertainty.csv"), ("cost", "cost.csv"),
    ("bounds", "bounds.csv"))}


rule esol_featurize:
    input:
        raw_file("esol"),
    output:
        graphs=f"{ESOL_DIR}/graphs.pt",
        summary=f"{ESOL_DIR}/featurize.json",
    log:
        log_path("esol", "featurize"),
    benchmark:
        bench_path("esol_featurize")
    resources:
        **resources(2000, runtime=10),
    conda:
        CONDA_ENV
    script:
        "../scripts/esol_featurize.py"


rule esol_train:
    input:
        graphs=rules.esol_featurize.output.graphs,
    output:
        model=f"{ESOL_DIR}/{{model}}/fold{{fold}}/model.pt",
        history=f"{ESOL_DIR}/{{model}}/fold{{fold}}/history.csv",
    params:
        spec=lambda wc: ESOL["models"][wc.model],
        n_folds=ESOL_N_FOLDS,
        train=ESOL["train"],
        run=RUN_TRAIN,
    log:
        log_path("esol", "train_{model}_fold{fold}"),
    benchmark:
        bench_path("esol_train/{model}_fold{fold}")
    threads: 1
    resources:
        **resources(3000, runtime=(15, 120), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/esol_train.py"


rule esol_attribute:
    input:
        graphs=rules.esol_featurize.output.graphs,
        model=rules.esol_train.output.model,
    output:
        predictions=f"{ESOL_DIR}/{{model}}/fold{{fold}}/predictions.csv",
        atoms=f"{ESOL_DIR}/{{model}}/fold{{fold}}/atoms.csv",
    params:
        spec=lambda wc: ESOL["models"][wc.model],
        cfg=dict(ESOL_ATTRIBUTION, n_folds=ESOL_N_FOLDS),
        run=RUN,
    log:
        log_path("esol", "attribute_{model}_fold{fold}"),
    benchmark:
        bench_path("esol_attribute/{model}_fold{fold}")
    threads: 1
    resources:
        **resources(4000, runtime=(15, 120), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/esol_attribute.py"


rule esol_gather:
    input:
        predictions=expand(f"{ESOL_DIR}/{{{{model}}}}/fold{{fold}}/predictions.csv", fold=ESOL_FOLDS),
        atoms=expand(f"{ESOL_DIR}/{{{{model}}}}/fold{{fold}}/atoms.csv", fold=ESOL_FOLDS),
    output:
        predictions=f"{ESOL_DIR}/{{model}}/predictions.csv",
        atoms=f"{ESOL_DIR}/{{model}}/atoms.csv",
        metrics=f"{ESOL_DIR}/{{model}}/metrics.json",
        environments=f"{ESOL_DIR}/{{model}}/environments.csv",
    params:
        methods=ESOL["attribution"]["methods"],
    log:
        log_path("esol", "gather_{model}"),
    benchmark:
        bench_path("esol_gather/{model}")
    resources:
        **resources(2000, runtime=10),
    conda:
        CONDA_ENV
    script:
        "../scripts/esol_gather.py"


rule esol_maps:
    input:
        models=ESOL_FOLD_MODELS,
    output:
        maps=f"{ESOL_DIR}/{{model}}/maps.json",
    params:
        cfg=ESOL["attribution"],
        run=RUN,
    log:
        log_path("esol", "maps_{model}"),
    benchmark:
        bench_path("esol_maps/{model}")
    resources:
        **resources(2000, runtime=(10, 30), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/esol_maps.py"


rule esol_faithfulness:
    input:
        graphs=rules.esol_featurize.output.graphs,
        models=ESOL_FOLD_MODELS,
    output:
        **ESOL_SUITE_OUTPUTS,
    params:
        cfg=ESOL_FAITHFULNESS,
        run=RUN,
    log:
        log_path("esol", "faithfulness_{model}"),
    benchmark:
        bench_path("esol_faithfulness/{model}")
    threads: 1
    resources:
        **resources(2500, runtime=(10, 60), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/esol_faithfulness.py"

for _kind in ("per_example", "skipped", "sanity", "uncertainty", "cost", "bounds"):
    LEADERBOARD[_kind] += expand(ESOL_SUITE_OUTPUTS[_kind], model=ESOL_MODELS)
