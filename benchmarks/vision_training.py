"""CIFAR-10 training throughput through the workflow's own path: device-resident batches, vectorized
augmentation, the one training loop (SGD + Nesterov, one-cycle, AMP and channels-last on CUDA),
a checkpoint each epoch. Prints images per second for every epoch, the peak GPU memory, and the
projected time of a full run (50,000 images x --full-epochs). With --cache (the tensor file of the
`vision_data` rule) it trains on real CIFAR-10 and also prints the test accuracy after each epoch
and the time to reach --target accuracy.

    python benchmarks/vision_training.py --device cpu --depth 20 --n-images 2000 --epochs 2
    python benchmarks/vision_training.py --device cuda --depth 164 --block bottleneck --n-images 50000 --epochs 3
    python benchmarks/vision_training.py --device cuda --depth 164 --block bottleneck \\
        --cache results/vision/data/cifar10.pt --epochs 100 --target 0.94
"""
from __future__ import annotations

import argparse
import tempfile
import time

import torch

from xairepro.context import RunContext
from xairepro.experiments.vision.data import load_cached
from xairepro.experiments.vision.training import train_vision


def synthetic(n_train: int, n_test: int, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {"source": "synthetic", "classes": [str(k) for k in range(10)],
            "x_train": torch.randint(0, 256, (n_train, 3, 32, 32), generator=g, dtype=torch.uint8),
            "y_train": torch.randint(0, 10, (n_train,), generator=g),
            "x_test": torch.randint(0, 256, (n_test, 3, 32, 32), generator=g, dtype=torch.uint8),
            "y_test": torch.randint(0, 10, (n_test,), generator=g)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--depth", type=int, default=20)
    ap.add_argument("--block", default="basic", choices=["basic", "bottleneck"])
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--n-images", type=int, default=5000, help="synthetic training images (ignored with --cache)")
    ap.add_argument("--cache", help="tensor cache of real CIFAR-10 (results/vision/data/cifar10.pt)")
    ap.add_argument("--no-amp", action="store_true")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--full-epochs", type=int, default=100, help="epochs of the full run the projection assumes")
    ap.add_argument("--target", type=float, default=0.94)
    args = ap.parse_args()

    data = load_cached(args.cache) if args.cache else synthetic(args.n_images, 1000)
    ctx = RunContext(seed=0, device=args.device, threads=args.threads)
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = ctx.torch_device
    if dev.type == "cuda":
        print("device:", torch.cuda.get_device_name(dev), "| torch", torch.__version__, "| cuda", torch.version.cuda)
        torch.backends.cudnn.benchmark = True
    else:
        print("device: cpu | threads", torch.get_num_threads(), "| torch", torch.__version__)
    spec = {"arch": "preact_resnet", "depth": args.depth, "block": args.block, "dropout": 0.0}
    train = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": 0.1, "optimizer": "sgd", "momentum": 0.9,
             "nesterov": True, "weight_decay": 5e-4, "schedule": "onecycle", "amp": not args.no_amp}
    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        out = train_vision(data, spec, train, ctx=ctx, checkpoint_dir=tmp,
                           eval_every=1 if args.cache else args.epochs + 1,
                           progress=lambda row: print("  epoch", row["epoch"], {k: round(v, 4) for k, v in row.items()
                                                                                if k != "epoch"}, flush=True))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    m, h = out["metrics"], out["history"]
    steady = h["images_per_s"].iloc[1:] if len(h) > 1 else h["images_per_s"]
    rate = float(steady.median())
    print(f"\nmodel: pre-activation ResNet-{args.depth} ({args.block}), {m['n_parameters']:,} parameters; "
          f"batch {args.batch_size}; AMP {m['amp']}; channels-last {m['channels_last']}; data {data['source']} "
          f"({m['n_train']:,} training images)")
    print("images/s per epoch:", ", ".join(f"{v:.0f}" for v in h["images_per_s"]),
          f"(first epoch includes warm-up; steady {rate:.0f})")
    if "max_memory_gb" in m:
        print(f"peak GPU memory: {m['max_memory_gb']:.2f} GiB")
    proj = 50000 * args.full_epochs / rate
    print(f"projected full run: 50,000 images x {args.full_epochs} epochs / {rate:.0f} img/s = "
          f"{proj / 60:.1f} min of training steps (plus one test pass per epoch)")
    print(f"this run: {wall:.1f} s wall, {cpu:.1f} s CPU time of this process, test accuracy {m['test_accuracy']:.4f}")
    if dev.type == "cpu":  # on a shared machine the wall clock also counts other people's jobs
        n_seen = m["n_train"] * len(h)
        print(f"CPU-time rate (whole run, test passes included): {n_seen / cpu:.0f} images per CPU second")
    from torch.utils.flop_counter import FlopCounterMode
    model = out["trained"].model.float().cpu().train()
    with FlopCounterMode(display=False) as fc:
        model(torch.rand(1, 3, 32, 32)).sum().backward()
    print(f"training FLOPs per image (forward + backward): {fc.get_total_flops() / 1e9:.3f} GFLOP")
    if args.cache:
        hit = h[h.get("val_accuracy", 0) >= args.target]
        if len(hit):
            e = int(hit["epoch"].iloc[0])
            print(f"reached {args.target:.2%} test accuracy after epoch {e}: "
                  f"{h.loc[h['epoch'] <= e, 'seconds'].sum():.1f} s of training")
        else:
            print(f"did not reach {args.target:.2%} (best {h['val_accuracy'].max():.4f})")


if __name__ == "__main__":
    main()
