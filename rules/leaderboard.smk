# The faithfulness leaderboard: every experiment registers its per-example faithfulness rows and the
# tables of the same protocol (methods that did not apply, sanity check, uncertainty, cost, the searched
# bound's coverage) in LEADERBOARD (rules/common.smk); one rule gathers them into one method x
# experiment table with its statistics (xairepro.report.leaderboard.TABLES), and a notebook draws the
# heatmap the report opens with, the critical-difference diagram and the checks of the checks.

LEADERBOARD_DIR = f"{RESULTS}/leaderboard"
LEADERBOARD_TABLES = ("rows", "cells", "operator_cells", "tests", "mean_ranks", "verdicts", "skipped", "display",
                      "friedman", "posthoc", "cd_ranks", "agreement", "consensus", "random_last", "randomisation",
                      "coverage", "aa")


rule leaderboard:
    input:
        **{"bounds": [], **LEADERBOARD},  # the searched bounds' tables, where the experiments register them
    output:
        **{name: f"{LEADERBOARD_DIR}/{name}.csv" for name in LEADERBOARD_TABLES},
    params:
        n_boot=CFG["leaderboard"]["n_boot"],
        rope=CFG["leaderboard"]["rope"],
        headline_operator=CFG["leaderboard"]["headline_operator"],
        seed=config["seed"],
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
        "random_last", "randomisation", "coverage", "aa")},
    "figures": {"leaderboard_heatmap": "leaderboard_heatmap.png", "critical_difference": "critical_difference.png"},
    "parameters": {"scale": SCALE},
    "category": "Leaderboard",
}
