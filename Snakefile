# xairepro: reproduce five works on explaining neural-network predictions, end to end.
# This file is the table of contents; each stage lives in rules/<stage>.smk and its logic in
# the `xairepro` package. `snakemake --cores all` builds results/report/index.html.

configfile: "config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/esol.smk"
include: "rules/esol_blog.smk"
include: "rules/tox21.smk"
include: "rules/tox21_studies.smk"
include: "rules/vision.smk"
include: "rules/iris.smk"
include: "rules/peptides.smk"
include: "rules/smiles2vec.smk"
include: "rules/smiles2vec_pyridine.smk"
include: "rules/text.smk"
include: "rules/groundtruth.smk"
include: "rules/leaderboard.smk"
include: "rules/report.smk"
include: "rules/docs.smk"


rule all:
    input:
        "results/report/index.html",
        "results/groundtruth/summary.csv",  # Table 1 in every modality (also read by the report)
    default_target: True
