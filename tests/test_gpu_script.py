"""benchmarks/gpu_full.py, the prepared GPU measurement of a scale, runs and reports what it promises:
tested on the CPU with --tiny (the quick scale's networks, tiny inputs, one run per measurement), so
that the one run on a GPU cannot fail for a reason a CPU would have shown; its job counts are
Snakemake's own plan, and its projection is those counts x the config's per-job sizes / the rates."""
from __future__ import annotations

import argparse
import functools
import json
import math
import os
import subprocess
import sys

import pytest
import yaml
from conftest import REPO_ROOT

SCRIPT = REPO_ROOT / "benchmarks" / "gpu_full.py"
#: the canonical methods every explained model is timed with (a plugin named in the config joins them)
CANONICAL = {"vanilla_grad", "input_x_gradient", "smoothgrad", "bayesgrad", "bayes_smoothgrad",
             "integrated_gradients", "occlusion", "shapley_sampling", "explanation_mask", "random"}


def _script():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import gpu_full
    finally:
        sys.path.pop(0)
    return gpu_full


@functools.lru_cache(maxsize=None)
def _plan(scale):
    return _script().plan(scale)


def _config(scale):
    from xairepro.config import resolve_scale

    return resolve_scale(yaml.safe_load((REPO_ROOT / "config.yaml").read_text()), scale)


def _bench(scale, tiny=False):
    args = argparse.Namespace(config=str(REPO_ROOT / "config.yaml"), tiny=tiny, device="cpu", seconds=1.0,
                              tox21=None, scale=scale)
    return _script().Bench(args)


def _finite_positive(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def _trains(rule: str) -> bool:
    """A training rule: one that trains a model (``train``) or fits a mask network (``_mask``, ``_mask_seed``)."""
    return "_train" in rule or rule.endswith(("_mask", "_mask_seed"))


def test_measure_grows_the_batch_and_reports_the_last_run():
    gpu_full = _script()
    calls = []

    def run(n):          # 1 ms per example: the rate is 1000 whatever n
        calls.append(n)
        return n, n * 1e-3
    res = gpu_full.measure(run, 4, 10_000, budget=0.3, tiny=False)
    assert calls[0] == 4 and calls == sorted(calls) and len(calls) > 1
    assert res["n"] == calls[-1] and (res["seconds"] >= 0.1 - 1e-9 or res["n"] == 10_000)
    assert res["rate"] == pytest.approx(1000.0)
    assert gpu_full.measure(run, 4, 10_000, budget=100.0, tiny=True)["runs"] == 1


@pytest.mark.slow  # two dry runs of the whole workflow: ~20 s
@pytest.mark.parametrize("scale", ["cpu", "full"])
def test_job_counts_are_the_dry_run_plans(scale):
    """The jobs the script multiplies by are Snakemake's own dry run of the scale: as many esol_train
    jobs as models x folds, Table 1's subset and ablation models, the vision mask seeds; and the
    projection carries exactly those counts."""
    plan, cfg = _plan(scale), _config(scale)
    assert plan["esol_train"] == len(cfg["esol"]["models"]) * cfg["esol"]["data"]["n_folds"]
    t1 = cfg["tox21"]["table1"]
    assert plan["tox21_train_subset"] == plan["tox21_prcauc_subset"] == t1["n_models"] + t1["ablation"]["n_models"]
    assert plan["vision_mask"] == cfg["vision"]["mask"]["n_seeds"]
    assert plan["vision_train"] == len(cfg["vision"]["models"])
    assert plan["smiles2vec_mask"] + plan["smiles2vec_mask_seed"] == \
        len(cfg["smiles2vec"]["mask"]["targets"]) * cfg["smiles2vec"]["mask"]["seeds"]
    # the chapter's CNN per seed, and the dropout variant of each faithfulness model seed
    assert plan["peptides_train"] == cfg["peptides"]["seeds"] + cfg["peptides"]["faithfulness"]["model_seeds"]
    # at least 3 trained models under every experiment's faithfulness rows: one job per further model seed,
    # each network (and mask) trained again
    seeds = {e: cfg[e][s]["model_seeds"] for e, s in (("vision", "aopc"), ("text", "faithfulness"),
                                                         ("smiles2vec", "faithfulness"), ("peptides", "faithfulness"),
                                                         ("iris", "faithfulness"))}
    assert min(seeds.values()) >= 3
    # Tox21's protocol runs on the first n_models of Table 1's models
    assert plan["tox21_faithfulness"] == cfg["tox21"]["faithfulness"]["n_models"] >= 3
    assert cfg["tox21"]["faithfulness"]["n_models"] <= t1["n_models"]
    for rule, e in (("vision_aopc", "vision"), ("text_faithfulness", "text"), ("smiles2vec_faithfulness", "smiles2vec"),
                    ("peptides_faithfulness", "peptides"), ("iris_faithfulness", "iris")):
        assert plan[rule] == 1 and plan[f"{rule}_seed"] == seeds[e] - 1, rule
    assert plan["vision_train_seed"] == len(cfg["vision"]["models"]) * (seeds["vision"] - 1)
    assert plan["vision_mask_model_seed"] == seeds["vision"] - 1
    assert plan["smiles2vec_mask_model_seed"] == seeds["smiles2vec"] - 1
    assert plan["text_train_seed"] == seeds["text"] - 1
    assert plan["text_mask_model_seed"] == len(cfg["text"]["mask"]["readings"]) * (seeds["text"] - 1)
    assert plan["iris_train_seed"] == seeds["iris"] - 1 and plan["smiles2vec_train_seed"] == seeds["smiles2vec"] - 1
    bench = _bench(scale)
    bench.project(plan)
    rows = {p["rule"]: p for p in bench.out["projections"]}
    assert rows and all(p["jobs"] == plan[r] for r, p in rows.items())
    assert bench.out["plan"] == plan


def test_projected_rules_are_workflow_rules():
    """Every rule with a formula is a rule of the workflow's plan under its own name (no translation of
    old names), every training rule of the plan has one, and a rule without one is unprojected."""
    gpu_full = _script()
    plan = _plan("full")
    table = gpu_full.JOBS(_config("full"))
    assert {"esol_train", "tox21_train_subset", "tox21_prcauc_subset", "vision_aopc"} <= set(table)
    assert not {"train_esol", "train_tox21_subset", "prcauc_tox21_subset"} & (set(table) | set(plan))
    assert set(table) <= set(plan), set(table) - set(plan)
    assert {r for r in plan if _trains(r)} <= set(table), {r for r in plan if _trains(r)} - set(table)
    bench = _bench("full")
    bench.project(plan)                        # nothing measured: every rule unprojected, none guessed
    assert bench.out["unprojected_rules"] == sorted(plan) and bench.out["total_seconds"] == 0
    assert bench.out["formulas_not_in_plan"] == []


def test_every_model_spec_is_measured():
    """The networks timed are the config's (models, nested specs, the dead features' architectures x
    layers): a model added to the config is timed without editing the script."""
    gpu_full = _script()
    full = _config("full")
    keys = {key for key, _, _ in gpu_full.model_specs(full)}
    for section in gpu_full.S:
        assert {f"{section}.models.{n}" for n in full[section]["models"]} <= keys
        assert set(gpu_full.TIMED[section]) <= set(full[section]["models"]), section
    assert "esol.blog_ig.model" in keys and not any(".mask." in k for k in keys)
    assert {f"tox21.dead_features.{a}.n_layers={n}" for a in full["tox21"]["dead_features"]["models"]
            for n in full["tox21"]["dead_features"]["layers"]} <= keys


def test_scale_option_projects_that_scales_counts():
    """--scale cpu projects the cpu scale's plan and sizes, not the full ones: with every rate 100/s a
    rule's time is the config's work / 100, summed over its jobs (the dropout variant's finetune with
    its own epochs; Table 1's subset and ablation models with theirs), and an attribution rule's
    methods are scaled by its path points over the timed ones."""
    plans = {s: _plan(s) for s in ("cpu", "full")}
    assert plans["cpu"]["tox21_train_subset"] != plans["full"]["tox21_train_subset"]
    for scale, plan in plans.items():
        cfg, bench = _config(scale), _bench(scale)
        V, X = cfg["vision"], cfg["tox21"]
        bench.out["train"] = {f"{s}.models.{m}": {"rate": 100.0} for s in ("vision", "tox21") for m in cfg[s]["models"]}
        bench.out["eval"] = {f"vision.models.{m}": {"rate": 100.0} for m in V["models"]}
        ig_steps = cfg["tox21"]["faithfulness"]["method_options"]["integrated_gradients"]["n_steps"]
        bench.out["attribution"] = {"tox21.models.ggnn": {"integrated_gradients": {"rate": 10.0, "M": 1, "n_steps": ig_steps}}}
        bench.project(plan)
        rows = {p["rule"]: p for p in bench.out["projections"]}
        epochs = [(V.get("finetune") or {}).get(m, V["train"])["epochs"] for m in V["models"]]
        assert rows["vision_train"]["jobs"] == len(epochs) == plan["vision_train"]
        assert rows["vision_train"]["seconds"] == pytest.approx(sum(epochs) * (50_000 + 10_000) / 100.0)
        t1, ab = X["table1"], X["table1"]["ablation"]
        assert rows["tox21_train_subset"]["seconds"] == pytest.approx(
            (t1["n_models"] * t1["epochs"] + ab["n_models"] * ab.get("epochs", t1["epochs"])) * t1["subset_size"] / 100.0)
        ig = X["integrated_gradients"]
        assert rows["tox21_integrated_gradients"]["seconds"] == pytest.approx(ig["n_molecules"] / 10.0 * ig["steps"] / ig_steps)
        assert rows["tox21_faithfulness"]["seconds"] is None          # its other methods were not measured
        assert "tox21_faithfulness" in bench.out["unprojected_rules"] and "vision_train" not in bench.out["unprojected_rules"]
        assert bench.out["total_seconds"] == pytest.approx(sum(p["seconds"] or 0 for p in bench.out["projections"]))


@pytest.mark.slow
def test_tiny_run_on_the_cpu(tmp_path):
    gpu_full = _script()
    out = tmp_path / "gpu_full.json"
    env = dict(os.environ)
    env.pop("XAIREPRO_DATA_MIRROR", None)
    proc = subprocess.run([sys.executable, str(SCRIPT), "--device", "cpu", "--tiny", "--seconds", "1", "--threads", "1",
                           "--out", str(out)], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    assert "whole full scale" in proc.stdout
    data = json.loads(out.read_text())
    quick = gpu_full.tiny_config(_config("quick"))

    # training throughput: every explained model and mask network; every spec, or its architecture (--tiny)
    train = data["train"]
    explained = {f"{s}.models.{m}" for s, models in gpu_full.TIMED.items() for m in models}
    assert explained | {"vision.mask", "text.mask", "smiles2vec.mask"} <= set(train), sorted(train)
    archs = {(key.split(".")[0], row["arch"]) for key, row in train.items() if "arch" in row}
    assert all((s, spec["arch"]) in archs for _, s, spec in gpu_full.model_specs(quick))
    assert set(data["eval"]) == {"vision.models.classifier", "text.models.bigru"}
    for key, row in {**train, **data["eval"]}.items():
        assert _finite_positive(row["rate"]), (key, row)

    # attribution throughput of every registered method on every explained model
    attribution = data["attribution"]
    assert set(attribution) == explained
    for key, rows in attribution.items():
        assert set(rows) >= CANONICAL, (key, sorted(rows))
        for method, row in rows.items():
            assert "error" not in row, (key, method, row)
            if "not_applicable" in row:
                assert row["not_applicable"].startswith(f"{method}: "), (key, method, row)
            else:
                assert _finite_positive(row["rate"]) and row["M"] >= 1, (key, method, row)
        applied = {m for m, row in rows.items() if "rate" in row}
        assert {"vanilla_grad", "integrated_gradients", "random"} <= applied, (key, applied)
    # BayesGrad cannot explain the dropout-free classifier, it does the dropout variant; the trained masks apply
    assert "not_applicable" in attribution["vision.models.classifier"]["bayesgrad"]
    assert "rate" in attribution["vision.models.dropout"]["bayesgrad"]
    for key in ("vision.models.classifier", "text.models.bigru", "smiles2vec.models.smiles2vec"):
        assert "rate" in attribution[key]["explanation_mask"], key
    assert attribution["vision.models.classifier"]["smoothgrad"]["M"] == 2          # --tiny: M <= 2

    # device vs CPU: CPU against CPU here, so exactly 0 on attributions that are not 0
    check = data["check"]
    assert set(check) == {"vision.models.classifier", "text.models.bigru", "tox21.models.ggnn"}
    for key, rows in check.items():
        assert set(rows) == {"vanilla_grad", "integrated_gradients"}
        for method, row in rows.items():
            assert row["max_abs"] == 0.0 and row["max_abs_cpu"] > 0, (key, method, row)

    # a projected time for every rule with a formula, the jobs of the full plan, the rest unprojected
    plan = data["plan"]
    assert plan == _plan("full")
    projections = {p["rule"]: p for p in data["projections"]}
    assert set(projections) == set(gpu_full.JOBS(_config("full")))
    for rule, p in projections.items():
        assert p["jobs"] == plan[rule], p
        assert (_finite_positive(p["seconds"]) if _trains(rule) else p["seconds"] >= 0), p
        assert p["seconds"] == pytest.approx(p["jobs"] * p["per_job_seconds"])
    assert set(data["unprojected_rules"]) == set(plan) - set(projections)
    assert _finite_positive(data["total_seconds"])
    assert data["total_seconds"] == pytest.approx(sum(p["seconds"] for p in projections.values()))
