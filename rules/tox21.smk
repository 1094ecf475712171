# Tox21 (BayesGrad sections 4.1-4.2; gradients-of-counterfactuals section 3.1):
# featurize -> fixed splits -> pyridine GGNN on the full training split (ROC-AUC, PR curves, maps)
#                           -> one GGNN per Table 1 subset (seeds 0..n-1), each scored by its own job
#                              -> gathered Table 1, paired Wilcoxon tests, noise sweep
#                           -> the same subsets with the ablation GGNN (embedding as GRU state)
#                           -> SR-MMP NFP, one per seed (test ROC-AUC, Tyrphostin 9 oxygen ranks;
#                              maps of the median-rank model)
#                           -> atom integrated gradients (completeness, saturation), dead features
#                           -> faithfulness (deletion/insertion AOPC of every method)
# Each rule gets only the config keys it uses, so editing, say, the map molecules never retrains.

TOX21 = CFG["tox21"]
TOX21_DIR = f"{RESULTS}/tox21"
TOX21_SEEDS = list(range(TOX21["table1"]["n_models"]))
# "subset": Table 1's model; "ablation": the same subsets and seeds with the ablation model
TOX21_STUDY_MODEL = {"subset": TOX21["table1"]["model"], "ablation": TOX21["table1"]["ablation"]["model"]}
TOX21_ABLATION_SEEDS = list(range(TOX21["table1"]["ablation"]["n_models"]))
TOX21_SRMMP_SEEDS = list(range(TOX21["srmmp"]["n_seeds"]))


wildcard_constraints:
    study="subset|ablation",


rule featurize_tox21:
    input:
        raw_file("tox21"),
    output:
        graphs=f"{TOX21_DIR}/graphs.pt",
        summary=f"{TOX21_DIR}/featurize.json",
    log:
        f"{LOGS}/tox21/featurize.log",
    benchmark:
        f"{BENCH}/featurize_tox21.tsv"
    resources:
        mem_mb=mem(3000),
        runtime=10,
    conda:
        CONDA_ENV
    script:
        "../scripts/featurize_tox21.py"


rule split_tox21:
    input:
        graphs=rules.featurize_tox21.output.graphs,
    output:
        splits=f"{TOX21_DIR}/splits.json",
    params:
        data=TOX21["data"],
        seed=config["seed"],
    log:
        f"{LOGS}/tox21/split.log",
    benchmark:
        f"{BENCH}/split_tox21.tsv"
    resources:
        mem_mb=mem(2000),
        runtime=5,
    conda:
        CONDA_ENV
    script:
        "../scripts/split_tox21.py"


rule train_tox21_pyridine:
    input:
        graphs=rules.featurize_tox21.output.graphs,
        splits=rules.split_tox21.output.splits,
    output:
        model=f"{TOX21_DIR}/pyridine/full/model.pt",
        history=f"{TOX21_DIR}/pyridine/full/history.csv",
        metrics=f"{TOX21_DIR}/pyridine/full/metrics.json",
    params:
        recipe="pyridine_full",
        training=tox21_training(TOX21, "pyridine"),
        run=RUN_TRAIN,
    log:
        f"{LOGS}/tox21/train_pyridine_full.log",
    benchmark:
        f"{BENCH}/train_tox21_pyridine.tsv"
    threads: 1
    resources:
        mem_mb=mem(3000),
        runtime=runtime_min(10, 60),
        gpu=GPU,
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/train_tox21.py"


rule attribute_tox21_pyridine:
    input:
        graphs=rules.featurize_tox21.output.graphs,
        splits=rules.split_tox21.output.splits,
        model=rules.train_tox21_pyridine.output.model,
    output:
        prcauc=f"{TOX21_DIR}/pyridine/full/prcauc.csv",
        curves=f"{TOX21_DIR}/pyridine/full/curves.csv",
        atoms=f"{TOX21_DIR}/pyridine/full/atoms.csv",
        examples=f"{TOX21_DIR}/pyridine/full/examples.json",
        bounds=f"{TOX21_DIR}/pyridine/full/bounds.json",
    params:
        attribution=TOX21["attribution"],
        run=RUN,
    log:
        f"{LOGS}/tox21/attribute_pyridine_full.log",
    benchmark:
        f"{BENCH}/attribute_tox21_pyridine.tsv"
    threads: 1
    resources:
        mem_mb=mem(3000),
        runtime=runtime_min(10, 30),
        gpu=GPU,
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/attribute_tox21_pyridine.py"


rule train_tox21_subset:
    input:
        graphs=rules.featurize_tox21.output.graphs,
        splits=rules.split_tox21.output.splits,
    output:
        model=f"{TOX21_DIR}/pyridine/{{study}}/seed{{seed}}/model.pt",
        history=f"{TOX21_DIR}/pyridine/{{study}}/seed{{seed}}/history.csv",
        metrics=f"{TOX21_DIR}/pyridine/{{study}}/seed{{seed}}/metrics.json",
    params:
        recipe="pyridine_subset",
        training=tox21_subset_training(TOX21, TOX21_STUDY_MODEL),
        subset_size=TOX21["table1"]["subset_size"],
        run=RUN_TRAIN,
    log:
        f"{LOGS}/tox21/train_{{study}}_seed{{seed}}.log",
    benchmark:
        f"{BENCH}/train_tox21_subset/{{study}}_seed{{seed}}.tsv"
    threads: 1
    resources:
        mem_mb=mem(2500),
        runtime=runtime_min(10, 30),
        gpu=GPU,
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/train_tox21.py"


rule prcauc_tox21_subset:
    input:
        graphs=rules.featurize_tox21.output.graphs,
        splits=rules.split_tox21.output.splits,
        model=rules.train_tox21_subset.output.model,
    output:
        prcauc=f"{TOX21_DIR}/pyridine/{{study}}/seed{{seed}}/prcauc.csv",
        curves=f"{TOX21_DIR}/pyridine/{{study}}/seed{{seed}}/curves.csv",
    params:
        attribution=TOX21["attribution"],
        run=RUN,
    log:
        f"{LOGS}/tox21/prcauc_{{study}}_seed{{seed}}.log",
    benchmark:
        f"{BENCH}/prcauc_tox21_subset/{{study}}_seed{{seed}}.tsv"
    threads: 1
    resources:
        mem_mb=mem(2500),
        runtime=runtime_min(10, 30),
        gpu=GPU,
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/prcauc_tox21_subset.py"


TOX21_GATHER = {"subset": tox21_gather(TOX21_DIR, "subset", TOX21_SEEDS, f"{TOX21_DIR}/pyridine"),
                "ablation": tox21_gather(TOX21_DIR, "ablation", TOX21_ABLATION_SEEDS, f"{TOX21_DIR}/pyridine/ablation")}


rule gather_tox21_table1:
    input:
        **TOX21_GATHER["subset"][0],
    output:
        **TOX21_GATHER["subset"][1],
    log:
        f"{LOGS}/tox21/gather_table1.log",
    benchmark:
        f"{BENCH}/gather_tox21_table1.tsv"
    resources:
        mem_mb=mem(1000),
        runtime=5,
    conda:
        CONDA_ENV
    script:
        "../scripts/gather_tox21_table1.py"


rule gather_tox21_ablation:
    input:
        **TOX21_GATHER["ablation"][0],
    output:
        **TOX21_GATHER["ablation"][1],
    log:
        f"{LOGS}/tox21/gather_ablation.log",
    benchmark:
        f"{BENCH}/gather_tox21_ablation.tsv"
    resources:
        mem_mb=mem(1000),
        runtime=5,
    conda:
        CONDA_ENV
    script:
        "../scripts/gather_tox21_table1.py"


rule train_tox21_srmmp:
    input:
        graphs=rules.featurize_tox21.output.graphs,
        splits=rules.split_tox21.output.splits,
    output:
        model=f"{TOX21_DIR}/srmmp/seed{{seed}}/model.pt",
        history=f"{TOX21_DIR}/srmmp/seed{{seed}}/history.csv",
        metrics=f"{TOX21_DIR}/srmmp/seed{{seed}}/metrics.json",
    params:
        recipe="srmmp",
        training=tox21_training(TOX21, "srmmp"),
        run=RUN_TRAIN,
    log:
        f"{LOGS}/tox21/train_srmmp_seed{{seed}}.log",
    benchmark:
        f"{BENCH}/train_tox21_srmmp/seed{{seed}}.tsv"
    threads: 1
    resources:
        mem_mb=mem(3000),
        runtime=runtime_min(10, 120),
        gpu=GPU,
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/train_tox21.py"


rule tox21_srmmp_maps:
    input:
        graphs=rules.featurize_tox21.output.graphs,
        splits=rules.split_tox21.output.splits,
        model=rules.train_tox21_srmmp.output.model,
    output:
        maps=f"{TOX21_DIR}/srmmp/seed{{seed}}/maps.json",
    params:
        mc_samples=TOX21["attribution"]["mc_samples"],
        maps={k: TOX21["srmmp"][k] for k in ("map_molecules", "oxygen_smarts", "n_similar")},
        run=RUN,
    log:
        f"{LOGS}/tox21/srmmp_maps_seed{{seed}}.log",
    benchmark:
        f"{BENCH}/tox21_srmmp_maps/seed{{seed}}.tsv"
    threads: 1
    resources:
        mem_mb=mem(2500),
        runtime=runtime_min(5, 15),
        gpu=GPU,
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/tox21_srmmp_maps.py"


rule gather_tox21_srmmp:
    input:
        maps=expand(f"{TOX21_DIR}/srmmp/seed{{seed}}/maps.json", seed=TOX21_SRMMP_SEEDS),
        metrics=expand(f"{TOX21_DIR}/srmmp/seed{{seed}}/metrics.json", seed=TOX21_SRMMP_SEEDS),
    output:
        ranks=f"{TOX21_DIR}/srmmp/ranks.csv",
        counts=f"{TOX21_DIR}/srmmp/rank_counts.csv",
        maps=f"{TOX21_DIR}/srmmp/maps.json",
        metrics=f"{TOX21_DIR}/srmmp/metrics.json",
    params:
        seeds=TOX21_SRMMP_SEEDS,
        molecule="Tyrphostin 9",
    log:
        f"{LOGS}/tox21/gather_srmmp.log",
    resources:
        mem_mb=mem(1000),
        runtime=5,
    conda:
        CONDA_ENV
    script:
        "../scripts/gather_tox21_srmmp.py"


rule tox21_integrated_gradients:
    input:
        graphs=rules.featurize_tox21.output.graphs,
        splits=rules.split_tox21.output.splits,
        srmmp_model=f"{TOX21_DIR}/srmmp/seed0/model.pt",
        pyridine_model=rules.train_tox21_pyridine.output.model,
    output:
        completeness=f"{TOX21_DIR}/ig/completeness.csv",
        path=f"{TOX21_DIR}/ig/path.csv",
        saturation=f"{TOX21_DIR}/ig/saturation.csv",
    params:
        cfg=TOX21["integrated_gradients"],
        run=RUN,
    log:
        f"{LOGS}/tox21/integrated_gradients.log",
    benchmark:
        f"{BENCH}/tox21_integrated_gradients.tsv"
    threads: 1
    resources:
        mem_mb=mem(3000),
        runtime=runtime_min(5, 30),
        gpu=GPU,
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/tox21_integrated_gradients.py"


rule tox21_dead_features:
    input:
        graphs=rules.featurize_tox21.output.graphs,
        splits=rules.split_tox21.output.splits,
    output:
        summary=f"{TOX21_DIR}/dead_features/summary.csv",
        pairs=f"{TOX21_DIR}/dead_features/pairs.csv",
    params:
        cfg=TOX21["dead_features"],
        train=TOX21["train"],
        subset_size=TOX21["table1"]["subset_size"],
        run=RUN,
    log:
        f"{LOGS}/tox21/dead_features.log",
    benchmark:
        f"{BENCH}/tox21_dead_features.tsv"
    threads: 1
    resources:
        mem_mb=mem(2500),
        runtime=runtime_min(5, 60),
        gpu=GPU,
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/tox21_dead_features.py"


rule tox21_faithfulness:
    input:
        graphs=rules.featurize_tox21.output.graphs,
        splits=rules.split_tox21.output.splits,
        model=rules.train_tox21_pyridine.output.model,
    output:
        per_example=f"{TOX21_DIR}/faithfulness/per_example.csv",
        curves=f"{TOX21_DIR}/faithfulness/curves.csv",
        summary=f"{TOX21_DIR}/faithfulness/summary.csv",
    params:
        attribution={k: TOX21["attribution"][k] for k in ("mc_samples", "smoothgrad_noise")},
        faithfulness=TOX21["faithfulness"],
        run=RUN,
    log:
        f"{LOGS}/tox21/faithfulness.log",
    benchmark:
        f"{BENCH}/tox21_faithfulness.tsv"
    threads: 1
    resources:
        mem_mb=mem(2500),
        runtime=runtime_min(5, 30),
        gpu=GPU,
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/tox21_faithfulness.py"


rule tox21_reproduction:
    input:
        table1=rules.gather_tox21_table1.output.table,
        wilcoxon=rules.gather_tox21_table1.output.wilcoxon,
        full_metrics=rules.train_tox21_pyridine.output.metrics,
        srmmp_metrics=rules.gather_tox21_srmmp.output.metrics,
        maps=rules.gather_tox21_srmmp.output.maps,
        srmmp_counts=rules.gather_tox21_srmmp.output.counts,
        ablation_wilcoxon=rules.gather_tox21_ablation.output.wilcoxon,
        table1_rules=rules.gather_tox21_table1.output.rules,
        completeness=rules.tox21_integrated_gradients.output.completeness,
        saturation=rules.tox21_integrated_gradients.output.saturation,
        dead_features=rules.tox21_dead_features.output.summary,
    output:
        table=f"{TOX21_DIR}/reproduction.csv",
    params:
        scale=SCALE,
    log:
        f"{LOGS}/tox21/reproduction.log",
    resources:
        mem_mb=mem(500),
        runtime=5,
    conda:
        CONDA_ENV
    script:
        "../scripts/tox21_reproduction.py"


NOTEBOOKS["tox21"] = {
    "inputs": [
        rules.featurize_tox21.output.summary,
        rules.split_tox21.output.splits,
        rules.train_tox21_pyridine.output.history,
        rules.train_tox21_pyridine.output.metrics,
        *rules.attribute_tox21_pyridine.output,
        *rules.gather_tox21_table1.output,
        *rules.gather_tox21_ablation.output,
        expand(rules.train_tox21_srmmp.output.history, seed=TOX21_SRMMP_SEEDS),
        *rules.gather_tox21_srmmp.output,
        *rules.tox21_integrated_gradients.output,
        *rules.tox21_dead_features.output,
        *rules.tox21_faithfulness.output,
        rules.tox21_reproduction.output.table,
    ],
    "figures": [
        "tox21_pr_curves.png",
        "tox21_pyridine_maps.png",
        "tox21_table1.png",
        "tox21_srmmp_maps.png",
        "tox21_ig_completeness.png",
        "tox21_ig_saturation.png",
        "tox21_dead_features.png",
        "tox21_faithfulness.png",
    ],
    "parameters": {"scale": SCALE, "n_models": TOX21["table1"]["n_models"],
                   "mc_samples": TOX21["attribution"]["mc_samples"]},
    "category": "Tox21 (BayesGrad 4.1-4.2, counterfactuals 3.1)",
}
REPRODUCTION.append(rules.tox21_reproduction.output.table)
REPORT_RAW.append(raw_file("tox21"))
