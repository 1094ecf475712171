# SMILES2vec with an explanation mask on ESOL ("Explanatory masks" 3.3): featurize (DeepChem's
# SmilesToSeq, random and scaffold splits) -> one model per split -> mask network on the random
# split's model -> attributions, top-3 check and atom maps -> faithfulness over characters -> rows.

S2V = CFG["smiles2vec"]
S2V_DIR = f"{RESULTS}/smiles2vec"
S2V_SPLITS = ["random", "scaffold"]
S2V_MASK_SPLIT = S2V["mask"]["split"]


rule featurize_smiles2vec:
    input:
        raw=raw_file("esol"),
    output:
        arrays=f"{S2V_DIR}/featurized.npz",
        meta=f"{S2V_DIR}/featurized.json",
    params:
        data={k: S2V["data"][k] for k in ("max_len", "pad_len", "fractions")},
        run=RUN,
    log:
        f"{LOGS}/smiles2vec/featurize.log",
    benchmark:
        f"{BENCH}/featurize_smiles2vec.tsv"
    threads: 1
    resources:
        mem_mb=mem(2000),
        runtime=10,
    conda:
        CONDA_ENV
    script:
        "../scripts/smiles2vec_featurize.py"


rule train_smiles2vec:
    input:
        arrays=rules.featurize_smiles2vec.output.arrays,
        meta=rules.featurize_smiles2vec.output.meta,
    output:
        model=f"{S2V_DIR}/{{split}}/model.pt",
        history=f"{S2V_DIR}/{{split}}/history.csv",
        metrics=f"{S2V_DIR}/{{split}}/metrics.json",
    wildcard_constraints:
        split="random|scaffold",
    params:
        spec=S2V["models"][S2V["data"]["model"]],
        train=S2V["train"],
        run=RUN,
    log:
        f"{LOGS}/smiles2vec/train_{{split}}.log",
    benchmark:
        f"{BENCH}/train_smiles2vec/{{split}}.tsv"
    threads: 1
    resources:
        mem_mb=mem(3000),
        runtime=runtime_min(10, 30),
        gpu=GPU,
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/smiles2vec_train.py"


rule smiles2vec_mask:
    input:
        arrays=rules.featurize_smiles2vec.output.arrays,
        meta=rules.featurize_smiles2vec.output.meta,
        model=f"{S2V_DIR}/{S2V_MASK_SPLIT}/model.pt",
    output:
        mask=f"{S2V_DIR}/mask/mask_net.pt",
        history=f"{S2V_DIR}/mask/history.csv",
        metrics=f"{S2V_DIR}/mask/metrics.json",
    params:
        mask=S2V["mask"],
        run=RUN,
    log:
        f"{LOGS}/smiles2vec/mask.log",
    benchmark:
        f"{BENCH}/smiles2vec_mask.tsv"
    threads: 1
    resources:
        mem_mb=mem(3000),
        runtime=runtime_min(10, 30),
        gpu=GPU,
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/smiles2vec_mask.py"


rule smiles2vec_explain:
    input:
        arrays=rules.featurize_smiles2vec.output.arrays,
        meta=rules.featurize_smiles2vec.output.meta,
        model=f"{S2V_DIR}/{S2V_MASK_SPLIT}/model.pt",
        mask=rules.smiles2vec_mask.output.mask,
    output:
        scores=f"{S2V_DIR}/explain/scores.npz",
        top3=f"{S2V_DIR}/explain/top3.csv",
        summary=f"{S2V_DIR}/explain/top3_summary.csv",
        maps=f"{S2V_DIR}/explain/maps.json",
    params:
        cfg={"split": S2V_MASK_SPLIT, "attribution": S2V["attribution"], "top3": S2V["top3"]},
        run=RUN,
    log:
        f"{LOGS}/smiles2vec/explain.log",
    benchmark:
        f"{BENCH}/smiles2vec_explain.tsv"
    threads: 1
    resources:
        mem_mb=mem(4000),
        runtime=runtime_min(10, 30),
        gpu=GPU,
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/smiles2vec_explain.py"


rule smiles2vec_faithfulness:
    input:
        arrays=rules.featurize_smiles2vec.output.arrays,
        meta=rules.featurize_smiles2vec.output.meta,
        model=f"{S2V_DIR}/{S2V_MASK_SPLIT}/model.pt",
        scores=rules.smiles2vec_explain.output.scores,
    output:
        per_example=f"{S2V_DIR}/faithfulness/per_example.csv",
        curves=f"{S2V_DIR}/faithfulness/curves.csv",
        summary=f"{S2V_DIR}/faithfulness/summary.csv",
    params:
        split=S2V_MASK_SPLIT,
        faithfulness=S2V["faithfulness"],
        run=RUN,
    log:
        f"{LOGS}/smiles2vec/faithfulness.log",
    benchmark:
        f"{BENCH}/smiles2vec_faithfulness.tsv"
    threads: 1
    resources:
        mem_mb=mem(3000),
        runtime=runtime_min(5, 20),
        gpu=GPU,
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/smiles2vec_faithfulness.py"


rule smiles2vec_reproduction:
    input:
        random=f"{S2V_DIR}/random/metrics.json",
        scaffold=f"{S2V_DIR}/scaffold/metrics.json",
        mask=rules.smiles2vec_mask.output.metrics,
        top3=rules.smiles2vec_explain.output.summary,
    output:
        table=f"{S2V_DIR}/reproduction.csv",
    params:
        scale=SCALE,
    log:
        f"{LOGS}/smiles2vec/reproduction.log",
    benchmark:
        f"{BENCH}/smiles2vec_reproduction.tsv"
    threads: 1
    resources:
        mem_mb=mem(500),
        runtime=5,
    conda:
        CONDA_ENV
    script:
        "../scripts/smiles2vec_reproduction.py"


NOTEBOOKS["smiles2vec"] = {
    "inputs": [
        rules.featurize_smiles2vec.output.meta,
        *expand(f"{S2V_DIR}/{{split}}/{{f}}", split=S2V_SPLITS, f=["history.csv", "metrics.json"]),
        rules.smiles2vec_mask.output.history,
        rules.smiles2vec_mask.output.metrics,
        rules.smiles2vec_explain.output.top3,
        rules.smiles2vec_explain.output.summary,
        rules.smiles2vec_explain.output.maps,
        *rules.smiles2vec_faithfulness.output,
        rules.smiles2vec_reproduction.output.table,
    ],
    "figures": ["smiles2vec_training.png", "smiles2vec_top3.png", "smiles2vec_maps.png", "smiles2vec_faithfulness.png"],
    "parameters": {"scale": SCALE, "soluble": S2V["top3"]["soluble"], "insoluble": S2V["top3"]["insoluble"]},
    "category": "SMILES2vec explanation mask (explanatory masks 3.3)",
}
REPRODUCTION.append(rules.smiles2vec_reproduction.output.table)
if raw_file("esol") not in REPORT_RAW:
    REPORT_RAW.append(raw_file("esol"))
