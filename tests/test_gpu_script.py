"""benchmarks/gpu_full.py, the prepared GPU measurement of the full scale, runs and reports what it
promises: tested on the CPU with --tiny (the quick scale's networks, tiny inputs, one iteration per
measurement), so that the one run on a GPU cannot fail for a reason a CPU would have shown."""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys

import pytest
from conftest import REPO_ROOT

SCRIPT = REPO_ROOT / "benchmarks" / "gpu_full.py"
#: the canonical methods every attributed model is timed with (a plugin named in the config joins them)
CANONICAL = {"vanilla_grad", "input_x_gradient", "smoothgrad", "bayesgrad", "bayes_smoothgrad",
             "integrated_gradients", "occlusion", "shapley_sampling", "explanation_mask", "random"}


def _script():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import gpu_full
    finally:
        sys.path.pop(0)
    return gpu_full


def _finite_positive(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def training_rules() -> set[str]:
    """The workflow's training rules: every rule of rules/*.smk whose name says it trains (train) or
    fits a mask network (``*_mask``)."""
    names = set()
    for path in (REPO_ROOT / "rules").glob("*.smk"):
        text = path.read_text()
        names |= set(re.findall(r"^rule (\w+):", text, flags=re.M))
        names |= set(re.findall(r"^use rule \w+ as (\w+)", text, flags=re.M))
    return {n for n in names if "train" in n or n.endswith("_mask")}


def test_measure_grows_the_batch_and_reports_the_last_run():
    gpu_full = _script()
    calls = []

    def run(n):          # 1 ms per example: the rate is 1000 whatever n
        calls.append(n)
        return n, n * 1e-3
    res = gpu_full.measure(run, 4, 10_000, budget=0.3, tiny=False)
    assert calls[0] == 4 and calls == sorted(calls) and len(calls) > 1
    assert res["n"] == calls[-1] and res["seconds"] >= 0.1 - 1e-9 or res["n"] == 10_000
    assert res["rate"] == pytest.approx(1000.0)
    assert gpu_full.measure(run, 4, 10_000, budget=100.0, tiny=True)["runs"] == 1


def test_projected_rules_are_workflow_rules():
    """Every rule the projection names is a rule of rules/*.smk under its own name (no translation of
    old names): a rule renamed in the workflow but not here is listed as not in the workflow."""
    gpu_full = _script()
    rules = gpu_full.rule_names()
    assert {"esol_train", "tox21_train_subset", "tox21_prcauc_subset", "vision_train"} <= rules
    assert not {"train_esol", "train_tox21_subset", "prcauc_tox21_subset"} & rules
    args = argparse.Namespace(config=str(REPO_ROOT / "config.yaml"), tiny=False, device="cpu", seconds=1.0,
                              tox21=None, scale="full")
    bench = gpu_full.Bench(args)
    bench.project()
    projected = {p["rule"].split("[")[0] for p in bench.out["projections"]}
    assert {"esol_train", "tox21_attribute_pyridine", "iris_train", "peptides_train"} <= projected
    assert projected <= rules, projected - rules
    assert bench.out["rules_not_in_workflow"] == []


def test_every_full_model_spec_is_measured():
    """The script's list of networks to time is the full config's (models, nested specs, the dead
    features' architectures x layers): a model added to the config is timed without editing it."""
    gpu_full = _script()
    args = argparse.Namespace(config=str(REPO_ROOT / "config.yaml"), tiny=False, device="cpu", seconds=1.0,
                              tox21=None, scale="full")
    bench = gpu_full.Bench(args)
    keys = {key for key, _, _ in bench.specs()}
    full = bench.full
    for section, body in full.items():
        if isinstance(body, dict) and isinstance(body.get("models"), dict):
            assert {f"{section}.models.{n}" for n in body["models"]} <= keys
    assert "esol.blog_ig.model" in keys
    assert {f"tox21.dead_features.{a}.n_layers={n}" for a in full["tox21"]["dead_features"]["models"]
            for n in full["tox21"]["dead_features"]["layers"]} <= keys
    assert all(section in bench.recipes for _, section, _ in bench.specs())


def test_scale_option_projects_that_scale_and_the_finetune_its_own_epochs():
    """--scale cpu projects the cpu scale's counts (not the full ones), and a vision model trained on
    from another (the dropout variant's finetune) is projected with its own epochs, not the train
    section's."""
    import yaml
    from xairepro.config import resolve_scale

    gpu_full = _script()
    raw = yaml.safe_load((REPO_ROOT / "config.yaml").read_text())
    for scale in ("cpu", "full"):
        cfg = resolve_scale(raw, scale)
        args = argparse.Namespace(config=str(REPO_ROOT / "config.yaml"), tiny=False, device="cpu", seconds=1.0,
                                  tox21=None, scale=scale)
        bench = gpu_full.Bench(args)
        assert bench.full["vision"]["train"]["epochs"] == cfg["vision"]["train"]["epochs"]
        # every training and eval rate 100 per second: the projection is then the config's counts / 100
        rate = {"rate": 100.0, "unit": "images/s"}
        bench.out["train"] = {f"vision.models.{name}": dict(rate) for name in cfg["vision"]["models"]}
        bench.out["eval"] = {f"vision.models.{name}": dict(rate) for name in cfg["vision"]["models"]}
        bench.project()
        rows = {p["basis"]: p for p in bench.out["projections"] if p["rule"] == "vision_train"}
        n_train, n_test = 50_000, 10_000      # every image at both scales (n_train_per_class null)
        assert cfg["vision"]["data"]["n_train_per_class"] is None
        for name in cfg["vision"]["models"]:
            tune = cfg["vision"].get("finetune", {}).get(name)
            epochs = tune["epochs"] if tune else cfg["vision"]["train"]["epochs"]
            assert rows[f"vision.models.{name}"]["seconds"] == pytest.approx(epochs * (n_train + n_test) / 100.0), name
            assert rows[f"vision.models.{name}"]["formula"].startswith(f"{epochs} epochs"), rows
        assert cfg["vision"]["finetune"]["dropout"]["epochs"] < cfg["vision"]["train"]["epochs"]


@pytest.mark.slow
def test_tiny_run_on_the_cpu(tmp_path):
    out = tmp_path / "gpu_full.json"
    env = dict(os.environ)
    env.pop("XAIREPRO_DATA_MIRROR", None)
    proc = subprocess.run([sys.executable, str(SCRIPT), "--device", "cpu", "--tiny", "--seconds", "1", "--out", str(out)],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    assert "whole full scale" in proc.stdout
    data = json.loads(out.read_text())

    # training throughput of every measured network and mask network
    train = data["train"]
    for key in ("vision.models.classifier", "vision.mask", "text.mask", "tox21.models.ggnn", "smiles2vec.mask"):
        assert key in train, sorted(train)
    assert any(k.startswith("text.models.") for k in train)
    for key, row in {**train, **data["eval"]}.items():
        assert _finite_positive(row["rate"]), (key, row)
        assert row["unit"].endswith("/s"), (key, row)

    # attribution throughput of every method on the vision classifier, the text model and the GGNN
    attribution = data["attribution"]
    for prefix in ("vision.models.classifier", "text.models.", "tox21.models.ggnn"):
        assert any(k.startswith(prefix) for k in attribution), sorted(attribution)
    for key, rows in attribution.items():
        assert CANONICAL <= set(rows), (key, sorted(rows))
        for method, row in rows.items():
            assert "error" not in row, (key, method, row)
            if "not_applicable" in row:
                assert row["not_applicable"].startswith(f"{method}: "), (key, method, row)
            else:
                assert _finite_positive(row["rate"]) and row["M"] >= 1, (key, method, row)
        applied = {m for m, row in rows.items() if "rate" in row}
        assert {"vanilla_grad", "integrated_gradients", "random"} <= applied, (key, applied)
    vision = attribution["vision.models.classifier"]
    # BayesGrad cannot explain the dropout-free classifier; it is timed on the dropout variant
    assert vision["bayesgrad"]["model"] == "vision.models.dropout", vision["bayesgrad"]

    # device vs CPU: finite differences (0 here, CPU against CPU)
    check = data["check"]
    assert len(check) == 3, sorted(check)
    for key, rows in check.items():
        assert set(rows) == {"vanilla_grad", "integrated_gradients"}
        for method, row in rows.items():
            assert math.isfinite(row["max_abs"]) and math.isfinite(row["relative"]), (key, method, row)
            assert row["max_abs"] == 0.0, (key, method, row)
            assert row["max_abs_cpu"] > 0, (key, method, row)

    # a projected time for every training rule of the workflow, and for the whole full scale
    projections = data["projections"]
    for p in projections:
        if p["kind"] == "train":
            assert _finite_positive(p["seconds"]), p
        else:
            assert p["seconds"] is not None and math.isfinite(p["seconds"]) and p["seconds"] >= 0, p
    projected = {p["rule"].split("[")[0] for p in projections if p["kind"] == "train"}
    missing = training_rules() - projected
    assert not missing, f"training rules of rules/*.smk without a projection in gpu_full.py: {sorted(missing)}"
    assert {p["rule"].split("[")[0] for p in projections if p["kind"] == "attribute"} >= {"vision_aopc", "text_attribute"}
    assert not data["unprojected_rules"], data["unprojected_rules"]
    assert _finite_positive(data["total_seconds"])
    assert data["total_seconds"] == pytest.approx(sum(p["seconds"] for p in projections))
