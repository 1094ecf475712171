# SMILES2vec's Table 1 (issue 29): the BayesGrad pyridine task read from SMILES strings, on the GGNN
# Table 1's subsets and seeds. Tox21 graphs + splits -> canonical SMILES as character ids, evidence
# characters, benzene analogues -> one SMILES2vec per Table 1 subset (same subset, same seed as the
# GGNN of that index) -> per model: reliance check (evidence present / removed / absent) and every
# method's character scores against the pyridine ring characters -> Table 1 beside the GGNN's.
# Needs rules/tox21.smk (its featurized graphs, splits and gathered Table 1) and rules/smiles2vec.smk.

S2VP = S2V["pyridine"]
S2VP_DIR = f"{S2V_DIR}/pyridine"
S2VP_SEEDS = list(range(S2VP["n_models"]))
if S2VP["model"] not in S2V["models"]:
    raise ValueError(f"smiles2vec.pyridine.model: {S2VP['model']!r} is not a spec of smiles2vec.models "
                     f"({', '.join(S2V['models'])})")
S2VP_SPEC = S2V["models"][S2VP["model"]]
# one job per model: its reliance check, its molecules' probabilities, its localisation tables
S2VP_SCORE = {k: f"{S2VP_DIR}/seed{{seed}}/{f}" for k, f in (
    ("reliance", "reliance.csv"), ("molecules", "molecules.csv"), ("localisation", "localisation.csv"),
    ("localisation_all", "localisation_all.csv"), ("skipped", "skipped.csv"))}


rule smiles2vec_pyridine_featurize:
    input:
        graphs=rules.tox21_featurize.output.graphs,
        splits=rules.tox21_split.output.splits,
    output:
        arrays=f"{S2VP_DIR}/featurized.npz",
        meta=f"{S2VP_DIR}/featurized.json",
    params:
        data={k: S2VP[k] for k in ("max_len", "pad_len")},
    log:
        log_path("smiles2vec", "pyridine_featurize"),
    benchmark:
        bench_path("smiles2vec_pyridine_featurize")
    threads: 1
    resources:
        **resources(2000, runtime=10),
    conda:
        CONDA_ENV
    script:
        "../scripts/smiles2vec_pyridine_featurize.py"


rule smiles2vec_pyridine_train:
    input:
        arrays=rules.smiles2vec_pyridine_featurize.output.arrays,
        meta=rules.smiles2vec_pyridine_featurize.output.meta,
    output:
        model=f"{S2VP_DIR}/seed{{seed}}/model.pt",
        history=f"{S2VP_DIR}/seed{{seed}}/history.csv",
        metrics=f"{S2VP_DIR}/seed{{seed}}/metrics.json",
    params:
        spec=S2VP_SPEC,
        train=dict(S2V["train"], epochs=S2VP["epochs"]),
        # the GGNN Table 1's subset size, so subset k is the same molecules in both
        subset_size=TOX21["table1"]["subset_size"],
        run=RUN_TRAIN,
    log:
        log_path("smiles2vec", "pyridine_train_seed{seed}"),
    benchmark:
        bench_path("smiles2vec_pyridine_train/seed{seed}")
    threads: 1
    resources:
        **resources(2000, runtime=(10, 60), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/smiles2vec_pyridine_train.py"


rule smiles2vec_pyridine_score:
    input:
        arrays=rules.smiles2vec_pyridine_featurize.output.arrays,
        meta=rules.smiles2vec_pyridine_featurize.output.meta,
        model=rules.smiles2vec_pyridine_train.output.model,
    output:
        **S2VP_SCORE,
    params:
        cfg={"min_drop": S2VP["reliance"]["min_drop"], "attribution": S2VP["attribution"]},
        model_name=S2VP["model"],
        run=RUN,
    log:
        log_path("smiles2vec", "pyridine_score_seed{seed}"),
    benchmark:
        bench_path("smiles2vec_pyridine_score/seed{seed}")
    threads: 1
    resources:
        **resources(2500, runtime=(10, 30), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/smiles2vec_pyridine_score.py"


rule smiles2vec_pyridine_gather:
    input:
        reliance=expand(S2VP_SCORE["reliance"], seed=S2VP_SEEDS),
        localisation=expand(S2VP_SCORE["localisation"], seed=S2VP_SEEDS),
        localisation_all=expand(S2VP_SCORE["localisation_all"], seed=S2VP_SEEDS),
        metrics=expand(rules.smiles2vec_pyridine_train.output.metrics, seed=S2VP_SEEDS),
        ggnn_table=TOX21_GATHER["subset"][1]["table"],
        ggnn_wilcoxon=TOX21_GATHER["subset"][1]["wilcoxon"],
        arrays=rules.smiles2vec_pyridine_featurize.output.arrays,
        meta=rules.smiles2vec_pyridine_featurize.output.meta,
    output:
        reliance=f"{S2VP_DIR}/reliance.csv",
        localisation=f"{S2VP_DIR}/localisation.csv",
        localisation_all=f"{S2VP_DIR}/localisation_all.csv",
        models=f"{S2VP_DIR}/models.csv",
        table=f"{S2VP_DIR}/table1.csv",
        wilcoxon=f"{S2VP_DIR}/wilcoxon.csv",
        beside=f"{S2VP_DIR}/beside_ggnn.csv",
        bounds=f"{S2VP_DIR}/bounds.csv",
    params:
        seed=config["seed"],
    log:
        log_path("smiles2vec", "pyridine_gather"),
    benchmark:
        bench_path("smiles2vec_pyridine_gather")
    threads: 1
    resources:
        **resources(1000, runtime=5),
    conda:
        CONDA_ENV
    script:
        "../scripts/smiles2vec_pyridine_gather.py"


NOTEBOOKS["smiles2vec"]["inputs"].update({
    "pyridine_beside": rules.smiles2vec_pyridine_gather.output.beside,
    "pyridine_reliance": rules.smiles2vec_pyridine_gather.output.reliance,
    "pyridine_models": rules.smiles2vec_pyridine_gather.output.models,
    "pyridine_bounds": rules.smiles2vec_pyridine_gather.output.bounds,
})
