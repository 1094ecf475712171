# Hemolytic peptides (dmol.pub interpretability chapter, 10.3-10.6): train the chapter's CNN on
# the shuffled split -> explain RAGLQFPVGRLLRRLLRRLLR (every configured method; Shapley
# convergence; counterfactuals) -> faithfulness over residues of every faithfulness method -> rows.

PEPTIDES = CFG["peptides"]
PEPTIDES_DIR = f"{RESULTS}/peptides"
PEPTIDES_MODEL = PEPTIDES["data"]["model"]
PEPTIDES_ATTRIBUTION = PEPTIDES["attribution"]
PEPTIDES_SPLIT = {k: PEPTIDES["data"][k] for k in ("test_fraction", "val_fraction")}


rule train_peptides:
    input:
        raw=raw_file("hemolytic"),
    output:
        model=f"{PEPTIDES_DIR}/model.pt",
        history=f"{PEPTIDES_DIR}/history.csv",
        metrics=f"{PEPTIDES_DIR}/metrics.json",
    params:
        spec=PEPTIDES["models"][PEPTIDES_MODEL],
        data=PEPTIDES_SPLIT,
        train=PEPTIDES["train"],
        probe=PEPTIDES_ATTRIBUTION["probe"] + [PEPTIDES_ATTRIBUTION["peptide"]],
        run=RUN_TRAIN,
    log:
        log_path("peptides", "train"),
    benchmark:
        bench_path("train_peptides")
    threads: 1
    resources:
        **resources(1500, runtime=(5, 15), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/train_peptides.py"


rule peptides_explain:
    input:
        raw=raw_file("hemolytic"),
        model=rules.train_peptides.output.model,
    output:
        bars=f"{PEPTIDES_DIR}/attributions.csv",
        shapley=f"{PEPTIDES_DIR}/shapley_convergence.csv",
        counterfactuals=f"{PEPTIDES_DIR}/counterfactuals.csv",
        skipped=f"{PEPTIDES_DIR}/attributions_skipped.csv",
        summary=f"{PEPTIDES_DIR}/explain.json",
    params:
        data=PEPTIDES_SPLIT,
        cfg={k: v for k, v in PEPTIDES_ATTRIBUTION.items() if k != "probe"},
        run=RUN,
    log:
        log_path("peptides", "explain"),
    benchmark:
        bench_path("peptides_explain")
    threads: 1
    resources:
        **resources(2000, runtime=(5, 15), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/peptides_explain.py"


rule peptides_faithfulness:
    input:
        raw=raw_file("hemolytic"),
        model=rules.train_peptides.output.model,
    output:
        per_example=f"{PEPTIDES_DIR}/faithfulness/per_example.csv",
        curves=f"{PEPTIDES_DIR}/faithfulness/curves.csv",
        summary=f"{PEPTIDES_DIR}/faithfulness/summary.csv",
        skipped=f"{PEPTIDES_DIR}/faithfulness/faithfulness_skipped.csv",
    params:
        data=PEPTIDES_SPLIT,
        cfg=dict(PEPTIDES["faithfulness"], smoothgrad_sigma=PEPTIDES_ATTRIBUTION["smoothgrad_sigma"]),
        model_name=PEPTIDES_MODEL,
        run=RUN,
    log:
        log_path("peptides", "faithfulness"),
    benchmark:
        bench_path("peptides_faithfulness")
    threads: 1
    resources:
        **resources(2000, runtime=(5, 20), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/peptides_faithfulness.py"


rule peptides_reproduction:
    input:
        metrics=rules.train_peptides.output.metrics,
        summary=rules.peptides_explain.output.summary,
    output:
        table=f"{PEPTIDES_DIR}/reproduction.csv",
    params:
        scale=SCALE,
    log:
        log_path("peptides", "reproduction"),
    benchmark:
        bench_path("peptides_reproduction")
    threads: 1
    resources:
        **resources(500, runtime=5),
    conda:
        CONDA_ENV
    script:
        "../scripts/peptides_reproduction.py"


NOTEBOOKS["peptides"] = {
    "inputs": [
        rules.train_peptides.output.history,
        rules.train_peptides.output.metrics,
        *rules.peptides_explain.output,
        *rules.peptides_faithfulness.output,
        rules.peptides_reproduction.output.table,
    ],
    "figures": ["peptides_attributions.png", "peptides_shapley_convergence.png", "peptides_faithfulness.png"],
    "parameters": {"scale": SCALE, "peptide": PEPTIDES_ATTRIBUTION["peptide"]},
    "category": "Hemolytic peptides (dmol chapter 10.3-10.6)",
}
REPRODUCTION.append(rules.peptides_reproduction.output.table)
REPORT_RAW.append(raw_file("hemolytic"))
