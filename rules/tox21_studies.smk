# Tox21, part 2 (after rules/tox21.smk, whose constants and rules it uses):
#   SR-MMP NFP, one per seed (test ROC-AUC, Tyrphostin 9 oxygen ranks; maps of the median-rank model)
#   -> atom integrated gradients (completeness, saturation), dead features
#   -> faithfulness: the leaderboard protocol (deletion/insertion AOPC of every method in
#      tox21.faithfulness.methods, sanity, uncertainty, cost) on every Table 1 subset model, gathered
#   -> the reproduction rows and the notebook.
# Rule name == script name (scripts/<rule>.py); each rule gets only the config keys it uses.

# What the maps read: the sampling settings of the attribution section and the srmmp keys they use.
TOX21_SRMMP_MAPS = dict({"mc_samples": TOX21["attribution"]["mc_samples"]},
                        **{k: TOX21["srmmp"][k] for k in ("methods", "signed_methods", "map_molecules",
                                                          "oxygen_smarts", "n_similar") if k in TOX21["srmmp"]})
# The faithfulness study shares the sampling settings; its methods and readings are its own.
TOX21_FAITHFULNESS = dict({"mc_samples": TOX21["attribution"]["mc_samples"]}, **TOX21["faithfulness"])
# The leaderboard protocol's tables of one model (xairepro.experiments.suite).
TOX21_SUITE_FILES = {"per_example": "per_example.csv", "skipped": "faithfulness_skipped.csv", "curves": "curves.csv",
                     "summary": "summary.csv", "sanity": "sanity.csv", "uncertainty": "uncertainty.csv",
                     "cost": "cost.csv", "bounds": "bounds.csv"}


rule tox21_srmmp_maps:
    input:
        graphs=rules.tox21_featurize.output.graphs,
        splits=rules.tox21_split.output.splits,
        model=rules.tox21_train_srmmp.output.model,
    output:
        maps=f"{TOX21_DIR}/srmmp/seed{{seed}}/maps.json",
    params:
        cfg=TOX21_SRMMP_MAPS,
        run=RUN,
    log:
        log_path("tox21", "srmmp_maps_seed{seed}"),
    benchmark:
        bench_path("tox21_srmmp_maps/seed{seed}")
    threads: 1
    resources:
        **resources(2500, runtime=(5, 15), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/tox21_srmmp_maps.py"


rule tox21_gather_srmmp:
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
        log_path("tox21", "gather_srmmp"),
    benchmark:
        bench_path("tox21_gather_srmmp")
    resources:
        **resources(1000, runtime=5),
    conda:
        CONDA_ENV
    script:
        "../scripts/tox21_gather_srmmp.py"


rule tox21_integrated_gradients:
    input:
        graphs=rules.tox21_featurize.output.graphs,
        splits=rules.tox21_split.output.splits,
        srmmp_model=f"{TOX21_DIR}/srmmp/seed0/model.pt",
        pyridine_model=rules.tox21_train.output.model,
    output:
        completeness=f"{TOX21_DIR}/ig/completeness.csv",
        path=f"{TOX21_DIR}/ig/path.csv",
        saturation=f"{TOX21_DIR}/ig/saturation.csv",
    params:
        cfg=TOX21["integrated_gradients"],
        run=RUN,
    log:
        log_path("tox21", "integrated_gradients"),
    benchmark:
        bench_path("tox21_integrated_gradients")
    threads: 1
    resources:
        **resources(3000, runtime=(5, 30), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/tox21_integrated_gradients.py"


rule tox21_dead_features:
    input:
        graphs=rules.tox21_featurize.output.graphs,
        splits=rules.tox21_split.output.splits,
    output:
        summary=f"{TOX21_DIR}/dead_features/summary.csv",
        pairs=f"{TOX21_DIR}/dead_features/pairs.csv",
    params:
        cfg=dict(TOX21["dead_features"], train=TOX21["train"], subset_size=TOX21["table1"]["subset_size"]),
        run=RUN,
    log:
        log_path("tox21", "dead_features"),
    benchmark:
        bench_path("tox21_dead_features")
    threads: 1
    resources:
        **resources(2500, runtime=(5, 60), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/tox21_dead_features.py"


# The leaderboard protocol on every Table 1 subset model (one job per model: its seed is the replicate),
# on the validation pyridine molecules none of them trained on; then the models' tables in one.
rule tox21_faithfulness:
    input:
        graphs=rules.tox21_featurize.output.graphs,
        splits=rules.tox21_split.output.splits,
        model=f"{TOX21_DIR}/pyridine/subset/seed{{seed}}/model.pt",
    output:
        **{k: f"{TOX21_DIR}/faithfulness/seed{{seed}}/{f}" for k, f in TOX21_SUITE_FILES.items()},
    params:
        cfg=TOX21_FAITHFULNESS,
        model_name=TOX21["table1"]["model"],
        subset_size=TOX21["table1"]["subset_size"],   # the subset model's training molecules (mean-embedding operator)
        run=RUN,
    log:
        log_path("tox21", "faithfulness_seed{seed}"),
    benchmark:
        bench_path("tox21_faithfulness/seed{seed}")
    threads: 1
    resources:
        **resources(2500, runtime=(5, 30), gpu=True),
    retries: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/tox21_faithfulness.py"


rule tox21_gather_faithfulness:
    input:
        **{k: expand(f"{TOX21_DIR}/faithfulness/seed{{seed}}/{f}", seed=TOX21_FAITH_SEEDS)
           for k, f in TOX21_SUITE_FILES.items() if k != "summary"},
    output:
        **{k: f"{TOX21_DIR}/faithfulness/{f}" for k, f in TOX21_SUITE_FILES.items()},
        pooled_curves=f"{TOX21_DIR}/faithfulness/pooled_curves.csv",
    log:
        log_path("tox21", "gather_faithfulness"),
    benchmark:
        bench_path("tox21_gather_faithfulness")
    resources:
        **resources(1000, runtime=5),
    conda:
        CONDA_ENV
    script:
        "../scripts/tox21_gather_faithfulness.py"


rule tox21_reproduction:
    input:
        table1=rules.tox21_gather_table1.output.table,
        wilcoxon=rules.tox21_gather_table1.output.wilcoxon,
        full_metrics=rules.tox21_train.output.metrics,
        srmmp_metrics=rules.tox21_gather_srmmp.output.metrics,
        maps=rules.tox21_gather_srmmp.output.maps,
        srmmp_ranks=rules.tox21_gather_srmmp.output.ranks,
        ablation_wilcoxon=rules.tox21_gather_ablation.output.wilcoxon,
        table1_rules=rules.tox21_gather_table1.output.rules,
        completeness=rules.tox21_integrated_gradients.output.completeness,
        saturation=rules.tox21_integrated_gradients.output.saturation,
        dead_features=rules.tox21_dead_features.output.summary,
    output:
        table=f"{TOX21_DIR}/reproduction.csv",
    params:
        scale=SCALE,
    log:
        log_path("tox21", "reproduction"),
    benchmark:
        bench_path("tox21_reproduction")
    resources:
        **resources(500, runtime=5),
    conda:
        CONDA_ENV
    script:
        "../scripts/tox21_reproduction.py"


_table1, _ablation = rules.tox21_gather_table1.output, rules.tox21_gather_ablation.output
NOTEBOOKS["tox21"] = {
    "inputs": {
        "featurize": rules.tox21_featurize.output.summary,
        "splits": rules.tox21_split.output.splits,
        "full_metrics": rules.tox21_train.output.metrics,
        "full_prcauc": rules.tox21_attribute_pyridine.output.prcauc,
        "full_curves": rules.tox21_attribute_pyridine.output.curves,
        "examples": rules.tox21_attribute_pyridine.output.examples,
        "bounds": rules.tox21_attribute_pyridine.output.bounds,
        "table1": _table1.table,
        "table1_rules": _table1.rules,
        "wilcoxon": _table1.wilcoxon,
        "noise_sweep": _table1.noise_sweep,
        "subset_curves": _table1.curves,
        "subset_prcauc": _table1.per_model,
        "subset_models": _table1.models,
        "ablation_table1_rules": _ablation.rules,
        "srmmp_metrics": rules.tox21_gather_srmmp.output.metrics,
        "srmmp_maps": rules.tox21_gather_srmmp.output.maps,
        "srmmp_ranks": rules.tox21_gather_srmmp.output.ranks,
        "srmmp_rank_counts": rules.tox21_gather_srmmp.output.counts,
        "ig_completeness": rules.tox21_integrated_gradients.output.completeness,
        "ig_path": rules.tox21_integrated_gradients.output.path,
        "ig_saturation": rules.tox21_integrated_gradients.output.saturation,
        "dead_features": rules.tox21_dead_features.output.summary,
        **{f"faithfulness_{k}": getattr(rules.tox21_gather_faithfulness.output, k)
           for k in ("per_example", "skipped", "pooled_curves", "summary", "sanity", "uncertainty", "cost")},
        "reproduction": rules.tox21_reproduction.output.table,
    },
    "figures": {f: f"{f}.png" for f in ("tox21_pr_curves", "tox21_pyridine_maps", "tox21_table1", "tox21_srmmp_maps",
                                        "tox21_ig_completeness", "tox21_ig_saturation", "tox21_dead_features",
                                        "tox21_faithfulness")},
    "parameters": {"scale": SCALE, "n_models": TOX21["table1"]["n_models"],
                   "mc_samples": TOX21["attribution"]["mc_samples"], "methods": TOX21["attribution"]["methods"]},
    "category": "Tox21 (BayesGrad 4.1-4.2, counterfactuals 3.1)",
}
REPRODUCTION.append(rules.tox21_reproduction.output.table)
REPORT_RAW.append(raw_file("tox21"))
for _kind in ("per_example", "skipped", "sanity", "uncertainty", "cost", "bounds"):
    LEADERBOARD[_kind] += expand(getattr(rules.tox21_faithfulness.output, _kind), seed=TOX21_FAITH_SEEDS)
