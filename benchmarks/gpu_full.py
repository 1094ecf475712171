"""One scale of the workflow on one GPU in a few minutes: throughputs, a CUDA-vs-CPU check of a few
attributions, and the projected wall time of each rule and of the whole scale (config.yaml at --scale).

Measured for about --seconds each, on inputs of the configured shapes (``settings.example_inputs``):
training throughput through the project's loop (``fit``, ``train_mask_net``) of every model spec and
mask network (AMP and channels-last images on CUDA where the config asks), the evaluation pass of the
vision and text rules, and attribution throughput of every registered method (a plugin's too) on
every explained model (TIMED) through the experiment's own Explainer (``settings.example_explainer``)
with the scale's M, path points and windows; then max |device - cpu| of two methods on three models.

Job counts are Snakemake's own plan (``snakemake -n --forceall --quiet rules``); a rule's projection is
its jobs x the per-job cost JOBS gives from the rates and the config's sizes; rules with no formula
(downloads, gathers, notebooks, the report) are listed as unprojected. Job start-up, the
model-randomisation passes and the leaderboard's bootstrap are not projected.

    python benchmarks/gpu_full.py --out results/benchmarks/gpu_full.json          # on the GPU
    python benchmarks/gpu_full.py --device cpu --tiny --out /tmp/gpu_full.json    # test the script
    python benchmarks/gpu_full.py --device cpu --scale cpu --threads 1            # the cpu scale here

--tiny: the quick scale's networks, short inputs, M <= 2, path points <= 4, one run per measurement.
"""
from __future__ import annotations

import argparse
import copy
import importlib
import json
import math
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from xairepro.attribution import method_names
from xairepro.config import check_models, load_plugins, model_specs, resolve_scale, validate_config
from xairepro.context import RunContext, set_deterministic
from xairepro.experiments.examples import with_example_section
from xairepro.experiments.explainer import NotApplicable
from xairepro.experiments.vision.data import TensorBatches, augment
from xairepro.models import build_model
from xairepro.training import fit, model_kwargs, predict, train_config, train_mask_net

#: Sizes of the data sets (where the config says null: all, or a fraction).
DATA = {"cifar_train": 50_000, "cifar_test": 10_000, "imdb": 25_000, "tox21": 7_823, "srmmp": 5_810, "esol": 1_128,
        "peptides": 634, "iris": 150}
#: Each experiment's settings.py: its example inputs, data, models, mask networks and explainer.
S = {name: importlib.import_module(f"xairepro.experiments.{name}.settings")
     for name in ("esol", "tox21", "vision", "text", "smiles2vec", "peptides", "iris")}


def measure(run, n0: int, n_max: int, budget: float, tiny: bool) -> dict:
    """``run(n) -> (units done, seconds)``; ``n`` grows (at most x8 a step) until one run takes about a
    third of ``budget`` or reaches ``n_max``; the last run's rate is reported (the first warms up)."""
    n, runs = max(1, int(n0)), []
    while not runs or not (tiny or runs[-1][2] >= budget / 3 or n >= n_max or sum(r[2] for r in runs) > budget):
        n = n if not runs else int(min(n_max, math.ceil(n * min(8.0, max(2.0, budget / 3 / runs[-1][2])))))
        units, seconds = run(n)
        runs.append((n, float(units), max(float(seconds), 1e-9)))
    n, units, seconds = runs[-1]
    return {"rate": units / seconds, "n": n, "seconds": seconds, "runs": len(runs)}


def timed(fn, device) -> float:
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    sync()
    t0 = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - t0


# ----------------------------------------------------------------------------- the experiments
#: The models explained (the first: with the mask network, the evaluation pass and the device check), each
#: by every registered method through ``settings.example_explainer`` (the section its faithfulness study reads).
TIMED = {"esol": ["nfp", "ggnn"], "tox21": ["ggnn", "ggnn_embedding_state", "nfp"], "vision": ["classifier", "dropout"],
         "text": ["bigru"], "smiles2vec": ["smiles2vec"], "peptides": ["cnn", "cnn_dropout"], "iris": ["mlp"]}


def inputs(sec, n, c, dev):
    """``(inputs, target)`` an explainer takes: the experiment's ``example_inputs`` and ``example_targets``."""
    x, t = S[sec].example_inputs(n, c), S[sec].example_targets(n, c)
    return (x.to(dev), t.to(dev)) if sec == "vision" else (x, t)


def tiny_config(c: dict) -> dict:
    """--tiny: M <= 2, path points <= 4, large occlusion windows, short reviews, SMILES and peptides."""
    def walk(node):
        for k, v in node.items() if isinstance(node, dict) else ():
            if k in ("M", "mc_samples", "samples", "n_steps", "max_steps") and isinstance(v, int):
                node[k] = min(v, 4 if k == "n_steps" else 2)
            elif k == "occlusion" and "strides" in v:
                v.update(sliding_window_shapes=[3, 16, 16], strides=[3, 16, 16])
            else:
                walk(v)
    walk(c := copy.deepcopy(c))
    c["text"]["data"]["max_len"], c["smiles2vec"]["data"]["max_len"] = 40, 20
    for spec in c["peptides"]["models"].values():
        spec["length"] = 24
    return c


def sizes(section: dict, method: str) -> tuple[int, int]:
    """``(M, path points)`` a config section asks of ``method``."""
    o = (section.get("method_options") or {}).get(method) or {}
    return int(o.get("M") or section.get("mc_samples") or section.get("samples") or 1), int(o.get("n_steps") or 1)


# ----------------------------------------------------------------------------- the projection table
def JOBS(c: dict) -> dict:
    """``{rule: [(count, parts)]}``: the work of one job of each kind a rule runs (``count`` of them per
    scale: the weights of the per-job mean). Parts: ``("train" | "eval" | "mask", rate key, examples)`` and
    ``("attribute", rate key, section, examples)``: the examples x the section's methods (its M, steps)."""
    V, T, X, E, SM, P, I = (c[k] for k in ("vision", "text", "tox21", "esol", "smiles2vec", "peptides", "iris"))
    tr, ev, mk = (lambda k, n: ("train", k, n)), (lambda k, n: ("eval", k, n)), (lambda k, n: ("mask", k, n))
    at = lambda k, sec, n, **kw: ("attribute", k, dict(sec, **kw), n)  # noqa: E731
    ig = lambda steps: {"methods": ["integrated_gradients"], "method_options": {"integrated_gradients": {"n_steps": steps}}}  # noqa
    n_img, n_img_te = (V["data"]["n_train_per_class"] or 5000) * 10, (V["data"]["n_test_per_class"] or 1000) * 10
    cls, drop, VA, aopc, cf = "vision.models.classifier", "vision.models.dropout", V["attribution"], V["aopc"], V["counterfactuals"]
    tk, TA, n_rev, n_rev_te = f"text.models.{next(iter(T['models']))}", T["attribution"], T["data"]["n_train"] or DATA["imdb"], \
        T["data"]["n_test"] or DATA["imdb"]
    XA, F, t1, abl, d, sr = X["attribution"], X["faithfulness"], X["table1"], X["table1"]["ablation"], X["dead_features"], X["srmmp"]
    gk = lambda model: f"tox21.models.{model}"  # noqa: E731
    sweep = dict(XA, methods=XA["methods"] + [m for m in XA["methods"] if S["tox21"].takes_noise(m)] * (len(XA["noise_sweep"]) - 1))
    k = E["data"]["n_folds"]
    n_fold, n_held = DATA["esol"] * (k - 1) // k, DATA["esol"] // k
    sk, n_s = f"smiles2vec.models.{SM['data']['model']}", round(SM["data"]["fractions"][0] * DATA["esol"])
    pk, pd_ = f"peptides.models.{P['data']['model']}", f"peptides.models.{P['data']['dropout_model']}"
    n_p, PA, PF = int(DATA["peptides"] * (1 - P["data"]["test_fraction"] - P["data"]["val_fraction"])), P["attribution"], P["faithfulness"]
    ik, IF = f"iris.models.{I['data']['model']}", I["faithfulness"]
    TF = T["faithfulness"]
    n_tf = TF.get("n_examples") or TA["n_reviews"]
    table = {
        "vision_train": [(1, [tr(f"vision.models.{m}", (V.get("finetune") or {}).get(m, V["train"])["epochs"] * n_img),
                              ev(cls, (V.get("finetune") or {}).get(m, V["train"])["epochs"] * n_img_te)]) for m in V["models"]],
        "vision_mask": [(1, [mk("vision", V["mask"]["epochs"] * (V["mask"]["n_train"] or n_img))])],
        "vision_aopc": [(1, [at(cls, VA, aopc["n_examples"], methods=aopc["methods"]),
                             at(drop, VA, aopc["n_examples"], methods=aopc["dropout_methods"]),   # + the deletion curves
                             ev(cls, aopc["n_examples"] * aopc["steps"] * len(aopc["methods"] + aopc["dropout_methods"]))])],
        "vision_counterfactuals": [(1, [at(cls, VA, cf["n_images"], methods=["integrated_gradients"]),
                                        ev(cls, cf["n_images"] * cf["n_alphas"])])],
        "vision_saliency": [(1, [at(drop, VA, V["saliency"]["n_images"], methods=V["saliency"]["methods"])])],
        "text_train": [(1, [tr(tk, T["train"]["epochs"] * n_rev), ev(tk, (T["train"]["epochs"] + 1) * n_rev_te)])],
        "text_mask": [(1, [mk("text", T["mask"]["epochs"] * (T["mask"]["n_train"] or n_rev))])],
        "text_attribute": [(1, [at(tk, TA, TA["n_reviews"])])],
        "text_faithfulness": [(1, [at(tk, TA, n_tf, methods=[m for m in TF["methods"] if m not in TA["methods"]]),
                                   ev(tk, 2 * n_tf * TF["steps"] * len(TF["methods"]))])],
        # a further model seed: no attribution study explained it, so every method is explained here
        "text_faithfulness_seed": [(1, [at(tk, TA, n_tf, methods=TF["methods"]),
                                        ev(tk, 2 * n_tf * TF["steps"] * len(TF["methods"]))])],
        "tox21_train": [(1, [tr(gk(X["pyridine"]["model"]), X["pyridine"]["epochs"] *
                                round((1 - X["data"]["val_fraction"]) * DATA["tox21"]))])],
        "tox21_train_subset": [(t1["n_models"], [tr(gk(t1["model"]), t1["epochs"] * t1["subset_size"])]),
                               (abl["n_models"], [tr(gk(abl["model"]), abl.get("epochs", t1["epochs"]) * t1["subset_size"])])],
        "tox21_train_srmmp": [(1, [tr(gk(sr["model"]), sr["epochs"] * round(X["data"]["srmmp_split"][0] * DATA["srmmp"]))])],
        "tox21_attribute_pyridine": [(1, [at(gk(X["pyridine"]["model"]), sweep, F["n_examples"])])],
        "tox21_prcauc_subset": [(t1["n_models"], [at(gk(t1["model"]), sweep, F["n_examples"])]),
                                (abl["n_models"], [at(gk(abl["model"]), sweep, F["n_examples"])])],
        "tox21_srmmp_maps": [(1, [at(gk(sr["model"]), XA, len(sr["map_molecules"]) + sr["n_similar"],
                                     methods=sr["methods"] + sr["signed_methods"])])],
        "tox21_integrated_gradients": [(1, [at(gk(X["pyridine"]["model"]), ig(X["integrated_gradients"]["steps"]),
                                               X["integrated_gradients"]["n_molecules"])])],
        "tox21_dead_features": [(1, [tr(f"tox21.dead_features.{a}.n_layers={n}", d["epochs"] * t1["subset_size"])
                                     for a in d["models"] for n in d["layers"]] +
                                 [at(gk(t1["model"]), ig(d["steps"]), d["n_molecules"] * len(d["models"]) * len(d["layers"]))])],
        "tox21_faithfulness": [(1, [at(gk(t1["model"]), F, F["n_examples"])])],
        "esol_train": [(1, [tr(f"esol.models.{m}", E["train"]["epochs"] * n_fold)]) for m in E["models"]],
        "esol_attribute": [(1, [at(f"esol.models.{m}", E["attribution"], n_held)]) for m in E["models"]],
        "esol_faithfulness": [(1, [at(f"esol.models.{m}", E["faithfulness"], E["faithfulness"]["n_examples"])]) for m in E["models"]],
        "esol_blog_train": [(1, [tr("esol.blog_ig.model", E["train"]["epochs"] * n_fold)])],
        "esol_blog_ig": [(1, [at("esol.models.ggnn", ig(E["blog_ig"]["steps"]), n_held + len(E["attribution"]["map_molecules"]))])],
        "smiles2vec_train": [(1, [tr(sk, SM["train"]["epochs"] * n_s)])],
        **{r: [(1, [mk("smiles2vec", SM["mask"]["epochs"] * n_s)])] for r in ("smiles2vec_mask", "smiles2vec_mask_seed")},
        "smiles2vec_explain": [(1, [at(sk, SM["attribution"], DATA["esol"] - n_s - round(SM["data"]["fractions"][1] * DATA["esol"]))])],
        "smiles2vec_faithfulness": [(1, [at(sk, SM["faithfulness"], SM["faithfulness"]["n_examples"])])],
        "peptides_train": [(P["seeds"], [tr(pk, P["train"]["epochs"] * n_p)]), (PF.get("model_seeds", 1), [tr(pd_, P["train"]["epochs"] * n_p)])],
        "peptides_explain": [(1, [at(pk, PA, 1 + len(PA["probe"]))])],
        "peptides_seed_shapley": [(1, [at(pk, PA, 1, methods=["shapley_sampling"], samples=PA["seed_samples"])])],
        "peptides_faithfulness": [(1, [at(pk, PF, PF["n_examples"]), at(pd_, PF, PF["n_examples"], methods=PF["dropout_methods"])])],
        **{r: [(1, [tr(ik, I["train"]["epochs"] * DATA["iris"])])] for r in ("iris_train", "iris_train_permuted")},
        **{r: [(1, [at(ik, IF, IF["n_examples"])])] for r in ("iris_faithfulness", "iris_data_randomisation")},
        "iris_importance": [(1, [at(ik, I["attribution"], DATA["iris"])])],
    }
    # the further model seeds of the faithfulness protocol: the same jobs as seed 0's (vision_train_seed:
    # every network of vision.models; vision_mask_model_seed, text_mask_model_seed, smiles2vec_mask_model_seed:
    # one mask network each)
    for rule, same in (("vision_train", "vision_train"), ("vision_mask_model", "vision_mask"), ("vision_aopc", "vision_aopc"),
                       ("text_train", "text_train"), ("text_mask_model", "text_mask"), ("smiles2vec_train", "smiles2vec_train"),
                       ("smiles2vec_mask_model", "smiles2vec_mask"), ("smiles2vec_faithfulness", "smiles2vec_faithfulness"),
                       ("peptides_faithfulness", "peptides_faithfulness"), ("iris_train", "iris_train"),
                       ("iris_faithfulness", "iris_faithfulness")):
        table[f"{rule}_seed"] = table[same]
    # the known-answer models, at the rates of their experiment's own networks (the planted-CIFAR ResNet is
    # narrower at quick, so its projection errs high there): SMILES2vec on each Table 1 subset, and per task
    # and model seed the groundtruth networks
    pyr, gt = SM.get("pyridine"), c.get("groundtruth")
    if pyr:
        table["smiles2vec_pyridine_train"] = [(pyr["n_models"], [tr(sk, pyr["epochs"] * t1["subset_size"])])]
    if gt:
        tasks, n_gt = gt["tasks"], gt["n_models"]
        n_gt_img = (tasks["images"]["data"]["n_train_per_class"] or DATA["cifar_train"] // 10) * 10
        n_gt_rev = tasks["text"]["data"]["n_train"] or DATA["imdb"]
        table["groundtruth_train"] = [(n_gt, [tr(cls, tasks["images"]["train"]["epochs"] * n_gt_img)]),
                                      (n_gt, [tr(tk, tasks["text"]["train"]["epochs"] * n_gt_rev)]),
                                      (n_gt, [tr(pd_, tasks["peptides"]["train"]["epochs"] * DATA["peptides"])]),
                                      (n_gt, [tr(ik, tasks["tables"]["train"]["epochs"] * DATA["iris"])])]
    return table


def plan(scale: str, config=REPO / "config.yaml") -> dict[str, int]:
    """``{rule: jobs}`` of Snakemake's own dry run of the whole workflow at ``scale``."""
    exe = Path(sys.executable).with_name("snakemake")
    out = subprocess.run([str(exe) if exe.exists() else "snakemake", "-n", "--forceall", "--nolock", "--quiet", "rules",
                          "--configfile", str(config), "--config", f"scale={scale}"],
                         cwd=REPO, capture_output=True, text=True, check=True).stdout
    table = out.split("Job stats:", 1)[1].split("\ntotal", 1)[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, flags=re.M)}


# ----------------------------------------------------------------------------- the benchmark
class Bench:
    def __init__(self, args):
        self.args, self.tiny, self.dev = args, bool(args.tiny), torch.device(args.device)
        raw = yaml.safe_load(Path(args.config).read_text())
        validate_config(raw, source=str(args.config))
        self.plan_cfg = resolve_scale(raw, args.scale)                                       # the counts projected
        self.cfg = tiny_config(resolve_scale(raw, "quick")) if self.tiny else self.plan_cfg  # what is measured
        load_plugins(self.plan_cfg, Path(args.config).parent)
        check_models(self.plan_cfg)
        self.ctx = RunContext(seed=0, device=str(self.dev),
                              max_batch=64 if self.tiny else int(self.cfg["attribution"]["max_batch"]))
        self.models, self.masks, self._tox21 = {}, {}, None
        self.out = {"train": {}, "eval": {}, "attribution": {}, "check": {}, "projections": []}

    def real_tox21(self, n):
        """``n`` parsable molecules of the Tox21 CSV (--tox21), cycled."""
        if self._tox21 is None:
            import pandas as pd
            from xairepro.data.featurize import graphs_from_smiles, parse_smiles
            self._tox21 = graphs_from_smiles([s for s in pd.read_csv(self.args.tox21)["smiles"][:5000] if parse_smiles(s)])
        return [copy.copy(g) for g in (self._tox21 * (n // len(self._tox21) + 1))[:n]]

    def model(self, sec, name, spec=None):
        key = f"{sec}.models.{name}"
        if key not in self.models or spec is not None:
            torch.manual_seed(0)
            c = self.cfg[sec]
            arch, kw = model_kwargs(dict(spec or c["models"][name], **S[sec].example_model_kwargs(c)))
            self.models[key] = build_model(arch, **kw).to(self.dev)
        return self.models[key]

    def dataset(self, sec, n, bs):
        """What ``fit`` takes: ``n`` labelled training examples of the configured shapes, and its keywords."""
        c, data = self.cfg[sec], S[sec].example_dataset(n, self.cfg[sec])
        if sec == "tox21" and self.args.tox21:              # real molecules, the same labels
            for g, example in zip(real := self.real_tox21(n), data):
                g.y = example.y
            return real, {}
        if sec == "vision":
            nhwc = self.dev.type == "cuda" or bool(c["data"].get("channels_last"))
            return TensorBatches(data.tensors[0].mul(255).byte(), data.tensors[1], bs, self.dev, drop_last=n > bs,
                                 channels_last=nhwc), {"batch_transform": augment} if c["data"].get("augmentation") else {}
        return data, {}

    def rate(self, run, sec, bs, n_max=None) -> dict:
        """``run(n, batch size) -> seconds`` measured, and the peak GPU memory."""
        bs = min(bs, 4) if self.tiny else bs
        n0, n_max = (2 * bs, 2 * bs) if self.tiny else (4 * bs, n_max or (64 if sec in ("vision", "text") else 200) * bs)
        if self.dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.dev)
        res = dict(measure(lambda n: (n, run(n, bs)), n0, n_max, self.args.seconds, self.tiny), batch_size=bs)
        return dict(res, max_memory_gb=torch.cuda.max_memory_allocated(self.dev) / 2**30) if self.dev.type == "cuda" else res

    def measure_training(self):
        """Every model spec for one epoch (--tiny: one per architecture, and the explained models); around
        each experiment's first explained model, the evaluation pass (vision, text) and its mask network."""
        seen = set()
        for key, sec, spec in model_specs(self.cfg):
            name, c = key.rsplit(".", 1)[-1], self.cfg[sec]
            explained = key == f"{sec}.models.{name}" and name in TIMED[sec]
            if self.tiny and (sec, spec["arch"]) in seen and not explained:
                continue
            seen.add((sec, spec["arch"]))
            model, bs = self.model(sec, name, spec), int(c["train"].get("batch_size", 32))
            cfg = train_config(dict(c["train"], epochs=1, batch_size=min(bs, 4) if self.tiny else bs), task=S[sec].TASK,
                               ctx=self.ctx, log_every=1)

            def fit_one(n, b, model=model, sec=sec, cfg=cfg):
                data, kw = self.dataset(sec, n, b)
                return fit(model, data, None, cfg, **kw)[0]["seconds"]
            res = self.out["train"][key] = dict(self.rate(fit_one, sec, bs), arch=spec["arch"], amp=cfg.amp and self.dev.type
                                                == "cuda", parameters=sum(p.numel() for p in model.parameters()))
            print(f"  train {key:44s} {res['rate']:10.1f} examples/s (batch {res['batch_size']})", flush=True)
            if not explained:
                del self.models[f"{sec}.models.{name}"]
            elif name == TIMED[sec][0] and sec in ("vision", "text"):
                run = lambda n, b, model=model.eval(): timed(  # noqa: E731
                    lambda: predict(model, S[sec].example_dataset(n, c), b, self.dev), self.dev)
                res = self.out["eval"][key] = self.rate(run, sec, 4 * bs, 256 * bs)
                print(f"  eval  {key:44s} {res['rate']:10.1f} examples/s", flush=True)
            if explained and name == TIMED[sec][0] and "mask" in c:
                self.measure_mask(sec, model.eval())

    def measure_mask(self, sec, model):
        """One epoch of the experiment's mask network around ``model`` (``train_mask_net``)."""
        torch.manual_seed(0)
        net, m = S[sec].example_mask_net(model, self.cfg[sec]).to(self.dev), self.cfg[sec]["mask"]
        amp = self.dev.type == "cuda" and (sec == "vision" or bool(m.get("amp")))

        def run(n, bs):
            data = self.dataset(sec, n, bs)[0]
            loader = data if sec == "vision" else torch.utils.data.DataLoader(
                torch.utils.data.TensorDataset(*data.tensors[:1 if sec == "text" else 2]), batch_size=bs, shuffle=True)
            return train_mask_net(net, loader, epochs=1, lr=float(m["lr"]), device=self.dev, amp=amp)[0]["seconds"]
        res = self.out["train"][f"{sec}.mask"] = dict(self.rate(run, sec, int(m.get("batch_size", 32))), amp=amp)
        print(f"  train {sec + '.mask':44s} {res['rate']:10.1f} examples/s", flush=True)
        self.masks[sec] = net.eval()

    def measure_attribution(self):
        """Every registered method on every explained model: examples/s through the experiment's Explainer."""
        starts = {"vision": (2, 256), "text": (2, 64), "peptides": (2, 128), "iris": (16, 150)}
        for sec, names in TIMED.items():
            section, c = S[sec].example_section(self.cfg[sec]), self.cfg[sec]
            for name in names:
                key, model = f"{sec}.models.{name}", self.model(sec, name).eval()
                exp = S[sec].example_explainer(model, c, ctx=self.ctx, methods=method_names(),
                                               mask_net=self.masks.get(sec) if name == names[0] else None)
                rows = self.out["attribution"][key] = {}
                for method in method_names():
                    got = {"r": None}

                    def run(n, method=method, got=got):
                        x, t = inputs(sec, n, c, self.dev)
                        return n, timed(lambda: got.update(r=exp.explain(x, t, names=[method])[method]), self.dev)
                    try:
                        n0, n_max = (2, 2) if self.tiny else starts.get(sec, (16, 1024))
                        row = measure(run, n0, n_max, self.args.seconds, self.tiny)
                    except torch.cuda.OutOfMemoryError as err:      # report, go on
                        row = {"error": f"out of memory: {str(err).splitlines()[0]}"}
                        torch.cuda.empty_cache()
                    if isinstance(got["r"], NotApplicable):
                        row = {"not_applicable": f"{method}: {got['r'].reason}"}
                    elif "rate" in row:                             # M: the samples drawn (1: deterministic)
                        row.update(unit="examples/s", M=int(got["r"].samples.shape[0]), n_steps=sizes(section, method)[1])
                    rows[method] = row
                    shown = f"{row['rate']:10.2f} examples/s (M={row['M']})" if "rate" in row else \
                        row.get("error") or f"not applicable: {row['not_applicable'][:60]}"
                    print(f"  attribute {key:34s} {method:22s} {shown}", flush=True)
            if self.dev.type == "cuda":
                torch.cuda.empty_cache()

    def check_against_cpu(self):
        """vanilla_grad and integrated_gradients (16 path points) of a few inputs, on the device and the CPU."""
        cpu = RunContext(seed=0, device="cpu", max_batch=self.ctx.max_batch)
        for sec, n in (("vision", 2), ("text", 2), ("tox21", 8)):
            name, c, section = TIMED[sec][0], self.cfg[sec], S[sec].example_section(self.cfg[sec])
            opts = dict(section.get("method_options") or {})
            opts["integrated_gradients"] = dict(opts.get("integrated_gradients") or {}, n_steps=4 if self.tiny else 16)
            model, res = self.model(sec, name).eval(), []
            for m, ctx in ((model, self.ctx), (copy.deepcopy(model).cpu(), cpu)):
                cfg = with_example_section(c, S[sec].EXAMPLE_SECTION, method_options=opts)
                got = S[sec].example_explainer(m, cfg, ctx=ctx, methods=["vanilla_grad", "integrated_gradients"])
                got = got.explain(*inputs(sec, n, c, ctx.torch_device))
                res.append({k: v.samples.detach().double().cpu() for k, v in got.items()})
            rows = self.out["check"][f"{sec}.models.{name}"] = {}
            for method, ref in res[1].items():
                diff, scale = float((res[0][method] - ref).abs().max()), float(ref.abs().max())
                rows[method] = {"max_abs": diff, "relative": diff / scale if scale > 0 else 0.0, "max_abs_cpu": scale,
                                "n": n}
                print(f"  check {sec}.models.{name:18s} {method:22s} max |{self.dev.type} - cpu| = {diff:.3g}", flush=True)

    # ------------------------------------------------------------------ projections
    def seconds(self, part):
        """Seconds of one part of a job (``None``: a rate is missing). An attribution part's methods run
        at their measured rates scaled by the part's M and path points over the timed section's."""
        if part[0] != "attribute":
            table, key = self.out["eval" if part[0] == "eval" else "train"], part[1] + (".mask" if part[0] == "mask" else "")
            if key not in table:                  # a spec not measured (--tiny): its architecture's rate
                arch = {k: (s, spec["arch"]) for k, s, spec in model_specs(self.cfg)}
                key = next((k for k in table if k in arch and arch[k] == arch.get(key)), key)
            r = table.get(key, {}).get("rate")
            return part[2] / r if r else None
        _, key, section, n = part
        sec, rows, total = key.split(".")[0], self.out["attribution"].get(key, {}), 0.0
        ref = S[sec].example_section(self.plan_cfg[sec])
        for m in section["methods"]:
            row = rows.get(m, {"error": "not measured"})
            if "error" in row:
                return None
            if "rate" in row:
                (M, steps), (M0, steps0) = sizes(section, m), sizes(ref, m)
                total += n / row["rate"] * (M / M0 if row["M"] > 1 else 1.0) * steps / steps0
        return total

    def project(self, jobs: dict[str, int]):
        """Every rule of the plan that JOBS has a formula for: its jobs x the mean cost of its kinds of job."""
        table, P = JOBS(self.plan_cfg), []
        for rule, kinds in ((r, k) for r, k in table.items() if r in jobs):
            costs = [[self.seconds(p) for p in parts] for _, parts in kinds]
            per_job = None if None in sum(costs, []) else \
                sum(w * sum(c) for (w, _), c in zip(kinds, costs)) / sum(w for w, _ in kinds)
            P.append({"rule": rule, "jobs": jobs[rule], "per_job_seconds": per_job,
                      "seconds": None if per_job is None else jobs[rule] * per_job,
                      "kind": "train" if any(p[0] in ("train", "mask") for _, ps in kinds for p in ps) else "attribute",
                      "parts": [[p[0], p[1], p[2] if p[0] != "attribute" else f"{p[3]} x {p[2]['methods']}"]
                                for _, ps in kinds for p in ps]})
        self.out.update(projections=P, plan=jobs, total_seconds=sum(p["seconds"] or 0.0 for p in P),
                        unprojected_rules=sorted(set(jobs) - {p["rule"] for p in P if p["seconds"] is not None}),
                        formulas_not_in_plan=sorted(set(table) - set(jobs)))

    def reproject(self, earlier: dict):
        """The projection of this config's plan from the measured rates of ``earlier`` (an --out file)."""
        self.out.update({k: earlier[k] for k in ("train", "eval", "attribution", "check")})
        self.out["info"] = dict(earlier["info"], rates_from=str(self.args.rates), config=str(self.args.config))
        if earlier["info"]["scale"] != self.args.scale:
            raise SystemExit(f"--rates {self.args.rates}: measured at the {earlier['info']['scale']} scale, "
                             f"not --scale {self.args.scale}")
        self.project(plan(self.args.scale, self.args.config))
        print_table(self.out)
        if self.args.out:
            Path(self.args.out).write_text(json.dumps(self.out, indent=1, default=str))
            print(f"wrote {self.args.out}")

    def run(self):
        a, dev = self.args, self.dev
        info = self.out["info"] = {
            "device": str(dev), "torch": torch.__version__, "cuda": torch.version.cuda, "python": platform.python_version(),
            "tiny": self.tiny, "scale": a.scale, "seconds": a.seconds, "config": str(a.config),
            "max_batch": self.ctx.max_batch, "deterministic": a.deterministic, "threads": torch.get_num_threads(),
            **({"name": torch.cuda.get_device_name(dev)} if dev.type == "cuda" else {})}
        print("gpu_full:", json.dumps(info), flush=True)
        t0, phases = time.perf_counter(), {}
        for label, fn in (("training", self.measure_training), ("attribution", self.measure_attribution),
                          (f"{dev.type} vs cpu", self.check_against_cpu)):
            print(f"{label}:", flush=True)
            phases[label] = timed(fn, dev)
        self.project(plan(a.scale, a.config))
        info.update(phase_seconds=phases, benchmark_seconds=time.perf_counter() - t0)
        print_table(self.out)
        if a.out:
            Path(a.out).parent.mkdir(parents=True, exist_ok=True)
            Path(a.out).write_text(json.dumps(self.out, indent=1, default=str))
            print(f"wrote {a.out}")


def hms(s):
    return "-" if s is None else f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min" if s < 7200 else f"{s / 3600:.1f} h"


def print_table(out: dict) -> None:
    info, P = out["info"], out["projections"]
    print(f"\nprojected {info['scale']}-scale wall time (one {info['device']}, {info['threads']} threads, jobs one after "
          "another, jobs from snakemake -n):")
    for p in P:
        print(f"  {p['rule']:28s} {p['kind']:9s} {p['jobs']:4d} x {hms(p['per_job_seconds']):>9s} = {hms(p['seconds']):>9s}")
    for kind in ("train", "attribute"):
        print(f"  {'all ' + kind:28s} {hms(sum(p['seconds'] or 0 for p in P if p['kind'] == kind)):>37s}")
    print(f"  {'whole ' + info['scale'] + ' scale':28s} {hms(out['total_seconds']):>37s}\n"
          f"  not projected (no formula, or a rate missing): {', '.join(out['unprojected_rules'])}")
    if out["formulas_not_in_plan"]:
        print(f"  note: formulas for rules not in the plan (renamed?): {out['formulas_not_in_plan']}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda", help="cuda (the measurement) or cpu (with --tiny: test this script)")
    ap.add_argument("--tiny", action="store_true", help="quick-scale networks, tiny inputs, M <= 2, one run each")
    ap.add_argument("--scale", choices=["quick", "cpu", "full"], default="full", help="the scale measured and projected")
    ap.add_argument("--seconds", type=float, default=3.0, help="time budget of each measurement")
    ap.add_argument("--out", help="write the measurements and projections as JSON here")
    ap.add_argument("--config", default=str(REPO / "config.yaml"))
    ap.add_argument("--tox21", help="the Tox21 CSV: real molecules for the Tox21 training rates")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--rates", help="measure nothing: project the config's plan with the rates of an earlier --out "
                                    "file (the same device and scale), e.g. before and after a config change")
    args = ap.parse_args(argv)
    if args.rates:
        Bench(args).reproject(json.loads(Path(args.rates).read_text()))
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    args.deterministic = bool(yaml.safe_load(Path(args.config).read_text()).get("deterministic", True))
    set_deterministic(args.deterministic)      # before CUDA starts, as the workflow's scripts do
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"--device {args.device}: torch {torch.__version__} sees no CUDA device")
    Bench(args).run()


if __name__ == "__main__":
    main()
