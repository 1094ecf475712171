# ESOL solubility (BayesGrad section 4.3): featurize -> k-fold training -> held-out predictions and
# atom attributions -> gathered metrics and environment table -> maps of named molecules
#                                                             -> faithfulness of every method;
#           -> the saliency blog's GGNN: one model, integrated gradients, signed maps.
# Each rule gets only the config keys it uses: editing esol.attribution.map_molecules reruns the
# maps only, esol.attribution.mc_samples the attributions (never training), esol.train training.

ESOL = CFG["esol"]
ESOL_MODELS = list(ESOL["models"])
ESOL_FOLDS = list(range(ESOL["data"]["n_folds"]))
# What attribution and the maps read; map_molecules only reaches the map rule.
ESOL_ATTRIBUTION = {k: v for k, v in ESOL["attribution"].items() if k != "map_molecules"}


rule featurize_esol:
    input:
        raw_file("esol"),
    output:
        graphs=f"{RESULTS}/esol/graphs.pt",
        summary=f"{RESULTS}/esol/featurize.json",
    log:
        f"{LOGS}/esol/featurize.log",
    benchmark:
        f"{BENCH}/featurize_esol.tsv"
    resources:
        mem_mb=mem(2000),
        runtime=10,
    conda:
        CONDA_ENV
    script:
        "../scripts/featurize_esol.py"


rule train_esol:
    input:
        graphs=rules.featurize_esol.output.graphs,
    output:
        model=f"{RESULTS}/esol/{{model}}/fold{{fold}}/model.pt",
        history=f"{RESULTS}/esol/{{model}}/fold{{fold}}/history.csv",
    params:
        spec=lambda wc: ESOL["models"][wc.model],
        n_folds=ESOL["data"]["n_folds"],
        train=ESOL["train"],
        run=RUN_TRAIN,
    log:
        f"{LOGS}/esol/train_{{model}}_fold{{fold}}.log",
    benchmark:
        f"{BENCH}/train_esol/{{model}}_fold{{fold}}.tsv"
    threads: 1
    resources:
        mem_mb=mem(3000),
        runtime=runtime_min(15, 120),
        gpu=GPU,
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/train_esol.py"


rule attribute_esol:
    input:
        graphs=rules.featurize_esol.output.graphs,
        model=rules.train_esol.output.model,
    output:
        predictions=f"{RESULTS}/esol/{{model}}/fold{{fold}}/predictions.csv",
        atoms=f"{RESULTS}/esol/{{model}}/fold{{fold}}/atoms.csv",
    params:
        spec=lambda wc: ESOL["models"][wc.model],
        n_folds=ESOL["data"]["n_folds"],
        attribution=ESOL_ATTRIBUTION,
        run=RUN,
    log:
        f"{LOGS}/esol/attribute_{{model}}_fold{{fold}}.log",
    benchmark:
        f"{BENCH}/attribute_esol/{{model}}_fold{{fold}}.tsv"
    threads: 1
    resources:
        mem_mb=mem(4000),
        runtime=runtime_min(15, 120),
        gpu=GPU,
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/attribute_esol.py"


rule gather_esol:
    input:
        predictions=expand(f"{RESULTS}/esol/{{{{model}}}}/fold{{fold}}/predictions.csv", fold=ESOL_FOLDS),
        atoms=expand(f"{RESULTS}/esol/{{{{model}}}}/fold{{fold}}/atoms.csv", fold=ESOL_FOLDS),
    output:
        predictions=f"{RESULTS}/esol/{{model}}/predictions.csv",
        atoms=f"{RESULTS}/esol/{{model}}/atoms.csv",
        metrics=f"{RESULTS}/esol/{{model}}/metrics.json",
        environments=f"{RESULTS}/esol/{{model}}/environments.csv",
    log:
        f"{LOGS}/esol/gather_{{model}}.log",
    benchmark:
        f"{BENCH}/gather_esol/{{model}}.tsv"
    resources:
        mem_mb=mem(2000),
        runtime=10,
    conda:
        CONDA_ENV
    script:
        "../scripts/gather_esol.py"


rule esol_maps:
    input:
        models=expand(f"{RESULTS}/esol/{{{{model}}}}/fold{{fold}}/model.pt", fold=ESOL_FOLDS),
    output:
        maps=f"{RESULTS}/esol/{{model}}/maps.json",
    params:
        attribution=ESOL_ATTRIBUTION,
        map_molecules=ESOL["attribution"]["map_molecules"],
        run=RUN,
    log:
        f"{LOGS}/esol/maps_{{model}}.log",
    benchmark:
        f"{BENCH}/esol_maps/{{model}}.tsv"
    resources:
        mem_mb=mem(2000),
        runtime=runtime_min(10, 30),
        gpu=GPU,
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/esol_maps.py"


rule esol_faithfulness:
    input:
        graphs=rules.featurize_esol.output.graphs,
        models=expand(f"{RESULTS}/esol/{{{{model}}}}/fold{{fold}}/model.pt", fold=ESOL_FOLDS),
    output:
        per_example=f"{RESULTS}/esol/{{model}}/faithfulness/per_example.csv",
        curves=f"{RESULTS}/esol/{{model}}/faithfulness/curves.csv",
        summary=f"{RESULTS}/esol/{{model}}/faithfulness/summary.csv",
    params:
        n_folds=ESOL["data"]["n_folds"],
        attribution=ESOL_ATTRIBUTION,
        faithfulness=ESOL["faithfulness"],
        run=RUN,
    log:
        f"{LOGS}/esol/faithfulness_{{model}}.log",
    benchmark:
        f"{BENCH}/esol_faithfulness/{{model}}.tsv"
    threads: 1
    resources:
        mem_mb=mem(2500),
        runtime=runtime_min(10, 60),
        gpu=GPU,
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/esol_faithfulness.py"


rule train_esol_blog:
    input:
        graphs=rules.featurize_esol.output.graphs,
    output:
        model=f"{RESULTS}/esol/blog_ig/model.pt",
        history=f"{RESULTS}/esol/blog_ig/history.csv",
    params:
        spec=ESOL["blog_ig"]["model"],
        n_folds=ESOL["data"]["n_folds"],
        train=ESOL["train"],
        run=RUN_TRAIN,
    log:
        f"{LOGS}/esol/train_blog_ig.log",
    benchmark:
        f"{BENCH}/train_esol_blog.tsv"
    threads: 1
    resources:
        mem_mb=mem(3000),
        runtime=runtime_min(15, 120),
        gpu=GPU,
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/train_esol_blog.py"


rule esol_blog_ig:
    input:
        graphs=rules.featurize_esol.output.graphs,
        model=rules.train_esol_blog.output.model,
    output:
        atoms=f"{RESULTS}/esol/blog_ig/atoms.csv",
        environments=f"{RESULTS}/esol/blog_ig/environments.csv",
    params:
        n_folds=ESOL["data"]["n_folds"],
        steps=ESOL["blog_ig"]["steps"],
        baseline=ESOL["attribution"]["baseline"],
        run=RUN,
    log:
        f"{LOGS}/esol/blog_ig.log",
    benchmark:
        f"{BENCH}/esol_blog_ig.tsv"
    threads: 1
    resources:
        mem_mb=mem(2500),
        runtime=runtime_min(10, 60),
        gpu=GPU,
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/esol_blog_ig.py"


rule esol_blog_ig_maps:
    input:
        model=rules.train_esol_blog.output.model,
    output:
        maps=f"{RESULTS}/esol/blog_ig/maps.json",
    params:
        steps=ESOL["blog_ig"]["steps"],
        baseline=ESOL["attribution"]["baseline"],
        map_molecules=ESOL["attribution"]["map_molecules"],
        run=RUN,
    log:
        f"{LOGS}/esol/blog_ig_maps.log",
    benchmark:
        f"{BENCH}/esol_blog_ig_maps.tsv"
    threads: 1
    resources:
        mem_mb=mem(2000),
        runtime=runtime_min(5, 30),
        gpu=GPU,
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/esol_blog_ig_maps.py"


rule esol_reproduction:
    input:
        metrics=expand(f"{RESULTS}/esol/{{model}}/metrics.json", model=ESOL_MODELS),
        environments=expand(f"{RESULTS}/esol/{{model}}/environments.csv", model=ESOL_MODELS),
        blog_environments=rules.esol_blog_ig.output.environments,
    output:
        table=f"{RESULTS}/esol/reproduction.csv",
    params:
        models=ESOL_MODELS,
        scale=SCALE,
    log:
        f"{LOGS}/esol/reproduction.log",
    resources:
        mem_mb=mem(500),
        runtime=5,
    conda:
        CONDA_ENV
    script:
        "../scripts/esol_reproduction.py"


NOTEBOOKS["esol"] = {
    "inputs": expand(
        f"{RESULTS}/esol/{{model}}/{{f}}",
        model=ESOL_MODELS,
        f=["predictions.csv", "atoms.csv", "metrics.json", "environments.csv", "maps.json",
           "faithfulness/per_example.csv", "faithfulness/curves.csv", "faithfulness/summary.csv"],
    )
    + [rules.esol_reproduction.output.table, rules.featurize_esol.output.summary, *rules.esol_blog_ig.output, rules.esol_blog_ig_maps.output.maps],
    "figures": ["esol_scatter.png", "esol_environments.png", "esol_faithfulness.png", "esol_blog_ig_maps.png"]
    + [f"esol_maps_{m}.png" for m in ESOL_MODELS],
    "parameters": {"models": ESOL_MODELS, "scale": SCALE},
    "category": "ESOL solubility (BayesGrad 4.3)",
}
REPRODUCTION.append(rules.esol_reproduction.output.table)
REPORT_RAW.append(raw_file("esol"))
