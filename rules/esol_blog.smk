# ESOL, the saliency blog's GGNN example (after rules/esol.smk, whose constants it uses): one GGNN
# trained on every fold but the first -> integrated gradients on its held-out atoms (signs) and on
# the map molecules; then ESOL's reproduction rows and notebook.
# Rule name == script name (scripts/<rule>.py); each rule gets only the config keys it uses.


rule esol_blog_train:
    input:
        graphs=rules.esol_featurize.output.graphs,
    output:
        model=f"{ESOL_DIR}/blog_ig/model.pt",
        history=f"{ESOL_DIR}/blog_ig/history.csv",
    params:
        spec=ESOL["blog_ig"]["model"],
        n_folds=ESOL_N_FOLDS,
        train=ESOL["train"],
        run=RUN_TRAIN,
    log:
        log_path("esol", "train_blog_ig"),
    benchmark:
        bench_path("esol_blog_train")
    threads: 1
    resources:
        **resources(3000, runtime=(15, 120), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/esol_blog_train.py"


rule esol_blog_ig:
    input:
        graphs=rules.esol_featurize.output.graphs,
        model=rules.esol_blog_train.output.model,
    output:
        atoms=f"{ESOL_DIR}/blog_ig/atoms.csv",
        environments=f"{ESOL_DIR}/blog_ig/environments.csv",
    params:
        cfg={"n_folds": ESOL_N_FOLDS, "steps": ESOL["blog_ig"]["steps"], "baseline": ESOL["attribution"]["baseline"]},
        run=RUN,
    log:
        log_path("esol", "blog_ig"),
    benchmark:
        bench_path("esol_blog_ig")
    threads: 1
    resources:
        **resources(2500, runtime=(10, 60), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/esol_blog_ig.py"


rule esol_blog_ig_maps:
    input:
        model=rules.esol_blog_train.output.model,
    output:
        maps=f"{ESOL_DIR}/blog_ig/maps.json",
    params:
        cfg={"steps": ESOL["blog_ig"]["steps"], "baseline": ESOL["attribution"]["baseline"],
             "map_molecules": ESOL["attribution"]["map_molecules"]},
        run=RUN,
    log:
        log_path("esol", "blog_ig_maps"),
    benchmark:
        bench_path("esol_blog_ig_maps")
    threads: 1
    resources:
        **resources(2000, runtime=(5, 30), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/esol_blog_ig_maps.py"


rule esol_reproduction:
    input:
        metrics=expand(f"{ESOL_DIR}/{{model}}/metrics.json", model=ESOL_MODELS),
        environments=expand(f"{ESOL_DIR}/{{model}}/environments.csv", model=ESOL_MODELS),
        blog_environments=rules.esol_blog_ig.output.environments,
    output:
        table=f"{ESOL_DIR}/reproduction.csv",
    params:
        models=ESOL_MODELS,
        scale=SCALE,
    log:
        log_path("esol", "reproduction"),
    benchmark:
        bench_path("esol_reproduction")
    resources:
        **resources(500, runtime=5),
    conda:
        CONDA_ENV
    script:
        "../scripts/esol_reproduction.py"


NOTEBOOKS["esol"] = {
    "inputs": {
        "featurize": rules.esol_featurize.output.summary,
        "reproduction": rules.esol_reproduction.output.table,
        **{k: {m: f"{ESOL_DIR}/{m}/{f}" for m in ESOL_MODELS} for k, f in (
            ("predictions", "predictions.csv"), ("metrics", "metrics.json"), ("environments", "environments.csv"),
            ("maps", "maps.json"))},
        # the faithfulness protocol's tables of each model
        **{k: {m: ESOL_SUITE_OUTPUTS[k].format(model=m) for m in ESOL_MODELS}
           for k in ("curves", "summary", "skipped", "sanity", "uncertainty", "cost")},
        "blog_atoms": rules.esol_blog_ig.output.atoms,
        "blog_environments": rules.esol_blog_ig.output.environments,
        "blog_maps": rules.esol_blog_ig_maps.output.maps,
    },
    "figures": {
        "esol_scatter": "esol_scatter.png",
        "esol_environments": "esol_environments.png",
        "esol_faithfulness": "esol_faithfulness.png",
        "esol_blog_ig_maps": "esol_blog_ig_maps.png",
        "esol_maps": {m: f"esol_maps_{m}.png" for m in ESOL_MODELS},
    },
    "parameters": {"models": ESOL_MODELS, "scale": SCALE, "methods": ESOL["attribution"]["methods"]},
    "category": "ESOL solubility (BayesGrad 4.3)",
}
REPRODUCTION.append(rules.esol_reproduction.output.table)
REPORT_RAW.append(raw_file("esol"))
