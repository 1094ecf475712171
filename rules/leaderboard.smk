# The faithfulness leaderboard: every experiment registers its per-example faithfulness rows and the
# tables of the same protocol (methods that did not apply, sanity check, uncertainty, cost) in
# LEADERBOARD (rules/common.smk); one rule gathers them into one method x experiment table, and a
# notebook draws the heatmap the report opens with.

LEADERBOARD_DIR = f"{RESULTS}/leaderboard"
LEADERBOARD_TABLES = ("rows", "cells", "tests", "mean_ranks", "verdicts", "skipped", "display")


rule leaderboard:
    input:
        **{kind: LEADERBOARD[kind] for kind in LEADERBOARD},
    output:
        **{name: f"{LEADERBOARD_DIR}/{name}.csv" for name in LEADERBOARD_TABLES},
    params:
        n_boot=CFG["leaderboard"]["n_boot"],
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
    "inputs": {k: getattr(rules.leaderboard.output, k) for k in ("cells", "skipped", "verdicts", "mean_ranks")},
    "figures": {"leaderboard_heatmap": "leaderboard_heatmap.png"},
    "parameters": {"scale": SCALE},
    "category": "Leaderboard",
}
