# Hemolytic peptides (dmol.pub interpretability chapter, 10.3-10.6): train the chapter's CNN on
# the shuffled split -> explain RAGLQFPVGRLLRRLLRRLLR (gradient, integrated gradients, SmoothGrad,
# Shapley; Shapley convergence; counterfactuals) -> faithfulness over residues -> rows.

PEPTIDES = CFG["peptides"]
PEPTIDES_DIR = f"{RESULTS}/peptides"
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
        spec=PEPTIDES["models"][PEPTIDES["data"]["model"]],
        data=PEPTIDES_SPLIT,
        train=PEPTIDES["train"],
        probe=PEPTIDES_ATTRIBUTION["probe"] + [PEPTIDES_ATTRIBUTION["peptide"]],
        run=RUN,
    log:
        f"{LOGS}/peptides/train.log",
    benchmark:
        f"{BENCH}/train_peptides.tsv"
    threads: 1
    resources:
        mem_mb=mem(1500),
        runtime=runtime_min(5, 15),
        gpu=GPU,
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/train_peptides.py"


rule explain_peptide:
    input:
        raw=raw_file("hemolytic"),
        model=rules.train_peptides.output.model,
    output:
        bars=f"{PEPTIDES_DIR}/attributions.csv",
        shapley=f"{PEPTIDES_DIR}/shapley_convergence.csv",
        counterfactuals=f"{PEPTIDES_DIR}/counterfactuals.csv",
        summary=f"{PEPTIDES_DIR}/explain.json",
    params:
        data=PEPTIDES_SPLIT,
        attribution={k: v for k, v in PEPTIDES_ATTRIBUTION.items() if k != "probe"},
        run=RUN,
    log:
        f"{LOGS}/peptides/explain.log",
    benchmark:
        f"{BENCH}/explain_peptide.tsv"
    threads: 1
    resources:
        mem_mb=mem(2000),
        runtime=runtime_min(5, 15),
        gpu=GPU,
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
    params:
        data=PEPTIDES_SPLIT,
        attribution={"smoothgrad_sigma": PEPTIDES_ATTRIBUTION["smoothgrad_sigma"]},
        faithfulness=PEPTIDES["faithfulness"],
        run=RUN,
    log:
        f"{LOGS}/peptides/faithfulness.log",
    benchmark:
        f"{BENCH}/peptides_faithfulness.tsv"
    threads: 1
    resources:
        mem_mb=mem(2000),
        runtime=runtime_min(5, 20),
        gpu=GPU,
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/peptides_faithfulness.py"


rule peptides_reproduction:
    input:
        metrics=rules.train_peptides.output.metrics,
        summary=rules.explain_peptide.output.summary,
    output:
        table=f"{PEPTIDES_DIR}/reproduction.csv",
    params:
        scale=SCALE,
    log:
        f"{LOGS}/peptides/reproduction.log",
    benchmark:
        f"{BENCH}/peptides_reproduction.tsv"
    threads: 1
    resources:
        mem_mb=mem(500),
        runtime=5,
    conda:
        CONDA_ENV
    script:
        "../scripts/peptides_reproduction.py"


NOTEBOOKS["peptides"] = {
    "inputs": [
        rules.train_peptides.output.history,
        rules.train_peptides.output.metrics,
        *rules.explain_peptide.output,
        *rules.peptides_faithfulness.output,
        rules.peptides_reproduction.output.table,
    ],
    "figures": ["peptides_attributions.png", "peptides_shapley_convergence.png", "peptides_faithfulness.png"],
    "parameters": {"scale": SCALE, "peptide": PEPTIDES_ATTRIBUTION["peptide"]},
    "category": "Hemolytic peptides (dmol chapter 10.3-10.6)",
}
REPRODUCTION.append(rules.peptides_reproduction.output.table)
REPORT_RAW.append(raw_file("hemolytic"))
