"""The workflow as users run it: DAG, a corrupted download, and the quick ESOL slice end to end.

Each test runs Snakemake in a fresh copy of the workflow in a temporary folder, so nothing here
touches the repository's results/.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import REPO_ROOT

WORKFLOW_FILES = ["Snakefile", "config.yaml", "rules", "scripts", "notebooks", "report", "envs", "xairepro"]


def copy_workflow(dest: Path) -> Path:
    dest.mkdir(parents=True)
    for name in WORKFLOW_FILES:
        src = REPO_ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, dest / name)
    return dest


def snakemake(workdir: Path, *args, mirror: Path | None = None, check=True, timeout=900):
    env = dict(os.environ)
    env.pop("XAIREPRO_DATA_MIRROR", None)
    if mirror is not None:
        env["XAIREPRO_DATA_MIRROR"] = str(mirror)
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", *args]
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


def planned_rules(proc) -> list[str]:
    text = proc.stdout + proc.stderr
    return re.findall(r"^(?:local)?rule (\w+):", text, flags=re.M)


def make_mirror(root: Path, files: dict[str, bytes], sums: dict[str, str] | None = None) -> Path:
    lines = []
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        digest = (sums or {}).get(rel, hashlib.sha256(data).hexdigest())
        lines.append(f"{digest}  ./{rel}")
    (root / "SHA256SUMS").write_text("\n".join(lines) + "\n")
    return root


ESOL_CSV = ("Compound ID,measured log solubility in mols per litre,smiles\n"
            "ethanol,1.1,CCO\nbenzene,-1.64,c1ccccc1 \n")


def test_dry_run_dag_has_every_esol_stage(tmp_path):
    wf = copy_workflow(tmp_path / "wf")
    mirror = make_mirror(tmp_path / "mirror", {"esol/delaney-processed.csv": ESOL_CSV.encode()})
    proc = snakemake(wf, "-n", mirror=mirror)
    rules = planned_rules(proc)
    n_folds = 5
    for rule, count in {"download_esol": 1, "featurize_esol": 1, "train_esol": 2 * n_folds,
                        "attribute_esol": 2 * n_folds, "gather_esol": 2, "esol_maps": 2,
                        "esol_reproduction": 1, "notebook_esol": 1, "report": 1}.items():
        assert rules.count(rule) == count, (rule, rules.count(rule))


def test_schema_rejects_a_misspelt_key_before_running(tmp_path):
    wf = copy_workflow(tmp_path / "wf")
    proc = snakemake(wf, "-n", "--config", "sead=1", check=False)
    assert proc.returncode != 0
    assert "sead" in proc.stdout + proc.stderr


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


@pytest.mark.slow
def test_quick_esol_slice_end_to_end(tmp_path, shared_data):
    """README's first command, restricted to the ESOL slice, offline from the shared mirror."""
    wf = copy_workflow(tmp_path / "wf")
    notebook = "results/report/notebooks/esol.ipynb"
    snakemake(wf, notebook, mirror=shared_data)

    res = wf / "results/esol"
    feat = json.loads((res / "featurize.json").read_text())
    assert feat["n_parsed"] == 1128 and feat["n_failed"] == 0
    rep = pd.read_csv(res / "reproduction.csv")
    nfp_r = rep.loc[rep["experiment"].str.contains("NFP") & rep["experiment"].str.endswith(" r"), "ours"].item()
    assert 0.7 < nfp_r <= 1.0
    preds = pd.read_csv(res / "nfp/predictions.csv")
    assert len(preds) == 1128 and preds["row"].is_unique  # every molecule predicted once, held out
    env = pd.read_csv(res / "nfp/environments.csv").set_index(["method", "environment"])
    assert env.loc[("bayesgrad", "hydroxyl O"), "mean"] > 0 > env.loc[("bayesgrad", "halogen"), "mean"]
    maps = json.loads((res / "nfp/maps.json").read_text())
    assert {m["name"] for m in maps} >= {"1-butanol", "hexachlorobenzene"}
    for fig in ["esol_scatter.png", "esol_environments.png", "esol_maps_nfp.png", "esol_maps_ggnn.png"]:
        data = (wf / "results/report/figures" / fig).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000, fig

    # Rerun: nothing to do.
    again = snakemake(wf, "-n", notebook, mirror=shared_data)
    assert planned_rules(again) == [], planned_rules(again)

    # Editing the notebook reruns only the notebook (and the report), never training.
    nb_path = wf / "notebooks/esol.ipynb"
    nb = json.loads(nb_path.read_text())
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": ["edited"]})
    nb_path.write_text(json.dumps(nb))
    after_edit = snakemake(wf, "-n", "results/report/index.html", mirror=shared_data)
    planned = set(planned_rules(after_edit))
    assert {"notebook_esol", "report"} <= planned
    assert not planned & {"download_esol", "featurize_esol", "train_esol", "attribute_esol", "gather_esol", "esol_maps"}
