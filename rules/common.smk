# Config validation and the functions that compute inputs, targets and resources.
import os
import sys

from snakemake.utils import min_version

min_version("8.0")

# The package lives beside this workflow: importable here from the workflow's folder, and in every
# script through scripts/xairepro (a link to ../xairepro; Snakemake puts a script's own folder on
# its path), with or without `pip install -e .` and inside the conda env alike.
sys.path.insert(0, os.path.abspath(workflow.basedir))

from xairepro.config import (check_device, check_methods, check_models, check_operators, data_mirror,  # noqa: E402
                             load_plugins, merged_method_options, resolve_scale, validate_config)

validate_config(config)  # the whole schema, each experiment's section included; errors name the key
SCALE = config["scale"]
CFG = resolve_scale(config)  # every {quick: .., full: ..} value resolved for this scale
load_plugins(CFG, workflow.basedir)  # a user's own methods and models register themselves here
check_models(CFG)  # model and method names must be registered, before any job runs
check_methods(CFG)
check_operators(CFG)  # and the removal operators of every faithfulness section
MIRROR = data_mirror(config)
if MIRROR is not None and not os.path.isdir(MIRROR):
    raise ValueError(f"data_mirror (or $XAIREPRO_DATA_MIRROR): the mirror folder {MIRROR} does not exist")
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
# Training never depends on max_batch or on the plugins (methods a user registers); every
# attribution job imports the plugins (xairepro.runtime.script_setup), so a user's method is
# registered wherever it is named, and adding one never retrains a model.
RUN_TRAIN = {"seed": config["seed"], "device": config["device"], "deterministic": config["deterministic"]}
RUN = dict(RUN_TRAIN, max_batch=CFG["attribution"]["max_batch"], plugins=list(config.get("plugins") or []))


def model_seed_run(run, seed):
    """``run`` for model seed ``seed`` of an experiment's trained models (the faithfulness protocol's
    replicates): seed 0 is the run itself (the model every other study explains), seed s > 0 trains with
    the seed derived from the base seed for s (xairepro.context.derive_seed)."""
    from xairepro.context import derive_seed

    seed = int(seed)
    return dict(run, seed=derive_seed(run["seed"], seed) if seed else run["seed"])


def model_seeds(section, key):
    """The model seeds 0..n-1 of a faithfulness section's ``model_seeds`` (``key`` names it in errors)."""
    n = int(section.get("model_seeds", 1))
    if n < 1:
        raise ValueError(f"{key}.model_seeds: at least 1 trained model, got {n}")
    return list(range(n))


onstart:
    # device=cuda on a machine without CUDA stops here, before any job runs, naming the key (not in a
    # dry run, which plans without running, and not when jobs go to a cluster's GPU nodes)
    if workflow.local_exec:
        check_device(config)


def mem(quick, full=None):
    """Memory request of a job in MB: ``quick`` (or ``full`` at the cpu and full scales, when given) on
    the first attempt, times the attempt number on each retry, so a job killed for exceeding its memory
    is resubmitted with more. The quick values cover the peak memory the benchmark files recorded in a
    quick run (README, Operations)."""
    mb = quick if full is None or SCALE == "quick" else full
    return lambda wildcards, attempt: mb * attempt


def runtime_min(quick, full):
    """Wall-time request (minutes) for the cluster, by scale (cpu as full)."""
    return quick if SCALE == "quick" else full


# Scheduling: Snakemake starts the ready job of highest priority first. The longest chains of the
# workflow (CIFAR-10: data, training, the mask networks, the aopc study; then IMDB's) get the highest,
# so they start at once and the short jobs fill the other cores around them (in the quick run, the
# CIFAR-10 chain otherwise started after eight minutes and decided the wall time).
PRIORITY = {"vision": 20, "text": 10}
# ... and the downloads those chains start from, or the chain waits for every job of a lower priority
# (at the cpu scale the CIFAR-10 download otherwise started after the whole IMDB chain).
DOWNLOAD_PRIORITY = {"cifar10": PRIORITY["vision"], "imdb": PRIORITY["text"]}


def long_training_threads():
    """Threads of the cpu and full scales' long CNN/BiGRU training jobs: 2 where the run has at least 4
    cores, else 1. On 2 cores Snakemake fills each freed core with a one-thread job, so a two-thread
    job waits until both cores are free at once (at the cpu scale it waited behind the whole IMDB
    chain); two one-thread trainings side by side keep both cores busy instead."""
    from snakemake.exceptions import WorkflowError

    try:
        cores = workflow.cores
    except WorkflowError:   # a cluster executor without --cores: each job gets its own node's cores
        return 1 if SCALE == "quick" else 2
    return 2 if SCALE != "quick" and isinstance(cores, int) and cores >= 4 else 1


def resources(quick_mb, full_mb=None, *, runtime=(5, 10), gpu=False):
    """A rule's resources in one line, ``resources: **resources(1500, 4000, runtime=(5, 60), gpu=True)``:
    memory by scale growing with the attempt (``mem``), wall time in minutes by scale (an int for
    both), and the ``gpu`` resource the SLURM profile routes by, for rules that train or attribute."""
    res = {"mem_mb": mem(quick_mb, full_mb),
           "runtime": runtime_min(*runtime) if isinstance(runtime, (tuple, list)) else runtime}
    if gpu:
        res["gpu"] = GPU
    return res


def attribution_params(section, methods, keys, study=None):
    """The attribution keys a rule uses and the method_options of its own methods only, so editing
    one method's options reruns only the rules that run it. ``study``: the rule's own section, whose
    method_options (the top-level defaults merged into its own) lie under the attribution section's,
    option by option, so a default for a method the attribution section does not name still reaches
    the rule."""
    options = merged_method_options(methods, (study or {}).get("method_options"), section.get("method_options"))
    return dict({k: section[k] for k in keys if k in section}, method_options=options)


def job_threads(wildcards):
    """The torch threads per job of every rule (its `threads`; Snakemake 9 wraps them in a Resource
    with .value), for the report's provenance."""
    values = (getattr(c, "value", c) for r in workflow.rules for c in [r.resources.get("_cores")])
    return sorted({int(v) for v in values if isinstance(v, int)})


def log_path(experiment, name):
    """``log: log_path("tox21", "featurize")``: results/logs/<experiment>/<name>.log."""
    return f"{LOGS}/{experiment}/{name}.log"


def bench_path(rule_name):
    """``benchmark: bench_path("tox21_featurize")``: the benchmark file, named after its rule."""
    return f"{BENCH}/{rule_name}.tsv"


def raw_file(key):
    from xairepro.data.sources import raw_path

    return str(raw_path(key, config["data_dir"], mirror=MIRROR is not None))


wildcard_constraints:
    model="[A-Za-z0-9_]+",
    fold="[0-9]+",
    seed="[0-9]+",


def notebook_paths(tree):
    """The paths of a notebook's ``inputs`` or ``figures`` (``{name: path | [paths] | {key: path}}``), flat."""
    if isinstance(tree, dict):
        return [p for v in tree.values() for p in notebook_paths(v)]
    if isinstance(tree, (list, tuple)):
        return [p for v in tree for p in notebook_paths(v)]
    return [str(tree)]


def notebook_tree(tree, path=str):
    """``tree`` with the same names and every path as ``path(str(p))``: what the notebook receives."""
    if isinstance(tree, dict):
        return {k: notebook_tree(v, path) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return [notebook_tree(v, path) for v in tree]
    return path(str(tree))


# Registries the experiment rule files fill in and rules/report.smk consumes.
# NOTEBOOKS: name -> {"inputs": {name: path | [paths] | {key: path}}, "figures": {name: file name |
# {key: file name}} (under results/report/figures), "parameters": {...}, "category": str}; the
# notebook receives ``inputs`` and ``figures`` with the same names, and never types a path.
NOTEBOOKS = {}
REPRODUCTION = []  # CSVs with reproduction-table rows
REPORT_RAW = []  # raw data files whose checksums the report lists
# Faithfulness tables of every experiment, in the shared schemas (xairepro.experiments.suite), that
# rules/leaderboard.smk gathers: per-example rows, methods that did not apply, sanity check,
# uncertainty, cost per method and operator, the upper bound's search per example and operator.
LEADERBOARD = {"per_example": [], "skipped": [], "sanity": [], "uncertainty": [], "cost": [], "data_randomisation": [],
               "bounds": []}


def with_method_defaults(section):
    """An attribution section with the top-level method_options defaults merged under its own (option by
    option, the section's value winning) for the methods it lists."""
    options = merged_method_options(section["methods"], CFG.get("method_options"), section.get("method_options"))
    return dict(section, method_options=options)
