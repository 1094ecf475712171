"""Prove the GPU path in one short run: training steps with and without AMP, attribution on CUDA
(VanillaGrad, SmoothGrad, BayesGrad, IG) for the ESOL graph models, agreement with the CPU
results, and the quick attribution benchmark. Prints a table; exits non-zero on a mismatch.

    python benchmarks/gpu_check.py --csv path/to/delaney-processed.csv
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from xairepro.data.featurize import featurize_smiles
from xairepro.data.loaders import ESOL_TARGET, load_moleculenet_csv
from xairepro.experiments.graphs import atom_scores
from xairepro.models import build_model
from xairepro.training import TrainConfig, fit, predict, seed_everything


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--csv", required=True)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--device", default="cuda", help="cuda (the check) or cpu (to test this script)")
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
            s_gpu = atom_scores(model, test, ["vanilla", "smoothgrad", "bayesgrad"], M=100, signed=True,
                                device=dev, seed=0)
            sync()
            t_attr = time.perf_counter() - t0
            s_cpu = atom_scores(model.cpu(), test, ["vanilla"], M=1, signed=True, device="cpu")
            diff = max(float(np.max(np.abs(a - b))) for a, b in zip(s_gpu["vanilla"], s_cpu["vanilla"]))
            match = diff < 1e-3
            ok &= match and np.isfinite(pred).all()
            print(f"{name:5s} amp={amp!s:5s} train {args.epochs} ep {t_train:6.1f}s  held-out r={r:.3f}  "
                  f"attribution (3 methods, M=100, {len(test)} mols) {t_attr:6.1f}s  "
                  f"max |vanilla dev - cpu| = {diff:.2e} {'OK' if match else 'MISMATCH'}")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
