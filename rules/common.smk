# Config validation and the functions that compute inputs, targets and resources.
import os
import sys

from snakemake.utils import min_version

min_version("8.0")

# The package lives beside this workflow: importable here from the workflow's folder, and in every
# script through scripts/xairepro (a link to ../xairepro; Snakemake puts a script's own folder on
# its path), with or without `pip install -e .` and inside the conda env alike.
sys.path.insert(0, os.path.abspath(workflow.basedir))

from xairepro.config import check_models, data_mirror, resolve_scale, validate_config  # noqa: E402

validate_config(config)  # the whole schema, each experiment's section included; errors name the key
SCALE = config["scale"]
CFG = resolve_scale(config)  # every {quick: .., full: ..} value resolved for this scale
check_models(CFG)  # model names must be registered, before any job runs
MIRROR = data_mirror(config)
RESULTS = "results"
LOGS = f"{RESULTS}/logs"
BENCH = f"{RESULTS}/benchmarks"

# Jobs that train or attribute ask for a GPU when the config selects CUDA; the SLURM profile
# routes jobs by this resource, not by rule name.
GPU = 1 if str(config["device"]).startswith("cuda") else 0
# One software environment for every rule (`--sdm conda`); pins match requirements.txt. Relative
# to rules/, where every rule file lives.
CONDA_ENV = "../envs/xairepro.yaml"
# What every training or attribution job gets as its run context (xairepro.context.RunContext).
RUN = {"seed": config["seed"], "device": config["device"], "deterministic": config["deterministic"],
       "max_batch": config["attribution"]["max_batch"]}
# training never depends on max_batch
RUN_TRAIN = {"seed": config["seed"], "device": config["device"], "deterministic": config["deterministic"]}


def mem(quick, full=None):
    """Memory request of a job in MB: ``quick`` (or ``full`` at full scale, when given) on the first
    attempt, times the attempt number on each retry, so a job killed for exceeding its memory is
    resubmitted with more. The quick values cover the peak memory the benchmark files recorded in a
    quick run (README, Operations)."""
    mb = quick if full is None or SCALE == "quick" else full
    return lambda wildcards, attempt: mb * attempt


def runtime_min(quick, full):
    """Wall-time request (minutes) for the cluster, by scale."""
    return quick if SCALE == "quick" else full


def tox21_training(section, study):
    """Model spec and train section (with the study's epochs) of one Tox21 training study."""
    part = section[study]
    return {"spec": section["models"][part["model"]], "train": dict(section["train"], epochs=part["epochs"])}


def tox21_subset_training(section, study_models):
    """Params function: Table 1's training section with the model of the wildcard's study (Table 1's
    own model, or the ablation's)."""
    return lambda wildcards: dict(tox21_training(section, "table1"),
                                  spec=section["models"][study_models[wildcards.study]])


def tox21_gather(tox21_dir, study, seeds, out):
    """Inputs and outputs of one Table 1 gather (Table 1's model, or the ablation's)."""
    base = f"{tox21_dir}/pyridine/{study}/seed{{seed}}"
    inputs = {k: expand(f"{base}/{f}", seed=seeds)
              for k, f in (("prcauc", "prcauc.csv"), ("curves", "curves.csv"), ("metrics", "metrics.json"))}
    names = (("table", "table1.csv"), ("rules", "table1_rules.csv"), ("wilcoxon", "wilcoxon.csv"),
             ("noise_sweep", "noise_sweep.csv"), ("curves", "subset_curves.csv"), ("per_model", "subset_prcauc.csv"),
             ("models", "subset_models.csv"))
    return inputs, {k: f"{out}/{f}" for k, f in names}


def raw_file(key):
    from xairepro.data.sources import raw_path

    return str(raw_path(key, config["data_dir"], mirror=MIRROR is not None))


wildcard_constraints:
    model="[A-Za-z0-9_]+",
    fold="[0-9]+",
    seed="[0-9]+",


# Registries the experiment rule files fill in and rules/report.smk consumes.
NOTEBOOKS = {}  # name -> {"inputs": [...], "figures": [...], "parameters": {...}, "category": str}
REPRODUCTION = []  # CSVs with reproduction-table rows
REPORT_RAW = []  # raw data files whose checksums the report lists
