"""Prove the GPU path in one short run: training steps with and without AMP, attribution on CUDA
(vanilla_grad, smoothgrad, bayesgrad, integrated_gradients, by their registered names) for the ESOL
graph models at the atom embedding, and agreement of the per-atom scores with the CPU results.
Prints a table; exits non-zero on a mismatch.

    python benchmarks/gpu_check.py --csv path/to/delaney-processed.csv
    python benchmarks/gpu_check.py --csv ... --device cpu --epochs 1 --M 4   # test this script
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from xairepro.data.featurize import featurize_smiles
from xairepro.data.loaders import ESOL_TARGET, load_moleculenet_csv
from xairepro.evaluation.units import AtomUnit
from xairepro.experiments.explainer import Explainer, applicable
from xairepro.experiments.graphs import graph_batches
from xairepro.models import build_model
from xairepro.training import TrainConfig, fit, predict, seed_everything

METHODS = ["vanilla_grad", "smoothgrad", "bayesgrad", "integrated_gradients"]


def atom_scores(model, graphs, names, *, M, device, seed=0):
    """``{name: [per-atom scores of each molecule]}`` at the atom embedding (signed, summed over the
    embedding channels)."""
    explainer = Explainer(model.to(device), names, settings=lambda m: {"layer": m.embedding, "max_batch": 2048},
                          method_options={"smoothgrad": {"stdevs": 0.15}, "integrated_gradients": {"n_steps": 32}},
                          M=M, seed=seed, batches=graph_batches, device=device)
    results = applicable(explainer.explain(list(graphs)))
    return {name: exp.units(AtomUnit(), graphs) for name, exp in results.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--csv", required=True)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--device", default="cuda", help="cuda (the check) or cpu (to test this script)")
    ap.add_argument("--M", type=int, default=100, help="samples of the sampling methods")
    args = ap.parse_args()
    dev = args.device
    if dev.startswith("cuda"):
        if not torch.cuda.is_available():
            raise SystemExit("no CUDA device")
        print("device:", torch.cuda.get_device_name(0), "torch", torch.__version__, "cuda", torch.version.cuda)
    sync = torch.cuda.synchronize if dev.startswith("cuda") else (lambda: None)
    df = load_moleculenet_csv(args.csv, id_col="Compound ID")
    graphs = featurize_smiles(df["smiles"].tolist(), df[ESOL_TARGET].to_numpy(float)).graphs
    train, test = graphs[:900], graphs[900:]
    ok = True
    for name in ("nfp", "ggnn"):
        for amp in (False, True):
            seed_everything(0)
            model = build_model(name, hidden_dim=64, n_layers=4, dropout=0.25)
            t0 = time.perf_counter()
            fit(model, train, cfg=TrainConfig(epochs=args.epochs, device=dev, amp=amp, seed=0),
                progress=lambda r: None)
            sync()
            t_train = time.perf_counter() - t0
            pred = predict(model, test, device=dev)[:, 0]
            y = np.array([g.y.item() for g in test])
            r = float(np.corrcoef(y, pred)[0, 1])
            t0 = time.perf_counter()
            s_dev = atom_scores(model, test, METHODS, M=args.M, device=dev, seed=0)
            sync()
            t_attr = time.perf_counter() - t0
            s_cpu = atom_scores(model.cpu(), test, ["vanilla_grad", "integrated_gradients"], M=1, device="cpu")
            diffs = {m: max(float(np.max(np.abs(a - b))) for a, b in zip(s_dev[m], s_cpu[m])) for m in s_cpu}
            finite = all(np.isfinite(np.concatenate(v)).all() for v in s_dev.values())
            match = all(d < 1e-3 for d in diffs.values()) and finite and len(s_dev) == len(METHODS)
            ok &= match and np.isfinite(pred).all()
            print(f"{name:5s} amp={amp!s:5s} train {args.epochs} ep {t_train:6.1f}s  held-out r={r:.3f}  "
                  f"attribution ({len(s_dev)} methods, M={args.M}, {len(test)} mols) {t_attr:6.1f}s  "
                  + "  ".join(f"max |{m} dev - cpu| = {d:.2e}" for m, d in diffs.items())
                  + f" {'OK' if match else 'MISMATCH'}")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
