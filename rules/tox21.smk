# Tox21 (BayesGrad sections 4.1-4.2; gradients-of-counterfactuals section 3.1), part 1: the pyridine
# study. featurize -> fixed splits -> pyridine GGNN on the full training split (ROC-AUC, PR curves, maps)
#                                  -> one GGNN per Table 1 subset (seeds 0..n-1), each scored by its own job
#                                     -> gathered Table 1, paired Wilcoxon tests, noise sweep
#                                  -> the same subsets with the ablation GGNN (embedding as GRU state)
# Part 2 (rules/tox21_studies.smk): SR-MMP, integrated gradients, dead features, faithfulness, rows.
# Rule name == script name (scripts/<rule>.py); variants of a rule (the subset and SR-MMP models,
# the ablation's gather) are `use rule ... with:`. Methods are named in config (tox21.attribution.methods,
# tox21.srmmp.methods, tox21.faithfulness.methods). Each rule gets only the config keys it uses, so
# editing, say, the map molecules never retrains.

TOX21 = CFG["tox21"]
TOX21_DIR = f"{RESULTS}/tox21"
TOX21_SEEDS = list(range(TOX21["table1"]["n_models"]))
# "subset": Table 1's model; "ablation": the same subsets and seeds with the ablation model
TOX21_STUDY_MODEL = {"subset": TOX21["table1"]["model"], "ablation": TOX21["table1"]["ablation"]["model"]}
TOX21_ABLATION_SEEDS = list(range(TOX21["table1"]["ablation"]["n_models"]))
TOX21_SRMMP_SEEDS = list(range(TOX21["srmmp"]["n_seeds"]))
TOX21_GATHER = {"subset": tox21_gather(TOX21_DIR, "subset", TOX21_SEEDS, f"{TOX21_DIR}/pyridine"),
                "ablation": tox21_gather(TOX21_DIR, "ablation", TOX21_ABLATION_SEEDS, f"{TOX21_DIR}/pyridine/ablation")}


wildcard_constraints:
    study="subset|ablation",


rule featurize_tox21:
    input:
        raw_file("tox21"),
    output:
        graphs=f"{TOX21_DIR}/graphs.pt",
        summary=f"{TOX21_DIR}/featurize.json",
    log:
        log_path("tox21", "featurize"),
    benchmark:
        bench_path("featurize_tox21")
    resources:
        **resources(3000, runtime=10),
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
        log_path("tox21", "split"),
    benchmark:
        bench_path("split_tox21")
    resources:
        **resources(2000, runtime=5),
    conda:
        CONDA_ENV
    script:
        "../scripts/split_tox21.py"


# The full-data pyridine model; its variants train the Table 1 subset models and the SR-MMP models.
rule train_tox21:
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
        log_path("tox21", "train_pyridine_full"),
    benchmark:
        bench_path("train_tox21")
    threads: 1
    resources:
        **resources(3000, runtime=(10, 60), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/train_tox21.py"


use rule train_tox21 as train_tox21_subset with:
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
        log_path("tox21", "train_{study}_seed{seed}"),
    benchmark:
        bench_path("train_tox21_subset/{study}_seed{seed}")
    resources:
        **resources(2500, runtime=(10, 30), gpu=True),


use rule train_tox21 as train_tox21_srmmp with:
    output:
        model=f"{TOX21_DIR}/srmmp/seed{{seed}}/model.pt",
        history=f"{TOX21_DIR}/srmmp/seed{{seed}}/history.csv",
        metrics=f"{TOX21_DIR}/srmmp/seed{{seed}}/metrics.json",
    params:
        recipe="srmmp",
        training=tox21_training(TOX21, "srmmp"),
        run=RUN_TRAIN,
    log:
        log_path("tox21", "train_srmmp_seed{seed}"),
    benchmark:
        bench_path("train_tox21_srmmp/seed{seed}")
    resources:
        **resources(3000, runtime=(10, 120), gpu=True),


rule attribute_tox21_pyridine:
    input:
        graphs=rules.featurize_tox21.output.graphs,
        splits=rules.split_tox21.output.splits,
        model=rules.train_tox21.output.model,
    output:
        prcauc=f"{TOX21_DIR}/pyridine/full/prcauc.csv",
        curves=f"{TOX21_DIR}/pyridine/full/curves.csv",
        atoms=f"{TOX21_DIR}/pyridine/full/atoms.csv",
        examples=f"{TOX21_DIR}/pyridine/full/examples.json",
        bounds=f"{TOX21_DIR}/pyridine/full/bounds.json",
    params:
        cfg=TOX21["attribution"],
        run=RUN,
    log:
        log_path("tox21", "attribute_pyridine_full"),
    benchmark:
        bench_path("attribute_tox21_pyridine")
    threads: 1
    resources:
        **resources(3000, runtime=(10, 30), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/attribute_tox21_pyridine.py"


rule prcauc_tox21_subset:
    input:
        graphs=rules.featurize_tox21.output.graphs,
        splits=rules.split_tox21.output.splits,
        model=rules.train_tox21_subset.output.model,
    output:
        prcauc=f"{TOX21_DIR}/pyridine/{{study}}/seed{{seed}}/prcauc.csv",
        curves=f"{TOX21_DIR}/pyridine/{{study}}/seed{{seed}}/curves.csv",
    params:
        cfg=TOX21["attribution"],
        run=RUN,
    log:
        log_path("tox21", "prcauc_{study}_seed{seed}"),
    benchmark:
        bench_path("prcauc_tox21_subset/{study}_seed{seed}")
    threads: 1
    resources:
        **resources(2500, runtime=(10, 30), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/prcauc_tox21_subset.py"


# Table 1 of the subset models; its variant gathers the ablation model's.
rule gather_tox21_table1:
    input:
        **TOX21_GATHER["subset"][0],
    output:
        **TOX21_GATHER["subset"][1],
    log:
        log_path("tox21", "gather_table1"),
    benchmark:
        bench_path("gather_tox21_table1")
    resources:
        **resources(1000, runtime=5),
    conda:
        CONDA_ENV
    script:
        "../scripts/gather_tox21_table1.py"


use rule gather_tox21_table1 as gather_tox21_ablation with:
    input:
        **TOX21_GATHER["ablation"][0],
    output:
        **TOX21_GATHER["ablation"][1],
    log:
        log_path("tox21", "gather_ablation"),
    benchmark:
        bench_path("gather_tox21_ablation")
