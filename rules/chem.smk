# ESOL solubility (BayesGrad section 4.3): featurize -> k-fold training -> held-out predictions and
# atom attributions -> gathered metrics and environment table -> maps of named molecules.

ESOL = CFG["esol"]
ESOL_FOLDS = list(range(ESOL["n_folds"]))


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
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/featurize_esol.py"


rule train_esol:
    input:
        graphs=rules.featurize_esol.output.graphs,
    output:
        model=f"{RESULTS}/esol/{{model}}/fold{{fold}}/model.pt",
        history=f"{RESULTS}/esol/{{model}}/fold{{fold}}/history.csv",
    params:
        cfg=ESOL,
        seed=config["seed"],
        device=config["device"],
    log:
        f"{LOGS}/esol/train_{{model}}_fold{{fold}}.log",
    benchmark:
        f"{BENCH}/train_esol/{{model}}_fold{{fold}}.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=runtime_min(15, 120),
        gpu=GPU,
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
        cfg=ESOL,
        seed=config["seed"],
        device=config["device"],
        max_batch=config["attribution"]["max_batch"],
    log:
        f"{LOGS}/esol/attribute_{{model}}_fold{{fold}}.log",
    benchmark:
        f"{BENCH}/attribute_esol/{{model}}_fold{{fold}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=runtime_min(15, 120),
        gpu=GPU,
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
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/gather_esol.py"


rule esol_maps:
    input:
        models=expand(f"{RESULTS}/esol/{{{{model}}}}/fold{{fold}}/model.pt", fold=ESOL_FOLDS),
    output:
        maps=f"{RESULTS}/esol/{{model}}/maps.json",
    params:
        cfg=ESOL,
        seed=config["seed"],
        device=config["device"],
        max_batch=config["attribution"]["max_batch"],
    log:
        f"{LOGS}/esol/maps_{{model}}.log",
    benchmark:
        f"{BENCH}/esol_maps/{{model}}.tsv"
    resources:
        mem_mb=2000,
        runtime=runtime_min(10, 30),
        gpu=GPU,
    script:
        "../scripts/esol_maps.py"


rule esol_reproduction:
    input:
        metrics=expand(f"{RESULTS}/esol/{{model}}/metrics.json", model=ESOL["models"]),
    output:
        table=f"{RESULTS}/esol/reproduction.csv",
    params:
        models=ESOL["models"],
        scale=SCALE,
    log:
        f"{LOGS}/esol/reproduction.log",
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/esol_reproduction.py"


NOTEBOOKS["esol"] = {
    "inputs": expand(
        f"{RESULTS}/esol/{{model}}/{{f}}",
        model=ESOL["models"],
        f=["predictions.csv", "atoms.csv", "metrics.json", "environments.csv", "maps.json"],
    )
    + [rules.esol_reproduction.output.table, rules.featurize_esol.output.summary],
    "figures": ["esol_scatter.png", "esol_environments.png"] + [f"esol_maps_{m}.png" for m in ESOL["models"]],
    "parameters": {"models": ESOL["models"], "scale": SCALE},
    "category": "ESOL solubility (BayesGrad 4.3)",
}
REPRODUCTION.append(rules.esol_reproduction.output.table)
REPORT_RAW.append(raw_file("esol"))
