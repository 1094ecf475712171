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
# the faithfulness protocol's models: the first tox21.faithfulness.n_models of Table 1's (absent, or more
# than Table 1 trains: all of Table 1's)
TOX21_FAITH_SEEDS = TOX21_SEEDS[:TOX21["faithfulness"].get("n_models", len(TOX21_SEEDS))]
# "subset": Table 1's model; "ablation": the same subsets and seeds with the ablation model
TOX21_STUDY_MODEL = {"subset": TOX21["table1"]["model"], "ablation": TOX21["table1"]["ablation"]["model"]}
TOX21_ABLATION_SEEDS = list(range(TOX21["table1"]["ablation"]["n_models"]))
TOX21_SRMMP_SEEDS = list(range(TOX21["srmmp"]["n_seeds"]))
# Model spec and train section (with the study's own epochs) of each training study; a Table 1
# subset job takes the model of its study (Table 1's own, or the ablation's).
TOX21_TRAINING = {study: {"spec": TOX21["models"][TOX21[study]["model"]],
                          "train": dict(TOX21["train"], epochs=TOX21[study]["epochs"])}
                  for study in ("pyridine", "srmmp", "table1")}
# What the PRC-AUC jobs read of the attribution section: all of it but the number of example maps,
# which only the full-data model's job draws (editing it never reruns the subset models' jobs).
TOX21_PRCAUC = {k: v for k, v in TOX21["attribution"].items() if k != "n_examples"}
# Inputs and outputs of the Table 1 gathers (Table 1's model, and the ablation's).
TOX21_GATHER_INPUTS = {k: f"{TOX21_DIR}/pyridine/{{study}}/seed{{seed}}/{f}"
                       for k, f in (("prcauc", "prcauc.csv"), ("curves", "curves.csv"), ("metrics", "metrics.json"))}
TOX21_GATHER_OUTPUTS = (("table", "table1.csv"), ("rules", "table1_rules.csv"), ("wilcoxon", "wilcoxon.csv"),
                        ("noise_sweep", "noise_sweep.csv"), ("curves", "subset_curves.csv"),
                        ("per_model", "subset_prcauc.csv"), ("models", "subset_models.csv"))
TOX21_GATHER = {study: ({k: expand(f, study=study, seed=seeds) for k, f in TOX21_GATHER_INPUTS.items()},
                        {k: f"{out}/{f}" for k, f in TOX21_GATHER_OUTPUTS})
                for study, seeds, out in (("subset", TOX21_SEEDS, f"{TOX21_DIR}/pyridine"),
                                          ("ablation", TOX21_ABLATION_SEEDS, f"{TOX21_DIR}/pyridine/ablation"))}


wildcard_constraints:
    study="subset|ablation",


rule tox21_featurize:
    input:
        raw_file("tox21"),
    output:
        graphs=f"{TOX21_DIR}/graphs.pt",
        summary=f"{TOX21_DIR}/featurize.json",
    log:
        log_path("tox21", "featurize"),
    benchmark:
        bench_path("tox21_featurize")
    resources:
        **resources(3000, runtime=10),
    conda:
        CONDA_ENV
    script:
        "../scripts/tox21_featurize.py"


rule tox21_split:
    input:
        graphs=rules.tox21_featurize.output.graphs,
    output:
        splits=f"{TOX21_DIR}/splits.json",
    params:
        data=TOX21["data"],
        seed=config["seed"],
    log:
        log_path("tox21", "split"),
    benchmark:
        bench_path("tox21_split")
    resources:
        **resources(2000, runtime=5),
    conda:
        CONDA_ENV
    script:
        "../scripts/tox21_split.py"


# The full-data pyridine model; its variants train the Table 1 subset models and the SR-MMP models.
rule tox21_train:
    input:
        graphs=rules.tox21_featurize.output.graphs,
        splits=rules.tox21_split.output.splits,
    output:
        model=f"{TOX21_DIR}/pyridine/full/model.pt",
        history=f"{TOX21_DIR}/pyridine/full/history.csv",
        metrics=f"{TOX21_DIR}/pyridine/full/metrics.json",
    params:
        recipe="pyridine_full",
        training=TOX21_TRAINING["pyridine"],
        run=RUN_TRAIN,
    log:
        log_path("tox21", "train_pyridine_full"),
    benchmark:
        bench_path("tox21_train")
    threads: 1
    resources:
        **resources(3000, runtime=(10, 60), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/tox21_train.py"


use rule tox21_train as tox21_train_subset with:
    output:
        model=f"{TOX21_DIR}/pyridine/{{study}}/seed{{seed}}/model.pt",
        history=f"{TOX21_DIR}/pyridine/{{study}}/seed{{seed}}/history.csv",
        metrics=f"{TOX21_DIR}/pyridine/{{study}}/seed{{seed}}/metrics.json",
    params:
        recipe="pyridine_subset",
        training=lambda wc: dict(TOX21_TRAINING["table1"], spec=TOX21["models"][TOX21_STUDY_MODEL[wc.study]]),
        subset_size=TOX21["table1"]["subset_size"],
        run=RUN_TRAIN,
    log:
        log_path("tox21", "train_{study}_seed{seed}"),
    benchmark:
        bench_path("tox21_train_subset/{study}_seed{seed}")
    resources:
        **resources(2500, runtime=(10, 30), gpu=True),


use rule tox21_train as tox21_train_srmmp with:
    output:
        model=f"{TOX21_DIR}/srmmp/seed{{seed}}/model.pt",
        history=f"{TOX21_DIR}/srmmp/seed{{seed}}/history.csv",
        metrics=f"{TOX21_DIR}/srmmp/seed{{seed}}/metrics.json",
    params:
        recipe="srmmp",
        training=TOX21_TRAINING["srmmp"],
        run=RUN_TRAIN,
    log:
        log_path("tox21", "train_srmmp_seed{seed}"),
    benchmark:
        bench_path("tox21_train_srmmp/seed{seed}")
    resources:
        **resources(3000, runtime=(10, 120), gpu=True),


rule tox21_attribute_pyridine:
    input:
        graphs=rules.tox21_featurize.output.graphs,
        splits=rules.tox21_split.output.splits,
        model=rules.tox21_train.output.model,
    output:
        prcauc=f"{TOX21_DIR}/pyridine/full/prcauc.csv",
        curves=f"{TOX21_DIR}/pyridine/full/curves.csv",
        atoms=f"{TOX21_DIR}/pyridine/full/atoms.csv",
        examples=f"{TOX21_DIR}/pyridine/full/examples.json",
        bounds=f"{TOX21_DIR}/pyridine/full/bounds.json",
    params:
        cfg=TOX21["attribution"],  # all of it, n_examples (the example maps) included
        run=RUN,
    log:
        log_path("tox21", "attribute_pyridine_full"),
    benchmark:
        bench_path("tox21_attribute_pyridine")
    threads: 1
    resources:
        **resources(3000, runtime=(10, 30), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/tox21_attribute_pyridine.py"


rule tox21_prcauc_subset:
    input:
        graphs=rules.tox21_featurize.output.graphs,
        splits=rules.tox21_split.output.splits,
        model=rules.tox21_train_subset.output.model,
    output:
        prcauc=f"{TOX21_DIR}/pyridine/{{study}}/seed{{seed}}/prcauc.csv",
        curves=f"{TOX21_DIR}/pyridine/{{study}}/seed{{seed}}/curves.csv",
    params:
        cfg=TOX21_PRCAUC,
        run=RUN,
    log:
        log_path("tox21", "prcauc_{study}_seed{seed}"),
    benchmark:
        bench_path("tox21_prcauc_subset/{study}_seed{seed}")
    threads: 1
    resources:
        **resources(2500, runtime=(10, 30), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/tox21_prcauc_subset.py"


# Table 1 of the subset models; its variant gathers the ablation model's.
rule tox21_gather_table1:
    input:
        **TOX21_GATHER["subset"][0],
    output:
        **TOX21_GATHER["subset"][1],
    log:
        log_path("tox21", "gather_table1"),
    benchmark:
        bench_path("tox21_gather_table1")
    resources:
        **resources(1000, runtime=5),
    conda:
        CONDA_ENV
    script:
        "../scripts/tox21_gather_table1.py"


use rule tox21_gather_table1 as tox21_gather_ablation with:
    input:
        **TOX21_GATHER["ablation"][0],
    output:
        **TOX21_GATHER["ablation"][1],
    log:
        log_path("tox21", "gather_ablation"),
    benchmark:
        bench_path("tox21_gather_ablation")
