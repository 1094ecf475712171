"""The full scale on one GPU, measured in a few minutes: throughputs, a CUDA-vs-CPU check of the
attributions, and the projected wall time of every full-scale training and attribution rule.

Every size comes from config.yaml resolved at ``scale: full`` or at the scale --scale names
(``Bench.full`` holds that resolved config): the networks, batch sizes, optimizers, AMP, epochs, model and seed counts, sample counts M, path points, windows, example
counts. Only the sizes of the data sets themselves (50,000 CIFAR-10 training images where the
config says ``null``: all) are constants here (DATA). What is measured, each for about --seconds:

* training throughput through the project's loop (``xairepro.training.fit`` / ``train_mask_net``)
  of every model spec and mask network of the full config on synthetic inputs of the full shapes:
  ResNet-164 images/s (AMP and channels-last on CUDA, the config's SGD + one-cycle, augmentation
  on the device), the BiGRU-256 on 500-token reviews (reviews/s, AMP), one Tox21 GGNN epoch on a
  1,000-molecule subset (real molecules with --tox21, else synthetic graphs of Tox21-like sizes),
  and the graph, SMILES, peptide and iris models and the mask networks the same way;
  the evaluation pass the training rules run after each epoch (``predict``, float32);
* attribution throughput (examples/s) of every registered method (``method_names()``, a plugin's
  too) on the GPU, with the full config's M, path points, windows and players, for the vision
  classifier (methods that cannot explain it, e.g. BayesGrad, on the dropout variant), the text
  model, the Tox21 GGNN, and the ESOL, SMILES2vec, peptide and iris models;
* the CUDA-vs-CPU difference of vanilla_grad and integrated_gradients on a few inputs of the
  vision, text and GGNN models (max |device - cpu| and that divided by max |cpu|);

then prints the projected time of each rule (measured rates times the config's counts, e.g. 100
epochs x 50,000 images / images/s; 30 Tox21 models x 100 epochs x 1,000 molecules; 500 reviews x
the text methods), the sum, and writes everything as JSON (--out).

    python benchmarks/gpu_full.py --out results/benchmarks/gpu_full.json          # on the GPU
    python benchmarks/gpu_full.py --device cpu --tiny --out /tmp/gpu_full.json    # test the script
    python benchmarks/gpu_full.py --device cpu --scale cpu --threads 1 --tox21 tox21.csv   # the cpu scale here

The projection counts training and attribution work only: job start-up, the notebooks, the
model-randomisation passes and the leaderboard's bootstrap are not in it.

--tiny uses the quick scale's networks, short inputs, M = 2 and 1-2 iterations per measurement
(the projections still multiply by the full config's counts, so its numbers mean nothing).
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import torch
import yaml
from torch import nn

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from xairepro.attribution import (
    MethodNotApplicable,
    accepted_options,
    create_method,
    method_class,
    method_names,
)
from xairepro.config import check_models, load_plugins, resolve_scale, validate_config
from xairepro.models import build_model
from xairepro.training import TrainConfig, fit, predict, train_mask_net

#: Sizes of the data sets, where the config says null ("all") or a fraction of them.
DATA = {
    "cifar10_train": 50_000, "cifar10_test": 10_000,      # 5,000 / 1,000 per class
    "imdb_train": 25_000, "imdb_test": 25_000,
    "tox21_molecules": 7_823,                              # parsable of 7,831 (tox21_featurize)
    "tox21_srmmp_labelled": 5_810,                          # molecules with an SR-MMP label
    "esol_molecules": 1_128,
    "hemolytic_peptides": 634,                              # hemolytic.npz: 317 positive, 317 negative
    "iris_flowers": 150,
    "peptide_length": 200, "peptide_letters": 21,           # (N, 200, 20) one-hot plus the gap letter
    "esol_smiles_characters": 32,                           # distinct characters of ESOL's canonical SMILES
}
#: Methods whose every sample is one pass; everything else is timed too, this is only for the table.
TINY = {"M": 2, "n_steps": 4, "n_random": 2, "max_len": 40, "smiles_max_len": 20, "peptide_length": 24,
        "max_batch": 64}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(run: Callable[[int], tuple[float, float]], n0: int, n_max: int, budget: float, tiny: bool) -> dict:
    """``run(n) -> (units done, seconds)``; ``n`` grows (at most x8 a step) until one run takes about
    a third of ``budget`` or reaches ``n_max``; the last run's rate is reported (the first is the
    warm-up of kernels and caches whenever there is a second)."""
    n, runs = max(1, int(n0)), []
    while True:
        units, seconds = run(n)
        seconds = max(float(seconds), 1e-9)
        runs.append({"n": n, "units": float(units), "seconds": seconds})
        if tiny and len(runs) >= 1 or seconds >= budget / 3 or n >= n_max or sum(r["seconds"] for r in runs) > budget:
            break
        grow = min(8.0, max(2.0, budget / 3 / seconds))
        n = int(min(n_max, math.ceil(n * grow)))
    last = runs[-1]
    return {"rate": last["units"] / last["seconds"], "n": last["n"], "seconds": last["seconds"],
            "runs": len(runs), "total_seconds": sum(r["seconds"] for r in runs)}


def timed(fn, device) -> float:
    sync(device)
    t0 = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - t0


# ----------------------------------------------------------------------------- synthetic inputs
def images(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8),
            torch.randint(0, 10, (n,), generator=g))


def reviews(n: int, max_len: int, vocab: int, seed: int = 0) -> torch.Tensor:
    """Token ids right-padded with 0, lengths log-normal around IMDB's median (230 tokens), cut."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(np.log(230), 0.7, size=n).astype(int), 10, max_len)
    ids = torch.zeros(n, max_len, dtype=torch.long)
    for i, length in enumerate(lengths):
        ids[i, :length] = torch.from_numpy(rng.integers(2, vocab, size=length))
    return ids


ELEMENTS = [6] * 14 + [7] * 3 + [8] * 3 + [9, 16, 17]


def molecules(n: int, task: str, seed: int = 0, mean_atoms: int = 18) -> list:
    """Molecule-like graphs of Tox21-like sizes (about 18 heavy atoms, 3 to 60): a chain with a
    six-ring, both edge directions, bond-type indices, one label."""
    from torch_geometric.data import Data

    g = torch.Generator().manual_seed(seed)
    out = []
    for k in range(n):
        size = int(torch.randint(mean_atoms - 8, mean_atoms + 9, (1,), generator=g).clamp(3, 60))
        x = torch.tensor(ELEMENTS)[torch.randint(0, len(ELEMENTS), (size,), generator=g)]
        src = torch.arange(size - 1)
        dst = src + 1
        if size >= 6:
            src, dst = torch.cat([src, torch.tensor([0])]), torch.cat([dst, torch.tensor([5])])
        bond = torch.randint(0, 4, (src.numel(),), generator=g)
        y = torch.tensor([[float(k % 2)]]) if task == "binary" else torch.randn(1, 1, generator=g)
        out.append(Data(x=x, edge_index=torch.stack([torch.cat([src, dst]), torch.cat([dst, src])]),
                        edge_attr=torch.cat([bond, bond]), y=y, num_nodes=size))
    return out


def real_tox21(path: str, n: int) -> list:
    """The first ``n`` parsable molecules of the Tox21 CSV (or of a featurized graphs.pt), labelled
    by whether they contain pyridine's ring (the Table 1 task's label is a substructure)."""
    from xairepro.data.featurize import graphs_from_smiles, load_graphs, parse_smiles

    if str(path).endswith(".pt"):
        graphs = list(load_graphs(path).graphs[:n])
    else:
        import pandas as pd

        smiles = [s for s in pd.read_csv(path)["smiles"] if parse_smiles(s) is not None][:n]
        graphs = graphs_from_smiles(smiles)
    for k, gr in enumerate(graphs):
        gr.y = torch.tensor([[float(k % 2)]])
    return graphs


# ----------------------------------------------------------------------------- recipes per section
class Recipe:
    """What the experiment's training recipe adds to a model spec (data-dependent keywords), its
    task, and synthetic inputs of the full shapes."""

    task = "regression"
    unit = "examples"

    def __init__(self, bench: "Bench", section: str):
        self.b, self.section = bench, section

    def keywords(self, spec: dict) -> dict:
        return {"n_out": 1}

    def build(self, spec: dict) -> nn.Module:
        kw = {k: v for k, v in spec.items() if k != "arch"}
        torch.manual_seed(0)
        return build_model(spec["arch"], **kw, **self.keywords(spec))

    def train_overrides(self) -> dict:
        return {}

    def dataset(self, n: int):           # what fit takes
        raise NotImplementedError

    def inputs(self, n: int):            # what the model takes (for attribution), with a target
        raise NotImplementedError

    def settings(self, model) -> dict:
        raise NotImplementedError

    def M(self, name: str) -> int:
        return self.b.tiny_or(int(self.b.full[self.section]["attribution"].get("mc_samples", 1)), "M")

    def mask_net(self, model):
        return None


class GraphRecipe(Recipe):
    unit = "molecules"

    def __init__(self, bench, section, task, att_cfg: dict):
        super().__init__(bench, section)
        self.task, self.att = task, att_cfg

    def train_overrides(self):
        return {"class_balanced": True} if self.task == "binary" else {}

    def dataset(self, n):
        if self.b.args.tox21 and self.section == "tox21":
            graphs = self.b.tox21_graphs(n)
            if len(graphs) >= n:
                return graphs
        return molecules(n, self.task, seed=n)

    def inputs(self, n):
        from torch_geometric.data import Batch

        return Batch.from_data_list(self.dataset(n)).to(self.b.device), None

    def settings(self, model):
        a = self.att
        return {"layer": model.embedding, "baselines": float(a.get("baseline", 0.0)),
                "multiply_by_inputs": bool(a.get("multiply_by_inputs", True)),
                "stdevs": float(a.get("smoothgrad_noise", 0.15)), "noise_mode": "absolute",
                "n_steps": self.b.tiny_or(int(a["ig_steps"]), "n_steps"), "method": "trapezoid",
                "sliding_window_shapes": "rows", "n_random": self.b.tiny_or(int(a.get("n_random", 5)), "n_random"),
                "max_batch": self.b.max_batch}


class IrisRecipe(Recipe):
    task, unit = "multiclass", "flowers"

    def keywords(self, spec):
        return {"n_in": 4, "n_out": 3}

    def dataset(self, n):
        g = torch.Generator().manual_seed(n)
        return torch.utils.data.TensorDataset(torch.rand(n, 4, generator=g) * 7, torch.randint(0, 3, (n,), generator=g))

    def inputs(self, n):
        x, y = self.dataset(n).tensors
        return x.to(self.b.device), y.to(self.b.device)

    def settings(self, model):
        a = self.b.full["iris"]["attribution"]
        bg = self.dataset(DATA["iris_flowers"]).tensors[0].to(self.b.device)
        f = self.b.full["iris"]["faithfulness"]
        return {"baselines": bg.mean(0), "multiply_by_inputs": True, "stdevs": float(a["smoothgrad_noise"]),
                "noise_mode": a.get("noise_mode", "relative"), "n_steps": self.b.tiny_or(int(f["ig_steps"]), "n_steps"),
                "method": "trapezoid", "estimator": "chimera", "background": bg,
                "n_random": self.b.tiny_or(int(f["n_random"]), "n_random"), "max_batch": self.b.max_batch}

    def M(self, name):
        return self.b.tiny_or(int(self.b.full["iris"]["faithfulness"]["mc_samples"]), "M")


class PeptideRecipe(Recipe):
    task, unit = "binary", "peptides"

    @property
    def length(self):
        return self.b.tiny_or(DATA["peptide_length"], "peptide_length")

    def keywords(self, spec):
        return {"length": self.length, "n_letters": DATA["peptide_letters"], "n_out": 1}

    def _onehot(self, n, seed):
        rng = np.random.default_rng(seed)
        ids = np.zeros((n, self.length), dtype=np.int64)
        for i in range(n):
            k = int(rng.integers(5, max(6, self.length // 4)))
            ids[i, :k] = rng.integers(1, DATA["peptide_letters"], size=k)
        return torch.nn.functional.one_hot(torch.from_numpy(ids), DATA["peptide_letters"]).float()

    def dataset(self, n):
        return torch.utils.data.TensorDataset(self._onehot(n, n), torch.tensor([[float(k % 2)] for k in range(n)]))

    def inputs(self, n):
        return self._onehot(n, 1).to(self.b.device), None

    def settings(self, model):
        a = self.b.full["peptides"]["attribution"]
        f = self.b.full["peptides"]["faithfulness"]
        return {"baselines": 0.0, "multiply_by_inputs": True, "stdevs": float(a["smoothgrad_sigma"]),
                "noise_mode": "absolute", "n_steps": self.b.tiny_or(int(f["ig_steps"]), "n_steps"),
                "method": "trapezoid", "estimator": "chimera", "background": self._onehot(64, 2).to(self.b.device),
                "feature_mask": torch.arange(self.length, device=self.b.device).unsqueeze(1),
                "n_random": self.b.tiny_or(int(f["n_random"]), "n_random"), "max_batch": self.b.max_batch}

    def M(self, name):
        return self.b.tiny_or(int(self.b.full["peptides"]["faithfulness"]["samples"]), "M")


class SmilesRecipe(Recipe):
    unit = "molecules"

    @property
    def length(self):
        d = self.b.full["smiles2vec"]["data"]
        max_len = self.b.tiny_or(int(d["max_len"]), "smiles_max_len")
        return max_len + 2 * int(d["pad_len"])

    @property
    def vocab(self):
        return DATA["esol_smiles_characters"] + 2      # smiles2vec_featurize: + <pad>, <unk>

    @property
    def pad_id(self):
        return DATA["esol_smiles_characters"]          # the sorted characters, then <pad>

    def keywords(self, spec):
        return {"vocab_size": self.vocab, "pad_id": self.pad_id, "n_out": 1}

    def tokens(self, n, seed):
        rng = np.random.default_rng(seed)
        pad_len = int(self.b.full["smiles2vec"]["data"]["pad_len"])
        x = torch.full((n, self.length), self.pad_id, dtype=torch.long)
        for i in range(n):
            k = int(rng.integers(5, self.length - 2 * pad_len + 1))
            x[i, pad_len:pad_len + k] = torch.from_numpy(rng.integers(0, self.pad_id, size=k))
        return x

    def dataset(self, n):
        return torch.utils.data.TensorDataset(self.tokens(n, n), torch.randn(n, 1))

    def inputs(self, n):
        return self.tokens(n, 1).to(self.b.device), None

    def settings(self, model):
        a = self.b.full["smiles2vec"]["attribution"]
        return {"layer": model.embedding, "baselines": 0.0, "multiply_by_inputs": True,
                "stdevs": float(a["smoothgrad_noise"]), "noise_mode": "absolute",
                "n_steps": self.b.tiny_or(int(a["ig_steps"]), "n_steps"), "method": "riemann_middle",
                "n_random": self.b.tiny_or(int(self.b.full["smiles2vec"]["faithfulness"]["n_random"]), "n_random"),
                "max_batch": self.b.max_batch, "mask_net": self.mask_net(model)}

    def mask_net(self, model):
        from xairepro.experiments.smiles2vec.mask import SmilesMaskNet

        c = self.b.models_cfg["smiles2vec"]["mask"]
        torch.manual_seed(0)
        return SmilesMaskNet(copy.deepcopy(model), hidden=int(c["hidden"]), n_layers=int(c["n_layers"]),
                             kernel_size=int(c["kernel_size"]), l1=float(c["l1"]), l2=float(c["l2"])).to(self.b.device)


class TextRecipe(Recipe):
    task, unit = "multiclass", "reviews"

    @property
    def max_len(self):
        return self.b.tiny_or(int(self.b.full["text"]["data"]["max_len"]), "max_len")

    @property
    def vocab(self):
        return int(self.b.full["text"]["data"]["vocab_size"]) + 2   # + <pad>, <oov> (build_vocab)

    def keywords(self, spec):
        return {"vocab_size": self.vocab, "padding_idx": 0}          # classifier_kwargs

    def dataset(self, n):
        return torch.utils.data.TensorDataset(reviews(n, self.max_len, self.vocab, seed=n),
                                              torch.tensor([k % 2 for k in range(n)]))

    def inputs(self, n):
        return reviews(n, self.max_len, self.vocab, seed=1).to(self.b.device), 1

    def settings(self, model):
        a = self.b.full["text"]["attribution"]
        return {"layer": model.embedding, "baselines": 0.0, "multiply_by_inputs": True,
                "stdevs": float(a["smoothgrad_noise"]), "noise_mode": "absolute",
                # fixed ig_steps (the workflow doubles them up to ig_max_steps where completeness needs it)
                "n_steps": self.b.tiny_or(int(a["ig_steps"]), "n_steps"), "method": "trapezoid",
                "n_random": self.b.tiny_or(int(a["n_random"]), "n_random"), "max_batch": self.b.max_batch,
                "mask_net": self.mask_net(model)}

    def mask_net(self, model):
        from xairepro.experiments.text.masks import build_mask_net

        cfg = self.b.models_cfg["text"]["mask"]
        reading = next(iter(cfg["readings"]))  # the first reading is the registered explanation_mask
        spec = dict(cfg["head"])
        torch.manual_seed(0)
        base = copy.deepcopy(model)
        head = build_model(spec.pop("arch"), **spec, in_dim=2 * base.gru.hidden_size)
        return build_mask_net(reading, base, head, **cfg["readings"][reading]).to(self.b.device).eval()


class VisionRecipe(Recipe):
    task, unit = "multiclass", "images"

    def keywords(self, spec):
        return {"n_out": 10}

    def dataset(self, n):
        from xairepro.experiments.vision.data import TensorBatches

        x, y = images(n, seed=n)
        bs = self.b.batch_size("vision")
        return TensorBatches(x, y, bs, self.b.device, shuffle=True, drop_last=n > bs,
                             channels_last=self.b.device.type == "cuda")

    def inputs(self, n):
        x, y = images(n, seed=1)
        return x.float().div(255).to(self.b.device), y.to(self.b.device)

    def settings(self, model):
        from xairepro.experiments.vision.settings import square_patches

        a = self.b.full["vision"]["attribution"]
        win, st, patch = int(a["occlusion_window"]), int(a["occlusion_stride"]), int(a["shapley_patch"])
        if self.b.tiny:
            win, st, patch = 16, 16, 16
        bg = images(int(a["shapley_background"]), seed=2)[0].float().div(255).to(self.b.device)
        return {"baselines": 0.0, "multiply_by_inputs": True, "stdevs": float(a["smoothgrad_noise"]),
                "noise_mode": "relative", "n_steps": self.b.tiny_or(int(a["ig_steps"]), "n_steps"),
                "method": "trapezoid", "keep_grads": False,
                "sliding_window_shapes": (3, win, win), "strides": (3, st, st),
                "feature_mask": square_patches(32, 32, patch).to(self.b.device),
                "estimator": str(a.get("shapley_estimator", "permutation")), "background": bg,
                "n_random": self.b.tiny_or(int(self.b.full["vision"]["aopc"]["n_random"]), "n_random"),
                "max_batch": self.b.max_batch, "mask_net": self.mask_net(model)}

    def method_options(self) -> dict:
        opts = {k: dict(v or {}) for k, v in (self.b.full["vision"]["attribution"].get("method_options") or {}).items()}
        for v in opts.values():
            v.pop("M", None)
        return opts

    def M(self, name):
        a = self.b.full["vision"]["attribution"]
        m = ((a.get("method_options") or {}).get(name) or {}).get("M", a["mc_samples"])
        return self.b.tiny_or(int(m), "M")

    def mask_net(self, model):
        from xairepro.experiments.vision.masks import CifarMaskNet

        c = self.b.models_cfg["vision"]["mask"]
        torch.manual_seed(0)
        if not hasattr(model, "features"):
            return None
        return CifarMaskNet(copy.deepcopy(model), width=int(c["width"]), n_convs=int(c["n_convs"]),
                            l2=float(c["l2"])).to(self.b.device).eval()


# ----------------------------------------------------------------------------- the benchmark
class Bench:
    def __init__(self, args):
        self.args = args
        raw = yaml.safe_load(Path(args.config).read_text())
        validate_config(raw, source=str(args.config))
        self.full = resolve_scale(raw, args.scale)   # the sizes and counts projected (full unless --scale)
        self.models_cfg = resolve_scale(raw, "quick") if args.tiny else self.full   # the networks
        load_plugins(self.full, Path(args.config).parent)
        check_models(self.full)
        self.tiny = bool(args.tiny)
        self.device = torch.device(args.device)
        self.seconds = float(args.seconds)
        self.max_batch = TINY["max_batch"] if self.tiny else int(self.full.get("attribution", {}).get("max_batch", 2048))
        self._tox21 = None
        self.recipes = {
            "esol": GraphRecipe(self, "esol", "regression",
                                dict(self.full["esol"]["attribution"], ig_steps=self.full["esol"]["faithfulness"]["ig_steps"],
                                     n_random=self.full["esol"]["faithfulness"]["n_random"])),
            "tox21": GraphRecipe(self, "tox21", "binary",
                                 dict(self.full["tox21"]["attribution"], ig_steps=self.full["tox21"]["faithfulness"]["ig_steps"],
                                      n_random=self.full["tox21"]["faithfulness"]["n_random"])),
            "iris": IrisRecipe(self, "iris"), "peptides": PeptideRecipe(self, "peptides"),
            "smiles2vec": SmilesRecipe(self, "smiles2vec"), "text": TextRecipe(self, "text"),
            "vision": VisionRecipe(self, "vision"),
        }
        self.out: dict[str, Any] = {"train": {}, "eval": {}, "attribution": {}, "check": {}, "projections": [],
                                    "notes": []}

    def tiny_or(self, value, key):
        return TINY[key] if self.tiny else value

    def batch_size(self, section: str) -> int:
        bs = int(self.full[section].get("train", {}).get("batch_size", 32))
        return min(bs, 4) if self.tiny else bs

    def tox21_graphs(self, n):
        if self._tox21 is None:
            self._tox21 = real_tox21(self.args.tox21, 1000)
        return self._tox21[:n]

    # ------------------------------------------------------------------ training
    def train_cfg(self, section: str, task: str, **overrides) -> TrainConfig:
        train = dict(self.full[section].get("train", {}))
        train.update(epochs=1, device=str(self.device), seed=0, checkpoint=None, log_every=1)
        if self.tiny:
            train["batch_size"] = self.batch_size(section)
        train.update(overrides)
        return TrainConfig(task=task, **train)

    def specs(self) -> list[tuple[str, str, dict]]:
        """``(key, section, spec)`` of every model spec of the config: the ``models`` entries, specs nested
        in studies, tox21.dead_features' architectures x layers (as dead_features_study builds them)."""
        out = []
        cfg = self.models_cfg
        for section, body in cfg.items():
            if not (isinstance(body, dict) and isinstance(body.get("models"), dict)):
                continue
            for name, spec in body["models"].items():
                out.append((f"{section}.models.{name}", section, dict(spec)))

            def walk(node, path):
                if isinstance(node, dict):
                    if "arch" in node and not path.startswith(f"{section}.mask"):
                        out.append((path, section, dict(node)))
                        return
                    for k, v in node.items():
                        walk(v, f"{path}.{k}")
            walk({k: v for k, v in body.items() if k != "models"}, section)
        dead = cfg.get("tox21", {}).get("dead_features")
        if dead:
            for arch in dead["models"]:
                for n_layers in dead["layers"]:
                    out.append((f"tox21.dead_features.{arch}.n_layers={n_layers}", "tox21",
                                {"arch": arch, "hidden_dim": dead["hidden_dim"], "n_layers": n_layers,
                                 "dropout": dead["dropout"]}))
        return out

    def measure_training(self):
        seen = set()
        for key, section, spec in self.specs():
            recipe = self.recipes.get(section)
            if recipe is None:
                self.out["notes"].append(f"{key}: no recipe for section {section}; not measured")
                continue
            if self.tiny and (section, spec["arch"]) in seen and key != f"tox21.models.{self.full['tox21']['table1']['model']}":
                continue      # --tiny: one network per architecture (the projection takes its rate)
            seen.add((section, spec["arch"]))
            model = recipe.build(spec)
            cfg = self.train_cfg(section, recipe.task, **recipe.train_overrides())
            fit_kwargs = {}
            if section == "vision" and self.full["vision"]["data"].get("augmentation"):
                from xairepro.experiments.vision.data import augment
                fit_kwargs["batch_transform"] = augment
            bs = cfg.batch_size

            def run(n, model=model, recipe=recipe, cfg=cfg, fit_kwargs=fit_kwargs):
                hist = fit(model, recipe.dataset(n), None, cfg, progress=lambda row: None, **fit_kwargs)
                return n, hist[0]["seconds"]
            if self.device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(self.device)
            table1 = self.full["tox21"]["table1"]
            if key == f"tox21.models.{table1['model']}":   # one epoch on a Table 1 subset (1,000 molecules)
                n = 8 if self.tiny else int(table1["subset_size"])
                run(min(n, 4 * bs))                       # warm-up
                units, secs = run(n)
                res = {"rate": units / secs, "n": n, "seconds": secs, "runs": 1, "epoch_seconds": secs}
                real = bool(self.args.tox21) and len(self.tox21_graphs(n)) >= n
                res["data"] = "real Tox21" if real else "synthetic Tox21-like graphs"
            else:
                n0, n_max = (2 * bs, 2 * bs) if self.tiny else (4 * bs, 64 * bs if section in ("vision", "text") else 200 * bs)
                res = measure(run, n0, n_max, self.seconds, self.tiny)
            res.update(unit=f"{recipe.unit}/s", arch=spec["arch"], batch_size=bs, amp=bool(cfg.amp and self.device.type == "cuda"),
                       channels_last=section == "vision" and self.device.type == "cuda",
                       n_parameters=int(sum(p.numel() for p in model.parameters())))
            if self.device.type == "cuda":
                res["max_memory_gb"] = torch.cuda.max_memory_allocated(self.device) / 2**30
            self.out["train"][key] = res
            print(f"  train {key:42s} {res['rate']:10.1f} {res['unit']}  (batch {bs}, n={res['n']})", flush=True)
            if section in ("vision", "text") and key == f"{section}.models.{self.explained(section)}":
                self.measure_eval(key, section, model, recipe)
            mask = self.mask_training(key, section, model, recipe)
            if mask is not None:
                self.out["train"][f"{section}.mask"] = mask
                print(f"  train {section + '.mask':42s} {mask['rate']:10.1f} {mask['unit']}", flush=True)
            del model
            if self.device.type == "cuda":
                torch.cuda.empty_cache()

    def measure_eval(self, key, section, model, recipe):
        """``predict`` (float32, eval mode): the pass after every epoch of the vision and text rules."""
        bs = 4 * self.batch_size(section)

        def run(n):
            if section == "vision":
                x, y = images(n, seed=3)
                data = torch.utils.data.TensorDataset(x.float().div(255), y)
            else:
                data = recipe.dataset(n)
            secs = timed(lambda: predict(model, data, bs, self.device), self.device)
            return n, secs
        res = measure(run, bs, 64 * bs, self.seconds, self.tiny)
        res.update(unit=f"{recipe.unit}/s", batch_size=bs)
        self.out["eval"][key] = res
        print(f"  eval  {key:42s} {res['rate']:10.1f} {res['unit']}", flush=True)

    def explained(self, section: str) -> str:
        """The model a section's mask network and attributions explain: ``data.model``, else
        ``classifier``, else its first model."""
        body = self.models_cfg[section]
        name = (body.get("data") or {}).get("model")
        return name if isinstance(name, str) else "classifier" if "classifier" in body["models"] else next(iter(body["models"]))

    def mask_training(self, key, section, model, recipe) -> Optional[dict]:
        """The mask network of the section around the model it explains, one epoch of its loop."""
        cfg = self.models_cfg[section].get("mask")
        if not isinstance(cfg, dict) or key != f"{section}.models.{self.explained(section)}":
            return None
        model = model.eval()
        net = recipe.mask_net(model)
        if net is None:
            return None
        bs = min(int(cfg.get("batch_size", 32)), 4) if self.tiny else int(cfg.get("batch_size", 32))
        amp = self.device.type == "cuda" and section != "smiles2vec"   # train_smiles2vec_mask: no AMP

        def run(n):
            if section == "vision":
                from xairepro.experiments.vision.data import TensorBatches
                x, y = images(n, seed=4)
                loader = TensorBatches(x, y, bs, self.device, shuffle=True)
            else:
                loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(recipe.dataset(n).tensors[0]),
                                                     batch_size=bs, shuffle=True)
            hist = train_mask_net(net, loader, epochs=1, lr=float(cfg["lr"]), device=str(self.device), seed=0, amp=amp)
            return n, hist[0]["seconds"]
        res = measure(run, 2 * bs if self.tiny else 4 * bs, 2 * bs if self.tiny else 64 * bs, self.seconds, self.tiny)
        res.update(unit=f"{recipe.unit}/s", batch_size=bs, amp=amp)
        return res

    # ------------------------------------------------------------------ attribution
    def explained_models(self) -> list[tuple[str, str, list[str]]]:
        """``(section, model name, fallbacks)``: the model each section's methods are timed on; a method
        that cannot explain it is timed on the first fallback it can explain."""
        first = {s: list(self.models_cfg[s]["models"]) for s in self.recipes}
        out = []
        for section in ("vision", "text", "tox21", "esol", "smiles2vec", "peptides", "iris"):
            name = self.full["tox21"]["pyridine"]["model"] if section == "tox21" else self.explained(section)
            out.append((section, name, [n for n in first[section] if n != name]))
        return out

    def measure_attribution(self):
        starts = {"vision": (2, 256), "text": (2, 64), "tox21": (16, 1024), "esol": (16, 1024), "smiles2vec": (8, 512),
                  "peptides": (2, 128), "iris": (16, 150)}
        for section, name, fallbacks in self.explained_models():
            recipe = self.recipes[section]
            models = {}

            def model_of(n):
                if n not in models:
                    models[n] = recipe.build(self.models_cfg[section]["models"][n]).to(self.device).eval()
                return models[n]
            key = f"{section}.models.{name}"
            rows = self.out["attribution"].setdefault(key, {})
            budget = self.seconds if section in ("vision", "text", "tox21") else self.seconds / 2
            settings_of = {}
            for method in method_names():
                row = None
                for candidate in [name, *fallbacks]:
                    model = model_of(candidate)
                    if candidate not in settings_of:
                        settings_of[candidate] = recipe.settings(model)
                    settings = settings_of[candidate]
                    opts = recipe.method_options().get(method, {}) if hasattr(recipe, "method_options") else {}
                    try:
                        explainer = create_method(method, model, settings, **opts)
                    except MethodNotApplicable as err:
                        row = row or {"not_applicable": str(err)}
                        continue
                    M = recipe.M(method)
                    chunk = int(self.full["text"]["attribution"]["chunk"]) if section == "text" else None

                    def run(n, explainer=explainer, M=M, chunk=chunk):
                        x, target = recipe.inputs(n)
                        step = chunk or n

                        def go():
                            if step >= n:     # one call (a graph batch is not sliced)
                                explainer.compute(x, M=M, target=target, seed=0)
                                return
                            for s in range(0, n, step):
                                t = target[s:s + step] if isinstance(target, torch.Tensor) else target
                                explainer.compute(x[s:s + step], M=M, target=t, seed=0)
                        return n, timed(go, self.device)
                    n0, n_max = starts[section]
                    if self.tiny:
                        n0 = n_max = 2
                    try:
                        row = measure(run, n0, n_max, budget, self.tiny)
                    except torch.cuda.OutOfMemoryError as err:  # report, keep going
                        row = {"error": f"out of memory: {str(err).splitlines()[0]}"}
                        torch.cuda.empty_cache()
                        break
                    row.update(unit=f"{recipe.unit}/s", M=M, model=f"{section}.models.{candidate}")
                    break
                rows[method] = row
                shown = f"{row['rate']:10.2f} {row['unit']} (M={row['M']}, {row['model']})" if "rate" in row \
                    else row.get("error") or f"not applicable: {row['not_applicable'][:70]}"
                print(f"  attribute {key:30s} {method:22s} {shown}", flush=True)
            models.clear()
            settings_of.clear()
            if self.device.type == "cuda":
                torch.cuda.empty_cache()

    # ------------------------------------------------------------------ device vs CPU
    def check_against_cpu(self):
        cpu = torch.device("cpu")
        cases = {"vision": 2, "text": 2, "tox21": 8}
        steps = 4 if self.tiny else 16
        for section, n in cases.items():
            recipe = self.recipes[section]
            name = self.full["tox21"]["pyridine"]["model"] if section == "tox21" else self.explained(section)
            model = recipe.build(self.models_cfg[section]["models"][name]).eval()
            x, target = recipe.inputs(n)
            rows = {}
            for method in ("vanilla_grad", "integrated_gradients"):
                results = []
                for device in (self.device, cpu):
                    m = model.to(device)
                    settings = {k: v for k, v in recipe.settings(m).items() if k not in ("mask_net", "background",
                                                                                      "feature_mask")}
                    settings["n_steps"] = steps
                    inputs = x.to(device)
                    t = target.to(device) if isinstance(target, torch.Tensor) else target
                    exp = create_method(method, m, settings).compute(inputs, M=1, target=t, seed=0)
                    results.append(exp.samples.detach().double().cpu())
                dev, ref = results
                diff = float((dev - ref).abs().max())
                scale = float(ref.abs().max())
                rows[method] = {"max_abs": diff, "relative": diff / scale if scale > 0 else 0.0,
                                "max_abs_cpu": scale, "n": n, "n_steps": steps if method == "integrated_gradients" else None}
                print(f"  check {section}.models.{name:20s} {method:22s} max |{self.device.type} - cpu| = {diff:.3g} "
                      f"(relative {rows[method]['relative']:.3g})", flush=True)
            self.out["check"][f"{section}.models.{name}"] = rows

    # ------------------------------------------------------------------ projections
    def rate(self, kind: str, key: str, method: Optional[str] = None) -> Optional[float]:
        if kind == "attribution":
            row = self.out["attribution"].get(key, {}).get(method, {})
        else:
            row = self.out[kind].get(key, {})
        return row.get("rate")

    def train_rate(self, key: str) -> tuple[Optional[float], str]:
        """Training rate of ``key`` and whose it is: a spec that was not measured (--tiny measures one
        network per architecture) takes that of the first measured spec of its section and architecture,
        else of the Table 1 GGNN for a graph model."""
        r = self.rate("train", key)
        if r:
            return r, key
        specs = {k: (sec, spec["arch"]) for k, sec, spec in self.specs()}
        if key in specs:
            for other, (sec, arch) in specs.items():
                if (sec, arch) == specs[key] and self.rate("train", other):
                    return self.rate("train", other), other
        ggnn = f"tox21.models.{self.full['tox21']['table1']['model']}"
        if key.split(".")[0] in ("tox21", "esol"):
            return self.rate("train", ggnn), ggnn
        return None, key

    graph_rate = train_rate

    def project(self):
        F, P = self.full, []

        rules = rule_names()

        def add(rule, kind, seconds, formula, jobs=1, basis=""):
            P.append({"rule": rule, "kind": kind, "jobs": int(jobs), "seconds": None if seconds is None else float(seconds),
                      "formula": formula, "basis": basis})

        def per(units, rate):
            return units / rate if rate else None

        def attribution_seconds(key, methods, n, sweep=None, on=None, scale=None):
            """n examples x every method of ``methods`` at the measured rates; methods that did not apply
            are skipped as the rule skips them. ``on``: only rates measured on that model (a method timed on
            a fallback model does not run on this one); ``scale(method, row)``: a cost factor (another M
            or path length than the measured one)."""
            total, missing = 0.0, []
            for m in methods:
                row = self.out["attribution"].get(key, {}).get(m)
                if row is None:
                    missing.append(m)
                    continue
                if "rate" not in row or (on is not None and row.get("model") != on):
                    continue
                runs = len(sweep) if sweep and "stdevs" in accepted_options(method_class(m)) else 1
                total += runs * n / row["rate"] * (scale(m, row) if scale else 1.0)
            return total, missing

        def curves_seconds(eval_key, n, n_orders, steps):
            r = self.rate("eval", eval_key)
            return per(n * n_orders * (steps + 1), r) if r else 0.0

        # ---- vision
        V = F["vision"]
        n_train = (V["data"]["n_train_per_class"] or DATA["cifar10_train"] // 10) * 10
        n_test = (V["data"]["n_test_per_class"] or DATA["cifar10_test"] // 10) * 10
        for name in V["models"]:
            r, key = self.train_rate(f"vision.models.{name}")
            e = self.rate("eval", f"vision.models.{next(iter(V['models']))}")
            tune = (V.get("finetune") or {}).get(name)   # a variant trained on from another: its own epochs
            ep = int(tune["epochs"] if tune else V["train"]["epochs"])
            secs = None if r is None else ep * n_train / r + (ep * n_test / e if e else 0.0)
            add("vision_train", "train", secs, f"{ep} epochs x ({n_train:,} images / train rate + {n_test:,} / eval rate)",
                basis=key)
        mk = V["mask"]
        n_mask = mk.get("n_train") or n_train
        n_vseeds = int(mk.get("n_seeds", 1))
        add("vision_mask", "train", per(n_vseeds * int(mk["epochs"]) * n_mask, self.rate("train", "vision.mask")),
            f"{n_vseeds} mask seeds x {mk['epochs']} epochs x {n_mask:,} images", jobs=n_vseeds, basis="vision.mask")
        vkey = "vision.models.classifier"
        a = V["aopc"]
        n_ex = int(a["n_examples"])
        s1, miss = attribution_seconds(vkey, a["methods"], n_ex, on=vkey)
        # the dropout variant: the classifier's rates (same network), BayesGrad's measured on it; no mask network
        s2, miss2 = attribution_seconds(vkey, [m for m in a.get("dropout_methods", []) if m != "explanation_mask"], n_ex)
        orders = len(a["methods"]) + len(a.get("dropout_methods", [])) + 2 * (int(a["n_random"]) - 1)
        curves = curves_seconds(vkey, n_ex, orders, int(a["steps"]))
        add("vision_aopc", "attribute", s1 + s2 + curves,
            f"{n_ex} images x {len(a['methods'])} + {len(a.get('dropout_methods', []))} methods (both networks) + "
            f"deletion curves ({a['steps']} steps, eval rate)", basis=vkey + (f"; unmeasured {miss + miss2}" if miss + miss2 else ""))
        c = V["counterfactuals"]
        ig = self.rate("attribution", vkey, "integrated_gradients")
        e = self.rate("eval", vkey)
        add("vision_counterfactuals", "attribute",
            None if not ig else int(c["n_images"]) / ig + (int(c["n_images"]) * int(c["n_alphas"]) / e if e else 0.0),
            f"{c['n_images']} images x IG ({V['attribution']['ig_steps']} steps) + {c['n_alphas']} path points", basis=vkey)
        sal = V["saliency"]
        s, _ = attribution_seconds(vkey, sal["methods"], int(sal["n_images"]))
        add("vision_saliency", "attribute", s, f"{sal['n_images']} images x {len(sal['methods'])} methods", basis=vkey)

        # ---- text
        T = F["text"]
        tname = next(iter(T["models"]))
        tkey = f"text.models.{tname}"
        n_tr, n_te = T["data"]["n_train"] or DATA["imdb_train"], T["data"]["n_test"] or DATA["imdb_test"]
        r, e = self.rate("train", tkey), self.rate("eval", tkey)
        ep = int(T["train"]["epochs"])
        add("text_train", "train", None if r is None else ep * n_tr / r + (ep * n_te / e if e else 0.0) + (n_te / e if e else 0),
            f"{ep} epochs x ({n_tr:,} reviews / train rate + {n_te:,} test reviews / eval rate)", basis=tkey)
        n_tmask = len(T["mask"].get("readings", [None])) * int(T["mask"].get("seeds", 1))
        n_mtr = T["mask"].get("n_train") or n_tr
        add("text_mask", "train", per(n_tmask * int(T["mask"]["epochs"]) * n_mtr, self.rate("train", "text.mask")),
            f"{n_tmask} (reading, seed) jobs x {T['mask']['epochs']} epochs x {n_mtr:,} reviews", jobs=n_tmask,
            basis="text.mask")
        n_rev = int(T["attribution"]["n_reviews"])
        s, miss = attribution_seconds(tkey, T["attribution"]["methods"], n_rev)
        add("text_attribute", "attribute", s, f"{n_rev} reviews x {len(T['attribution']['methods'])} methods "
            f"(IG at {T['attribution']['ig_steps']} steps; doubling to {T['attribution']['ig_max_steps']} costs more)",
            basis=tkey + (f"; unmeasured {miss}" if miss else ""))
        extra = [m for m in T["faithfulness"]["methods"] if m not in T["attribution"]["methods"]]
        s, _ = attribution_seconds(tkey, extra, n_rev)
        orders = len(T["faithfulness"]["methods"]) + int(T["attribution"]["n_random"]) - 1
        add("text_faithfulness", "attribute", s + curves_seconds(tkey, n_rev, 2 * orders, int(T["faithfulness"]["steps"])),
            f"{n_rev} reviews x {len(extra)} more methods + deletion/insertion curves", basis=tkey)

        # ---- tox21
        X = F["tox21"]
        n_train_pyr = int(round((1 - float(X["data"]["val_fraction"])) * DATA["tox21_molecules"]))
        gkey = f"tox21.models.{X['pyridine']['model']}"
        n_pyr_val = int(X["faithfulness"]["n_examples"])       # the validation molecules with pyridine
        sweep = sorted(set(X["attribution"]["noise_sweep"]) | {X["attribution"]["smoothgrad_noise"]})
        att_s, _ = attribution_seconds(gkey, X["attribution"]["methods"], n_pyr_val, sweep)
        r, basis = self.graph_rate(gkey)
        add("tox21_train", "train", per(int(X["pyridine"]["epochs"]) * n_train_pyr, r),
            f"{X['pyridine']['epochs']} epochs x {n_train_pyr:,} molecules", basis=basis)
        add("tox21_attribute_pyridine", "attribute", att_s,
            f"{n_pyr_val} molecules x {len(X['attribution']['methods'])} methods, noise sweep {sweep}", basis=gkey)
        for study, t in (("subset", X["table1"]), ("ablation", X["table1"]["ablation"])):
            n_models, model = int(t["n_models"]), t["model"]
            epochs = int(t.get("epochs", X["table1"]["epochs"]))
            r, basis = self.graph_rate(f"tox21.models.{model}")
            add(f"tox21_train_subset[{study}]", "train", per(n_models * epochs * int(X["table1"]["subset_size"]), r),
                f"{n_models} models x {epochs} epochs x {X['table1']['subset_size']:,} molecules", jobs=n_models, basis=basis)
            add(f"tox21_prcauc_subset[{study}]", "attribute", n_models * att_s,
                f"{n_models} models x the pyridine attribution", jobs=n_models, basis=gkey)
        sr = X["srmmp"]
        n_sr = int(round(float(X["data"]["srmmp_split"][0]) * DATA["tox21_srmmp_labelled"]))
        r, basis = self.graph_rate(f"tox21.models.{sr['model']}")
        add("tox21_train_srmmp", "train", per(int(sr["n_seeds"]) * int(sr["epochs"]) * n_sr, r),
            f"{sr['n_seeds']} seeds x {sr['epochs']} epochs x {n_sr:,} molecules", jobs=int(sr["n_seeds"]), basis=basis)
        igc = X["integrated_gradients"]
        ig = self.rate("attribution", gkey, "integrated_gradients")
        measured_steps = self.recipes["tox21"].att["ig_steps"]
        add("tox21_integrated_gradients", "attribute",
            None if not ig else int(igc["n_molecules"]) * (int(igc["steps"]) / measured_steps) / ig,
            f"{igc['n_molecules']} molecules x IG at {igc['steps']} steps (rate scaled from {measured_steps})", basis=gkey)
        d = X["dead_features"]
        secs = 0.0
        for arch in d["models"]:
            for n_layers in d["layers"]:
                r, basis = self.graph_rate(f"tox21.dead_features.{arch}.n_layers={n_layers}")
                secs += per(int(d["epochs"]) * int(X["table1"]["subset_size"]), r) or 0.0
        secs += (len(d["models"]) * len(d["layers"]) * int(d["n_molecules"]) * int(d["ig_steps"]) / measured_steps / ig) if ig else 0.0
        add("tox21_dead_features", "train", secs, f"{len(d['models'])} x {len(d['layers'])} models x {d['epochs']} epochs x "
            f"{X['table1']['subset_size']:,} molecules + IG of {d['n_molecules']} molecules", basis="tox21.dead_features.*")
        f = X["faithfulness"]
        s, _ = attribution_seconds(gkey, f["methods"], int(f["n_examples"]))
        add("tox21_faithfulness", "attribute", s, f"{f['n_examples']} molecules x {len(f['methods'])} methods", basis=gkey)

        # ---- esol
        E = F["esol"]
        k = int(E["data"]["n_folds"])
        n_fold_train = DATA["esol_molecules"] * (k - 1) // k
        ekey = f"esol.models.{next(iter(E['models']))}"
        for name in E["models"]:
            r, basis = self.graph_rate(f"esol.models.{name}")
            add(f"esol_train[{name}]", "train", per(k * int(E["train"]["epochs"]) * n_fold_train, r),
                f"{k} folds x {E['train']['epochs']} epochs x {n_fold_train:,} molecules", jobs=k, basis=basis)
            s, _ = attribution_seconds(ekey, E["attribution"]["methods"], DATA["esol_molecules"])
            add(f"esol_attribute[{name}]", "attribute", s, f"{DATA['esol_molecules']:,} held-out molecules x "
                f"{len(E['attribution']['methods'])} methods", jobs=k, basis=ekey)
        r, basis = self.graph_rate("esol.blog_ig.model")
        add("esol_blog_train", "train", per(int(E["train"]["epochs"]) * n_fold_train, r),
            f"{E['train']['epochs']} epochs x {n_fold_train:,} molecules", basis=basis)
        ig = self.rate("attribution", ekey, "integrated_gradients")
        blog_steps = int(E["blog_ig"]["steps"])
        add("esol_blog_ig", "attribute", None if not ig else (DATA["esol_molecules"] // k) * blog_steps / int(E["faithfulness"]["ig_steps"]) / ig,
            f"{DATA['esol_molecules'] // k} molecules x IG at {blog_steps} steps", basis=ekey)
        f = E["faithfulness"]
        s, _ = attribution_seconds(ekey, f["methods"], int(f["n_examples"]))
        add("esol_faithfulness", "attribute", len(E["models"]) * s,
            f"{len(E['models'])} models x {f['n_examples']} molecules x {len(f['methods'])} methods", basis=ekey)

        # ---- smiles2vec, peptides, iris
        S = F["smiles2vec"]
        skey = f"smiles2vec.models.{S['data']['model']}"
        n_s = int(round(float(S["data"]["fractions"][0]) * DATA["esol_molecules"]))
        add("smiles2vec_train", "train", per(2 * int(S["train"]["epochs"]) * n_s, self.rate("train", skey)),
            f"2 splits x {S['train']['epochs']} epochs x {n_s:,} molecules", jobs=2, basis=skey)
        n_smask = len(S["mask"].get("targets", [None])) * int(S["mask"].get("seeds", 1))
        add("smiles2vec_mask", "train", per(n_smask * int(S["mask"]["epochs"]) * n_s, self.rate("train", "smiles2vec.mask")),
            f"{n_smask} (target, seed) mask jobs (smiles2vec_mask and smiles2vec_mask_seed) x {S['mask']['epochs']} "
            f"epochs x {n_s:,} molecules", jobs=n_smask, basis="smiles2vec.mask")
        n_test = DATA["esol_molecules"] - n_s - int(round(float(S["data"]["fractions"][1]) * DATA["esol_molecules"]))
        s, _ = attribution_seconds(skey, S["attribution"]["methods"], n_test)
        add("smiles2vec_explain", "attribute", s, f"{n_test} test molecules x {len(S['attribution']['methods'])} methods",
            basis=skey)
        s, _ = attribution_seconds(skey, S["faithfulness"]["methods"], int(S["faithfulness"]["n_examples"]))
        add("smiles2vec_faithfulness", "attribute", s, f"{S['faithfulness']['n_examples']} molecules x "
            f"{len(S['faithfulness']['methods'])} methods", basis=skey)
        Pp = F["peptides"]
        pkey = f"peptides.models.{Pp['data']['model']}"
        n_p = int(DATA["hemolytic_peptides"] * (1 - float(Pp["data"]["test_fraction"]) - float(Pp["data"]["val_fraction"])))
        n_pjobs = int(Pp.get("seeds", 1)) + (1 if Pp["data"].get("dropout_model") else 0)
        add("peptides_train", "train", per(n_pjobs * int(Pp["train"]["epochs"]) * n_p, self.rate("train", pkey)),
            f"{n_pjobs} models (model seeds + the dropout variant) x {Pp['train']['epochs']} epochs x {n_p} peptides",
            jobs=n_pjobs, basis=pkey)
        pa, pf = Pp["attribution"], Pp["faithfulness"]

        def peptide_scale(method, row):      # measured at the faithfulness M and path; the chapter's are longer
            if "n_steps" in accepted_options(method_class(method)) and "ig_steps" in pa:
                return int(pa["ig_steps"]) / int(pf["ig_steps"])
            return int(pa["samples"]) / int(row["M"]) if row.get("M", 1) > 1 else 1.0
        n_pep = 1 + len(pa.get("probe", []))
        s, _ = attribution_seconds(pkey, pa["methods"], n_pep, scale=peptide_scale)
        add("peptides_explain", "attribute", s, f"{n_pep} peptides x {len(pa['methods'])} methods at M={pa['samples']}, "
            f"IG {pa['ig_steps']} steps (rates scaled from the faithfulness settings)", basis=pkey)
        s, _ = attribution_seconds(pkey, Pp["faithfulness"]["methods"], int(Pp["faithfulness"]["n_examples"]))
        add("peptides_faithfulness", "attribute", s, f"{Pp['faithfulness']['n_examples']} peptides x "
            f"{len(Pp['faithfulness']['methods'])} methods", basis=pkey)
        I = F["iris"]
        ikey = f"iris.models.{I['data']['model']}"
        add("iris_train", "train", per(int(I["train"]["epochs"]) * DATA["iris_flowers"], self.rate("train", ikey)),
            f"{I['train']['epochs']} epochs x {DATA['iris_flowers']} flowers", basis=ikey)
        add("iris_train_permuted", "train", per(int(I["train"]["epochs"]) * DATA["iris_flowers"], self.rate("train", ikey)),
            f"{I['train']['epochs']} epochs x {DATA['iris_flowers']} flowers (permuted labels)", basis=ikey)
        s, _ = attribution_seconds(ikey, I["faithfulness"]["methods"], int(I["faithfulness"]["n_examples"]))
        add("iris_faithfulness", "attribute", s, f"{I['faithfulness']['n_examples']} flowers x "
            f"{len(I['faithfulness']['methods'])} methods", basis=ikey)

        self.out["projections"] = P
        known = [p["seconds"] for p in P if p["seconds"] is not None]
        self.out["total_seconds"] = float(sum(known))
        self.out["unprojected_rules"] = [p["rule"] for p in P if p["seconds"] is None]
        self.out["rules_not_in_workflow"] = sorted({p["rule"].split("[")[0] for p in P} - rules) if rules else []

    # ------------------------------------------------------------------ run all
    def run(self):
        a = self.args
        dev = self.device
        info = {"device": str(dev), "torch": torch.__version__, "cuda": torch.version.cuda, "python": platform.python_version(),
                "tiny": self.tiny, "scale": a.scale, "seconds": self.seconds, "config": str(a.config), "max_batch": self.max_batch,
                "deterministic": bool(a.deterministic)}
        if dev.type == "cuda":
            info.update(name=torch.cuda.get_device_name(dev), cudnn_benchmark=torch.backends.cudnn.benchmark,
                        cudnn_allow_tf32=torch.backends.cudnn.allow_tf32,
                        matmul_allow_tf32=torch.backends.cuda.matmul.allow_tf32)
        else:
            info["threads"] = torch.get_num_threads()
        self.out["info"] = info
        print("gpu_full:", json.dumps(info), flush=True)
        t0 = time.perf_counter()
        phases = {}
        for label, fn in (("training throughput (the project's loop)", self.measure_training),
                          ("attribution throughput (every registered method)", self.measure_attribution),
                          (f"{dev.type} vs cpu", self.check_against_cpu)):
            print(f"{label}:", flush=True)
            t1 = time.perf_counter()
            fn()
            phases[label.split(" (")[0]] = time.perf_counter() - t1
        self.project()
        self.out["info"]["phase_seconds"] = phases
        self.out["info"]["benchmark_seconds"] = time.perf_counter() - t0
        print_table(self.out)
        if a.out:
            Path(a.out).parent.mkdir(parents=True, exist_ok=True)
            Path(a.out).write_text(json.dumps(self.out, indent=1, default=str))
            print(f"wrote {a.out}")


def rule_names() -> set[str]:
    """The rule names of the workflow (rules/*.smk), to flag projections whose rule was renamed."""
    import re

    names: set[str] = set()
    for path in (REPO / "rules").glob("*.smk"):
        text = path.read_text()
        names |= set(re.findall(r"^rule (\w+):", text, flags=re.M))
        names |= set(re.findall(r"^use rule \w+ as (\w+)", text, flags=re.M))
    return names


def fmt_seconds(s: Optional[float]) -> str:
    if s is None:
        return "-"
    if s < 120:
        return f"{s:.0f} s"
    if s < 2 * 3600:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def print_table(out: dict) -> None:
    info = out.get("info", {})
    where = "GPU" if str(info.get("device", "cuda")).startswith("cuda") else f"CPU, {info.get('threads')} threads"
    print(f"\nprojected {info.get('scale', 'full')}-scale wall time per rule (one {where}, jobs one after another):")
    print(f"  {'rule':36s} {'kind':9s} {'jobs':>4s} {'time':>9s}  formula [rates of]")
    for p in out["projections"]:
        print(f"  {p['rule']:36s} {p['kind']:9s} {p['jobs']:4d} {fmt_seconds(p['seconds']):>9s}  {p['formula']} [{p['basis']}]")
    for kind in ("train", "attribute"):
        s = sum(p["seconds"] or 0.0 for p in out["projections"] if p["kind"] == kind)
        print(f"  {'all ' + kind:36s} {'':9s} {'':4s} {fmt_seconds(s):>9s}")
    print(f"  {'whole ' + info.get('scale', 'full') + ' scale':36s} {'':9s} {'':4s} {fmt_seconds(out['total_seconds']):>9s}"
          + (f"  (not projected: {out['unprojected_rules']})" if out["unprojected_rules"] else ""))
    if out.get("rules_not_in_workflow"):
        print(f"  note: no rule of these names in rules/*.smk (renamed?): {out['rules_not_in_workflow']}")
    for note in out.get("notes", []):
        print("  note:", note)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda", help="cuda (the measurement) or cpu (with --tiny: test this script)")
    ap.add_argument("--tiny", action="store_true", help="quick-scale networks, tiny inputs, M=2, 1-2 iterations")
    ap.add_argument("--scale", choices=["quick", "cpu", "full"], default="full",
                    help="the config scale whose sizes and counts are measured and projected (cpu with --device cpu: "
                         "the cpu scale's time on this machine)")
    ap.add_argument("--seconds", type=float, default=3.0, help="time budget of each measurement")
    ap.add_argument("--out", help="write the measurements and projections as JSON here")
    ap.add_argument("--config", default=str(REPO / "config.yaml"))
    ap.add_argument("--tox21", help="Tox21 CSV (tox21.csv) or featurized graphs.pt: real molecules for the GGNN epoch")
    ap.add_argument("--deterministic", choices=["config", "on", "off"], default="config",
                    help="deterministic algorithms as the workflow sets them (config key `deterministic`)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    raw = yaml.safe_load(Path(args.config).read_text())
    args.deterministic = bool(raw.get("deterministic", True)) if args.deterministic == "config" else args.deterministic == "on"
    from xairepro.context import set_deterministic

    set_deterministic(args.deterministic)      # before CUDA starts, as the workflow's scripts do
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"--device {args.device}: torch {torch.__version__} sees no CUDA device (use --device cpu --tiny "
                         "to test the script)")
    torch.set_grad_enabled(True)
    Bench(args).run()


if __name__ == "__main__":
    main()
