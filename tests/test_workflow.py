"""The workflow as users run it: DAG, a corrupted download, the quick ESOL slice end to end, and
which rules rerun after a config or notebook edit (from Snakemake's dry-run plan).

Each test runs Snakemake in a fresh copy of the workflow in a temporary folder (tests/conftest.py),
so nothing here touches the repository's results/.
"""
from __future__ import annotations

import hashlib
import json
import re

import pandas as pd
import pytest
import yaml

from conftest import copy_workflow, make_mirror, planned_rules, run_snakemake as snakemake
from xairepro.config import resolve_scale

ESOL_CSV = ("Compound ID,measured log solubility in mols per litre,smiles\n"
            "ethanol,1.1,CCO\nbenzene,-1.64,c1ccccc1 \n")


@pytest.mark.slow
def test_dry_run_dag_has_every_esol_stage(tmp_path):
    wf = copy_workflow(tmp_path / "wf")
    mirror = make_mirror(tmp_path / "mirror", {"esol/delaney-processed.csv": ESOL_CSV.encode()})
    proc = snakemake(wf, "-n", mirror=mirror)
    rules = planned_rules(proc)
    # the default scale's folds (quick: 2; cpu and full: the paper's 5)
    n_folds = resolve_scale(yaml.safe_load((wf / "config.yaml").read_text()))["esol"]["data"]["n_folds"]
    assert n_folds == 2
    for rule, count in {"download_esol": 1, "esol_featurize": 1, "esol_train": 2 * n_folds,
                        "esol_attribute": 2 * n_folds, "esol_gather": 2, "esol_maps": 2, "esol_faithfulness": 2, "esol_blog_train": 1, "esol_blog_ig": 1, "esol_blog_ig_maps": 1,
                        "esol_reproduction": 1, "esol_notebook": 1, "report": 1}.items():
        assert rules.count(rule) == count, (rule, rules.count(rule))


@pytest.mark.slow
def test_schema_rejects_a_misspelt_key_before_running(tmp_path):
    wf = copy_workflow(tmp_path / "wf")
    proc = snakemake(wf, "-n", "--config", "sead=1", check=False)
    assert proc.returncode != 0
    assert "sead" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_corrupted_download_fails_and_leaves_nothing(tmp_path):
    wf = copy_workflow(tmp_path / "wf")
    rel = "esol/delaney-processed.csv"
    mirror = make_mirror(tmp_path / "mirror", {rel: ESOL_CSV.encode()}, sums={rel: "0" * 64})
    target = wf / "results/data/raw/esol/delaney-processed.csv"
    proc = snakemake(wf, str(target.relative_to(wf)), mirror=mirror, check=False)
    assert proc.returncode != 0
    log = (wf / "results/logs/data/download_esol.log").read_text()
    actual = hashlib.sha256(ESOL_CSV.encode()).hexdigest()
    assert "0" * 64 in log and actual in log and "delaney-processed.csv" in log
    assert not target.exists()
    # no temporary file left beside the target either
    assert not target.parent.exists() or not any(target.parent.iterdir())


ESOL_NOTEBOOK = "results/report/notebooks/esol.ipynb"
ESOL_TRAINING = {"download_esol", "esol_featurize", "esol_train"}


@pytest.fixture(scope="module")
def esol_run(tmp_path_factory):
    """README's first command, restricted to the ESOL slice, offline from the shared mirror; run once
    for the tests below (each only dry-runs on top of it, restoring what it edits). Two folds
    instead of the quick scale's three (four fewer jobs; every molecule is still held out once) keep
    the suite's longest fixture short."""
    from conftest import HAVE_SHARED_DATA, SHARED_DATA

    if not HAVE_SHARED_DATA:
        pytest.skip(f"real data not available: {SHARED_DATA} (as on a user's machine)")
    wf = copy_workflow(tmp_path_factory.mktemp("esol") / "wf", config_overrides={"esol": {"data": {"n_folds": 2}}})
    snakemake(wf, ESOL_NOTEBOOK, mirror=SHARED_DATA)
    return wf, SHARED_DATA


def plan_after_config_edit(run, edit, targets=(ESOL_NOTEBOOK,)) -> set[str]:
    """The rules a dry run of ``targets`` plans after ``edit(config)`` in a workflow copy that already
    ran (``run``: the copy and its mirror); the config is restored."""
    wf, mirror = run
    path = wf / "config.yaml"
    original = path.read_text()
    cfg = yaml.safe_load(original)
    edit(cfg)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    try:
        return set(planned_rules(snakemake(wf, "-n", *targets, mirror=mirror)))
    finally:
        path.write_text(original)


@pytest.mark.slow
def test_quick_esol_slice_end_to_end(esol_run):
    wf, mirror = esol_run
    res = wf / "results/esol"
    feat = json.loads((res / "featurize.json").read_text())
    assert feat["n_parsed"] == 1128 and feat["n_failed"] == 0
    rep = pd.read_csv(res / "reproduction.csv").set_index("id")
    nfp_r = json.loads(rep.loc["bayesgrad.esol.nfp.r", "measures"])["value"]
    assert 0.7 < nfp_r <= 1.0
    preds = pd.read_csv(res / "nfp/predictions.csv")
    assert len(preds) == 1128 and preds["row"].is_unique  # every molecule predicted once, held out
    env = pd.read_csv(res / "nfp/environments.csv").set_index(["method", "environment"])
    assert env.loc[("bayesgrad", "hydroxyl O"), "mean"] > 0 > env.loc[("bayesgrad", "halogen"), "mean"]
    maps = json.loads((res / "nfp/maps.json").read_text())
    assert {m["name"] for m in maps} >= {"1-butanol", "hexachlorobenzene"}
    blog = pd.read_csv(res / "blog_ig/environments.csv").set_index("environment")["mean"]
    assert blog["hydroxyl O"] > 0  # the saliency blog's claim, on real data
    summary = pd.read_csv(res / "nfp/faithfulness/summary.csv")
    # one ranking per removal operator of the scale (quick: the baseline and the training-mean embedding)
    operators = resolve_scale(yaml.safe_load((wf / "config.yaml").read_text()))["esol"]["faithfulness"]["operators"]
    assert set(summary["operator"]) == set(operators) == {"baseline", "mean_embedding"}
    faith = summary[summary["operator"] == "baseline"].set_index("method")
    # the 20 built-in methods but the 7 that cannot explain an atom embedding of a graph batch
    assert len(faith) == 13 and faith.loc["random", "rank"] > 1  # some method beats a random order
    for fig in ["esol_scatter.png", "esol_environments.png", "esol_maps_nfp.png", "esol_maps_ggnn.png",
                "esol_faithfulness.png", "esol_blog_ig_maps.png"]:
        data = (wf / "results/report/figures" / fig).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000, fig
    # Rerun: nothing to do.
    again = snakemake(wf, "-n", ESOL_NOTEBOOK, mirror=mirror)
    assert planned_rules(again) == [], planned_rules(again)


@pytest.mark.slow
def test_editing_the_notebook_reruns_only_that_notebook(esol_run):
    wf, mirror = esol_run
    nb_path = wf / "notebooks/esol.ipynb"
    original = nb_path.read_text()
    nb = json.loads(original)
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": ["edited"]})
    nb_path.write_text(json.dumps(nb))
    try:
        planned = set(planned_rules(snakemake(wf, "-n", ESOL_NOTEBOOK, mirror=mirror)))
    finally:
        nb_path.write_text(original)
    assert planned == {"esol_notebook"}, planned


@pytest.mark.slow
def test_editing_map_molecules_reruns_only_the_maps(esol_run):
    planned = plan_after_config_edit(
        esol_run, lambda c: c["esol"]["attribution"]["map_molecules"].update({"toluene": "Cc1ccccc1"}))
    assert planned == {"esol_maps", "esol_blog_ig_maps", "esol_notebook"}, planned


@pytest.mark.slow
def test_editing_mc_samples_reruns_attribution_never_training(esol_run):
    planned = plan_after_config_edit(esol_run, lambda c: c["esol"]["attribution"].update(mc_samples=7))
    assert {"esol_attribute", "esol_gather", "esol_maps", "esol_faithfulness", "esol_notebook"} <= planned
    assert not planned & ESOL_TRAINING, planned


@pytest.mark.slow
def test_editing_training_epochs_reruns_training_and_what_follows(esol_run):
    planned = plan_after_config_edit(esol_run, lambda c: c["esol"]["train"].update(epochs=3))
    assert {"esol_train", "esol_attribute", "esol_gather", "esol_maps", "esol_faithfulness",
            "esol_reproduction", "esol_notebook"} <= planned
    assert not planned & {"download_esol", "esol_featurize"}, planned


TOX21_PYRIDINE = "results/tox21/pyridine/full/examples.json"  # tox21_attribute_pyridine (the example maps)
TOX21_SUBSET = "results/tox21/pyridine/subset/seed0/prcauc.csv"  # tox21_prcauc_subset of one Table 1 model


@pytest.fixture(scope="module")
def tox21_run(tmp_path_factory):
    """The full-data pyridine model's attribution job and one Table 1 model's PRC-AUC job, run for
    real (one epoch each, offline from the shared mirror), so that a config edit's plan shows which of
    the two a Tox21 key reruns."""
    from conftest import HAVE_SHARED_DATA, SHARED_DATA

    if not HAVE_SHARED_DATA:
        pytest.skip(f"real data not available: {SHARED_DATA} (as on a user's machine)")
    wf = copy_workflow(tmp_path_factory.mktemp("tox21") / "wf",
                       config_overrides={"tox21": {"pyridine": {"epochs": 1}, "table1": {"epochs": 1}}})
    snakemake(wf, TOX21_PYRIDINE, TOX21_SUBSET, mirror=SHARED_DATA)
    return wf, SHARED_DATA


def plan_after_tox21_edit(tox21_run, edit) -> set[str]:
    """:func:`plan_after_config_edit` of the Tox21 attribution section, for the two Tox21 targets."""
    return plan_after_config_edit(tox21_run, lambda c: edit(c["tox21"]["attribution"]), (TOX21_PYRIDINE, TOX21_SUBSET))


@pytest.mark.slow
def test_editing_tox21_example_count_reruns_only_the_pyridine_maps(tox21_run):
    """tox21.attribution.n_examples is read by the full-data model's example maps only: the Table 1
    models' PRC-AUC jobs (and every training job) stay done."""
    assert plan_after_tox21_edit(tox21_run, lambda a: a.update(n_examples=a["n_examples"] + 1)) == {
        "tox21_attribute_pyridine"}


@pytest.mark.slow
def test_editing_tox21_mc_samples_reruns_both_attribution_jobs_never_training(tox21_run):
    """The control of the test above: a key both jobs read reruns both, so the plan does see them."""
    planned = plan_after_tox21_edit(tox21_run, lambda a: a.update(mc_samples=7))
    assert planned == {"tox21_attribute_pyridine", "tox21_prcauc_subset"}, planned


def test_rule_names_are_experiment_first_and_name_their_script():
    """One naming order: ``<experiment>_<verb/what>`` (the stage's name for the shared stages), and an
    experiment rule runs ``scripts/<rule>.py``; a ``use rule`` variant runs its parent's script. Every
    script in scripts/ is some rule's."""
    from conftest import REPO_ROOT

    shared = {"download": "download", "report": "build_report", "leaderboard": "leaderboard", "notebook": "run_notebook"}
    experiments = {p.stem for p in (REPO_ROOT / "notebooks").glob("*.ipynb")}
    named, scripts_used = {}, set()
    for smk in sorted((REPO_ROOT / "rules").glob("*.smk")):
        text = smk.read_text()
        for m in re.finditer(r"^(?:rule (\w+)|    rule):\n(.*?)(?=^\S|\Z)", text, flags=re.M | re.S):
            script = re.search(r'"\.\./scripts/(\w+)\.py"', m.group(2))
            if script:
                scripts_used.add(script.group(1))
                named[m.group(1) or re.search(r'name:\n\s+f?"([^"]+)"', m.group(2)).group(1)] = script.group(1)
        for base, variant in re.findall(r"^use rule (\w+) as (\w+)", text, flags=re.M):
            assert variant.startswith(base.split("_")[0] + "_"), (smk.name, variant)
    assert len(named) > 45, len(named)
    for rule, script in named.items():
        stage = next((k for k in shared if rule == k or rule.startswith(f"{k}_") or rule.endswith("_notebook")), None)
        if stage is not None and rule.startswith(f"{stage}_") and rule == script:
            continue  # a stage's own step with its own script (report_docs)
        if stage is not None:
            assert script == shared["notebook" if rule.endswith("_notebook") else stage], (rule, script)
        else:
            assert rule.split("_")[0] in experiments and rule == script, (rule, script)
    assert {p.stem for p in (REPO_ROOT / "scripts").glob("*.py")} == scripts_used


def _notebook_registrations() -> dict:
    """NOTEBOOKS as the workflow builds it (the rule files evaluated, no job planned)."""
    from pathlib import Path

    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, ResourceSettings, StorageSettings

    from conftest import REPO_ROOT

    with SnakemakeApi() as api:
        wf = api.workflow(resource_settings=ResourceSettings(), config_settings=ConfigSettings(),
                          storage_settings=StorageSettings(), snakefile=Path(REPO_ROOT / "Snakefile"), workdir=REPO_ROOT)
        return dict(wf._workflow.globals["NOTEBOOKS"])


def test_notebooks_read_named_inputs_and_compute_no_verdict():
    """Every notebook reads exactly the results registered for it and writes exactly its registered
    figures, by name (``inputs["..."]``, ``figures["..."]``), types no path, and compares no number
    with a verdict's threshold (the tables carry ``passes`` and ``informative``)."""
    from conftest import REPO_ROOT

    registered = _notebook_registrations()
    assert set(registered) == {p.stem for p in (REPO_ROOT / "notebooks").glob("*.ipynb")}
    for name, reg in registered.items():
        nb = json.loads((REPO_ROOT / "notebooks" / f"{name}.ipynb").read_text())
        code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
        assert set(re.findall(r'inputs\["(\w+)"\]', code)) == set(reg["inputs"]), name
        assert set(re.findall(r'figures\["(\w+)"\]', code)) == set(reg["figures"]), name
        for typed in ("results_dir", "figure_dir", "results/", '.png"', ".csv\"", ".json\"", "< SANITY_THRESHOLD", "> 0.1"):
            assert typed not in code, (name, typed)


def test_slurm_profile_routes_by_resource_not_by_rule_name():
    from conftest import REPO_ROOT

    profile = yaml.safe_load((REPO_ROOT / "profiles/slurm/config.yaml").read_text())
    assert profile["executor"] == "slurm" and "set-resources" not in profile
    assert profile["default-resources"]["slurm_account"] == "CHANGE_ME"  # the documented placeholder
    partitions = yaml.safe_load((REPO_ROOT / profile["slurm-partition-config"]).read_text())["partitions"]
    gpu_limits = sorted(p.get("max_gpu", 0) for p in partitions.values())
    assert gpu_limits[0] == 0 and gpu_limits[-1] >= 1  # a CPU partition and a GPU partition


def test_rules_declare_retry_aware_memory_and_benchmarks_named_after_them():
    """Per-rule tables (report, benchmarks/operations.py) group benchmark files by the rule's name;
    memory requests grow with the attempt; rules that may run on a GPU retry once.

    Every kind of rule block is read: ``rule X:``, the variants ``use rule X as Y with:`` (which
    inherit what they do not override, so a variant must name its own benchmark file and inherits
    its parent's retries), and the generated ``rule:`` blocks with ``name: f"..."`` (the download
    and notebook rules, compared as templates). Benchmarks are ``bench_path("<rule>...")`` or
    ``f"{BENCH}/<rule>..."``; memory is ``mem_mb=mem(...)`` or the ``**resources(...)`` helper
    (which uses mem()); a GPU rule says ``gpu=GPU`` or ``resources(..., gpu=True)``."""
    from conftest import REPO_ROOT

    block = re.compile(r"^(?P<indent>[ ]*)(?:rule (?P<rule>\w+)|use rule (?P<base>\w+) as (?P<variant>\w+) with"
                       r"|rule(?=:\n\s+name:))"
                       r":\n(?P<body>.*?)(?=^(?P=indent)\S|\Z)", flags=re.M | re.S)
    blocks = {}
    for smk in sorted((REPO_ROOT / "rules").glob("*.smk")):
        for m in block.finditer(smk.read_text()):
            body = m.group("body")
            name = m.group("rule") or m.group("variant")
            if name is None:  # rule: with name: f"download_{_source.key}" -> the template
                named = re.search(r"name:\n\s+f?\"([^\"]+)\"", body)
                assert named, (smk.name, body[:200])
                name = named.group(1)
            assert name not in blocks, (smk.name, name, "declared twice")
            blocks[name] = {"smk": smk.name, "base": m.group("base"), "body": body}
    kinds = {"rule": sum(b["base"] is None and "{" not in n for n, b in blocks.items()),
             "use rule": sum(b["base"] is not None for b in blocks.values()),
             "generated": sum("{" in n for n in blocks)}
    assert kinds["rule"] > 40 and kinds["use rule"] >= 3 and kinds["generated"] >= 2, kinds

    def bench_of(body):
        m = re.search(r"benchmark:\n\s+(?:bench_path\(f?\"([^\"]+)\"\)|f\"\{BENCH\}/([^\"]+)\.tsv\")", body)
        if m is None:
            assert "benchmark:" not in body, ("benchmark neither bench_path() nor f'{BENCH}/...'", body[:300])
            return None
        return m.group(1) or m.group(2)

    def inherited(name, key):
        """The block's own body, or its parent's for what a variant does not override."""
        b = blocks[name]
        if re.search(rf"^\s+{key}:", b["body"], flags=re.M) or b["base"] is None:
            return b["body"]
        return inherited(b["base"], key)

    n_bench = 0
    for name, b in blocks.items():
        where = (b["smk"], name)
        body = b["body"]
        bench = bench_of(body)
        if b["base"] is not None and bench is None:
            assert bench_of(inherited(b["base"], "benchmark")) is None, (
                *where, f"inherits the benchmark file of {b['base']}: name its own")
        if bench is not None:
            n_bench += 1
            assert bench == name or bench.startswith(f"{name}/"), (*where, bench)
        if "mem_mb" in body:
            assert re.search(r"mem_mb=mem\(", body), (*where, "mem_mb must use mem(): it grows with the attempt")
        assert not re.search(r"mem_mb=\d", body), (*where, "a fixed mem_mb does not grow with the attempt")
        resources = inherited(name, "resources")
        if re.search(r"gpu=GPU|resources\([^\n]*gpu=True", resources):
            assert re.search(r"^\s+retries: [1-9]", inherited(name, "retries"), flags=re.M), (*where, "no retries")
    assert n_bench > 45, n_bench  # the benchmarks are seen (bench_path() included)


@pytest.mark.slow
def test_cuda_config_makes_training_and_attribution_jobs_ask_for_a_gpu(tmp_path):
    wf = copy_workflow(tmp_path / "wf")
    mirror = make_mirror(tmp_path / "mirror", {"esol/delaney-processed.csv": ESOL_CSV.encode()})
    proc = snakemake(wf, "-n", "--config", "device=cuda", "--", "results/esol/nfp/fold0/predictions.csv",
                     mirror=mirror)
    text = proc.stdout + proc.stderr
    blocks = {m.group(1): m.group(2) for m in re.finditer(r"^rule (\w+):\n(.*?)(?=^\S|\Z)", text, flags=re.M | re.S)}
    assert "gpu=1" in blocks["esol_train"] and "gpu=1" in blocks["esol_attribute"]
    assert "gpu=1" not in blocks["esol_featurize"]


@pytest.mark.slow
def test_workflow_lints_clean(tmp_path):
    """`snakemake --lint` has no findings: a conda env on every rule, helper functions only in
    rules/common.smk, no environment variables set behind the user's back."""
    wf = copy_workflow(tmp_path / "wf")
    proc = snakemake(wf, "--lint", check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "Lints for" not in text, text[-3000:]


@pytest.mark.slow
def test_moving_the_mirror_reruns_nothing(tmp_path):
    """Where a verified file came from is not part of its identity: pointing the workflow at the
    same files in another folder plans no job."""
    wf = copy_workflow(tmp_path / "wf")
    first = make_mirror(tmp_path / "mirror_a", {"esol/delaney-processed.csv": ESOL_CSV.encode()})
    snakemake(wf, "results/esol/featurize.json", mirror=first)
    moved = tmp_path / "elsewhere" / "mirror_b"
    moved.parent.mkdir()
    first.rename(moved)
    again = snakemake(wf, "-n", "results/esol/featurize.json", mirror=moved)
    assert planned_rules(again) == [], planned_rules(again)
    via_config = snakemake(wf, "-n", "results/esol/featurize.json", "--config", f"data_mirror={moved}")
    assert planned_rules(via_config) == [], planned_rules(via_config)


@pytest.mark.slow
def test_cuda_without_cuda_stops_before_any_job_naming_the_key(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: device=cuda is valid here")
    wf = copy_workflow(tmp_path / "wf")
    mirror = make_mirror(tmp_path / "mirror", {"esol/delaney-processed.csv": ESOL_CSV.encode()})
    proc = snakemake(wf, "--config", "device=cuda", "--", "results/esol/featurize.json", mirror=mirror, check=False)
    assert proc.returncode != 0
    assert "device: 'cuda' asks for a CUDA device" in proc.stdout + proc.stderr
    assert not (wf / "results" / "esol").exists()  # no job ran
