# The faithfulness leaderboard: every experiment registers its per-example faithfulness rows and the
# tables of the same protocol (methods that did not apply, sanity check, uncertainty, cost, the searched
# bound's coverage) in LEADERBOARD (rules/common.smk); one rule gathers them into one method x
# experiment table with its statistics (xairepro.report.leaderboard.TABLES), and a notebook draws the
# heatmap the report opens with, the critical-difference diagram and the checks of the checks.
# Beside it, the localisation column: the known-answer tasks' scores (groundtruth, SMILES2vec pyridine,
# the GGNN's Table 1) per experiment x method, and their rank agreement with the faithfulness cells
# (xairepro.evaluation.leaderboard_localisation).

LEADERBOARD_DIR = f"{RESULTS}/leaderboard"
LEADERBOARD_TABLES = ("rows", "cells", "operator_cells", "tests", "mean_ranks", "verdicts", "skipped", "display",
                      "friedman", "posthoc", "cd_ranks", "agreement", "consensus", "random_last", "randomisation",
                      "coverage", "aa")


rule leaderboard:
    input:
        **{"bounds": [], **LEADERBOARD},  # the searched bounds' tables, where the experiments register them
        localisation=[rules.groundtruth_gather.output.localisation, rules.smiles2vec_pyridine_gather.output.localisation],
        tox21_table1=rules.tox21_gather_table1.output.per_model,
    output:
        **{name: f"{LEADERBOARD_DIR}/{name}.csv" for name in LEADERBOARD_TABLES},
        localisation=f"{LEADERBOARD_DIR}/localisation.csv",
        localisation_agreement=f"{LEADERBOARD_DIR}/localisation_agreement.csv",
    params:
        n_boot=CFG["leaderboard"]["n_boot"],
        rope=CFG["leaderboard"]["rope"],
        headline_operator=CFG["leaderboard"]["headline_operator"],
        seed=config["seed"],
        tox21_model=TOX21["table1"]["model"],
    log:
        log_path("leaderboard", "leaderboard"),
    benchmark:
        bench_path("leaderboard")
    resources:
        **resources(2000, runtime=(10, 30)),
    conda:
        CONDA_ENV
    script:
        "../scripts/leaderboard.py"


NOTEBOOKS["leaderboard"] = {
    "inputs": {k: getattr(rules.leaderboard.output, k) for k in (
        "cells", "skipped", "verdicts", "mean_ranks", "friedman", "posthoc", "cd_ranks", "agreement", "consensus",
        "random_last", "randomisation", "coverage", "aa", "localisation", "localisation_agreement")},
    "figures": {"leaderboard_heatmap": "leaderboard_heatmap.png", "critical_difference": "critical_difference.png"},
    "parameters": {"scale": SCALE},
    "category": "Leaderboard",
}
