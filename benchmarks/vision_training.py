"""CIFAR-10 training throughput through the workflow's own path: device-resident batches, vectorized
augmentation, the one training loop (SGD + Nesterov, one-cycle, AMP and channels-last on CUDA),
a checkpoint each epoch. Prints images per second for every epoch, the peak GPU memory, and the
projected time of a full run (50,000 images x --full-epochs). With --cache (the tensor file of the
`vision_data` rule) it trains on real CIFAR-10 and also prints the test accuracy after each epoch
and the time to reach --target accuracy.

With --scale (quick | cpu | full) the network, the train section, the channels-last setting and the
epochs come from config.yaml's vision section at that scale, and with --project it also times, at
that scale's settings, a slice of one mask-network epoch, the counterfactuals study and the
faithfulness protocol (--project-examples images, scaled to the configured n_examples), and prints
the projected wall time of the whole vision experiment at that scale.

    python benchmarks/vision_training.py --device cpu --depth 20 --n-images 2000 --epochs 2
    python benchmarks/vision_training.py --device cuda --depth 164 --block bottleneck --n-images 50000 --epochs 3
    python benchmarks/vision_training.py --device cpu --scale cpu --cache results/vision/data/cifar10.pt \\
        --epochs 1 --threads 2 --project
"""
from __future__ import annotations

import argparse
import copy
import tempfile
import time
from pathlib import Path

import torch

from xairepro.context import RunContext
from xairepro.experiments.vision.data import load_cached
from xairepro.experiments.vision.training import train_vision

REPO = Path(__file__).resolve().parents[1]


def synthetic(n_train: int, n_test: int, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {"source": "synthetic", "classes": [str(k) for k in range(10)],
            "x_train": torch.randint(0, 256, (n_train, 3, 32, 32), generator=g, dtype=torch.uint8),
            "y_train": torch.randint(0, 10, (n_train,), generator=g),
            "x_test": torch.randint(0, 256, (n_test, 3, 32, 32), generator=g, dtype=torch.uint8),
            "y_test": torch.randint(0, 10, (n_test,), generator=g)}


def scale_section(scale: str) -> dict:
    import yaml

    from xairepro.config import resolve_scale

    return resolve_scale(yaml.safe_load((REPO / "config.yaml").read_text()), scale)["vision"]


def timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def two_thread_speedup(spec: dict, batch_size: int, steps: int = 6) -> float:
    """Wall-time speed-up of a training step with two torch threads over one (on a busy machine it
    is below the idle machine's)."""
    from xairepro.models import build_model

    model = build_model(spec["arch"], **{k: v for k, v in spec.items() if k != "arch"})
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.rand(batch_size, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch_size,))
    before, walls = torch.get_num_threads(), {}
    for threads in (1, 2, 1, 2):
        torch.set_num_threads(threads)
        for k in range(steps + 1):
            if k == 1:
                t0 = time.perf_counter()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        walls[threads] = min(walls.get(threads, float("inf")), time.perf_counter() - t0)
    torch.set_num_threads(before)
    return walls[1] / walls[2]


def project(vision: dict, data: dict, model, ctx: RunContext, epoch_cpu_s: float, n_examples: int) -> None:
    """Time the other studies at the scale's settings (one thread, CPU seconds: on a shared machine
    the wall clock also counts other people's jobs) and print the projected wall time on 2 cores."""
    from xairepro.experiments.vision import aopc, counterfactuals, masks, saliency

    att, mcfg = vision["attribution"], vision["mask"]
    speedup = two_thread_speedup(dict(vision["models"]["classifier"]), int(vision["train"]["batch_size"]))
    torch.set_num_threads(1)  # every study but the training runs as a one-thread job
    model = model.float().cpu().eval()
    # mask network: a slice of one epoch (128 batches at most), its rate scaled to the configured epochs
    n_mask = min(len(data["y_train"]), 128 * int(mcfg["batch_size"]))
    mask_cfg = dict(mcfg, epochs=1, n_train=n_mask, n_examples=2)
    small = dict(data, x_test=data["x_test"][:1000], y_test=data["y_test"][:1000])
    _, _, c_mask = timed(lambda: masks.train_vision_mask(copy.deepcopy(model), small, mask_cfg, ctx=ctx))
    n_train = int(mcfg.get("n_train") or len(data["y_train"]))
    per_image = c_mask / (n_mask + 2 * 1000)  # 1,000 test images scored twice (with and without the mask)
    mask_s = per_image * (n_train * int(mcfg["epochs"]) + 2 * len(data["y_test"]))
    cf_cfg = dict(vision["counterfactuals"], n_steps=att["method_options"]["integrated_gradients"]["n_steps"])
    cf, _, c_cf = timed(lambda: counterfactuals.counterfactuals_study({"model": model, "data": data}, cf_cfg,
                                                                      ctx=ctx))
    drop = copy.deepcopy(model)
    drop.dropout.p = float(vision["models"]["dropout"]["dropout"])
    net = masks.CifarMaskNet(copy.deepcopy(model), width=int(mcfg["width"]), n_convs=int(mcfg["n_convs"]))
    a_cfg = dict(vision["aopc"], **att, n_examples=n_examples)
    _, _, c_a = timed(lambda: aopc.aopc_study({"data": data, "models": {"classifier": model, "dropout": drop},
                                               "mask_nets": {"classifier": net}}, a_cfg, ctx=ctx))
    aopc_s = c_a * int(vision["aopc"]["n_examples"]) / n_examples
    s_cfg = dict(vision["saliency"], mc_samples=att["mc_samples"], method_options=att["method_options"])
    _, _, c_s = timed(lambda: saliency.saliency_study({"model": drop, "data": data}, s_cfg, ctx=ctx))
    epochs = int(vision["train"]["epochs"])
    ft = (vision.get("finetune") or {}).get("dropout")
    ft_epochs = int(ft["epochs"]) if ft else epochs
    n_seeds = int(mcfg.get("n_seeds", 1))
    print("\none-thread CPU seconds at these settings (measured on a slice, scaled):")
    print(f"  training: {epoch_cpu_s:.0f} s per epoch with its test pass x ({epochs} + {ft_epochs}) epochs")
    print(f"  mask network: {per_image * 1000:.2f} ms per image -> {mask_s:.0f} s per seed x {n_seeds} seeds "
          f"({n_train:,} images x {mcfg['epochs']} epochs, width {mcfg['width']}, with the 10,000-image test pass)")
    print(f"  counterfactuals study: {c_cf:.0f} s (completeness of this model: median relative error "
          f"{cf['summary']['median_rel_error']:.2%})")
    print(f"  faithfulness protocol: {c_a:.0f} s for {n_examples} images -> {aopc_s:.0f} s for "
          f"{vision['aopc']['n_examples']}")
    print(f"  saliency grid: {c_s:.0f} s")
    print(f"two-thread speed-up of a training step, measured now: {speedup:.2f}x"
          + (" (below 1.5: a busy machine; the projection assumes 1.8x, an idle one)" if speedup < 1.5 else ""))
    s = speedup if speedup >= 1.5 else 1.8
    train_wall = (epochs + ft_epochs) * epoch_cpu_s / s
    rest = n_seeds * mask_s + c_cf + aopc_s + c_s
    parallel = max(rest / 2, aopc_s, mask_s)
    total = 20 + train_wall + parallel + 60
    print(f"\nprojected vision time at this scale on 2 idle cores: data ~20 s + training {train_wall / 60:.1f} min "
          f"(two threads, {s:.2f}x) + the one-thread jobs, {rest / 60:.1f} CPU min on 2 cores "
          f"({parallel / 60:.1f} min) + reproduction and notebook ~1 min = {total / 60:.1f} min "
          f"(total CPU time {((epochs + ft_epochs) * epoch_cpu_s + rest) / 60:.1f} min)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--scale", choices=["quick", "cpu", "full"], help="network and training from config.yaml")
    ap.add_argument("--depth", type=int, default=20)
    ap.add_argument("--block", default="basic", choices=["basic", "bottleneck"])
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--n-images", type=int, default=5000, help="synthetic training images (ignored with --cache)")
    ap.add_argument("--cache", help="tensor cache of real CIFAR-10 (results/vision/data/cifar10.pt)")
    ap.add_argument("--no-amp", action="store_true")
    ap.add_argument("--channels-last", action="store_true", help="NHWC batches on the CPU too (always on CUDA)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--full-epochs", type=int, default=100, help="epochs of the full run the projection assumes")
    ap.add_argument("--target", type=float, default=0.94)
    ap.add_argument("--project", action="store_true", help="with --scale: time the other studies and project")
    ap.add_argument("--project-examples", type=int, default=4, help="images of the timed faithfulness protocol")
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
    if args.scale:
        vision = scale_section(args.scale)
        spec, train = dict(vision["models"]["classifier"]), dict(vision["train"], epochs=args.epochs)
        channels_last = bool(vision["data"].get("channels_last", False))
        args.full_epochs = int(vision["train"]["epochs"])
    else:
        vision = None
        spec = {"arch": "preact_resnet", "depth": args.depth, "block": args.block, "dropout": 0.0}
        train = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": 0.1, "optimizer": "sgd",
                 "momentum": 0.9, "nesterov": True, "weight_decay": 5e-4, "schedule": "onecycle",
                 "amp": not args.no_amp}
        channels_last = args.channels_last
    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        out = train_vision(data, spec, train, ctx=ctx, checkpoint_dir=tmp, channels_last=channels_last,
                           eval_every=1 if args.cache else args.epochs + 1,
                           progress=lambda row: print("  epoch", row["epoch"], {k: round(v, 4) for k, v in row.items()
                                                                                if k != "epoch"}, flush=True))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    m, h = out["metrics"], out["history"]
    steady = h["images_per_s"].iloc[1:] if len(h) > 1 else h["images_per_s"]
    rate = float(steady.median())
    print(f"\nmodel: pre-activation ResNet-{spec['depth']} ({spec.get('block', 'basic')}), {m['n_parameters']:,} "
          f"parameters; batch {train['batch_size']}; AMP {m['amp']}; channels-last {m['channels_last']}; data "
          f"{data['source']} ({m['n_train']:,} training images)" + (f"; scale {args.scale}" if args.scale else ""))
    print("images/s per epoch:", ", ".join(f"{v:.0f}" for v in h["images_per_s"]),
          f"(first epoch includes warm-up; steady {rate:.0f})")
    if "max_memory_gb" in m:
        print(f"peak GPU memory: {m['max_memory_gb']:.2f} GiB")
    proj = 50000 * args.full_epochs / rate
    print(f"projected run: 50,000 images x {args.full_epochs} epochs / {rate:.0f} img/s = "
          f"{proj / 60:.1f} min of training steps (plus one test pass per epoch)")
    print(f"this run: {wall:.1f} s wall, {cpu:.1f} s CPU time of this process, test accuracy {m['test_accuracy']:.4f}")
    if dev.type == "cpu":  # on a shared machine the wall clock also counts other people's jobs
        n_seen = m["n_train"] * len(h)
        print(f"CPU-time rate (whole run, test passes included): {n_seen / cpu:.0f} images per CPU second; "
              f"{cpu / len(h):.0f} CPU s per epoch with its test pass")
    from torch.utils.flop_counter import FlopCounterMode
    model = copy.deepcopy(out["trained"].model).float().cpu().train()
    with FlopCounterMode(display=False) as fc:
        model(torch.rand(1, 3, 32, 32)).sum().backward()
    print(f"training FLOPs per image (forward + backward): {fc.get_total_flops() / 1e9:.3f} GFLOP")
    if args.cache and not args.scale:
        hit = h[h.get("val_accuracy", 0) >= args.target]
        if len(hit):
            e = int(hit["epoch"].iloc[0])
            print(f"reached {args.target:.2%} test accuracy after epoch {e}: "
                  f"{h.loc[h['epoch'] <= e, 'seconds'].sum():.1f} s of training")
        else:
            print(f"did not reach {args.target:.2%} (best {h['val_accuracy'].max():.4f})")
    if args.project and vision is not None:
        project(vision, data, out["trained"].model, RunContext(seed=0, device="cpu"), cpu / len(h),
                args.project_examples)


if __name__ == "__main__":
    main()
