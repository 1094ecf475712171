"""Our pixel deletion curves against Quantus 0.6's ``RegionPerturbation`` on the same CIFAR-10 model,
images and integrated-gradients maps, and the curves' time at several batch sizes (rows per forward
pass): the measurement ``vision.aopc.curve_batch`` is chosen from, per kind of device.

The model is the trained classifier of a finished run (``--results``; ``snakemake --cores 1
results/vision/models/classifier/model.pt`` builds the quick one), the images are the ``vision_aopc``
rule's (``--n-images`` test images, offset 1), the maps are the aopc study's integrated gradients (its
explainer, the config's path points at ``--scale``), read per pixel as the sum over channels of |IG|.
Our curve removes ``max_fraction`` of the pixels in ``steps`` steps
(:func:`xairepro.evaluation.faithfulness.faithfulness_curves`); Quantus removes one pixel per step
(``patch_size=1``, black baseline, softmax), so it runs every pixel count up to the last of ours and
its curve holds ours at each of our steps: the script checks they agree there (max |difference|) and
prints the seconds of each, best of ``--repeats`` (on the CPU: CPU seconds of the process, which
stay the same when other jobs share the machine; use one thread).

    python benchmarks/faithfulness_speed.py --scale quick --threads 1
    python benchmarks/faithfulness_speed.py --device cuda --batches 256 1024 2048 4096
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from xairepro.config import merged_method_options, resolve_scale  # noqa: E402
from xairepro.context import RunContext  # noqa: E402
from xairepro.evaluation.faithfulness import faithfulness_curves  # noqa: E402


def best_of(fn, repeats: int, device) -> tuple[float, object]:
    """The fastest of ``repeats`` calls of ``fn`` (seconds) and its last result: CPU seconds of this
    process on the CPU (the same on a machine shared with other jobs), wall seconds on a GPU."""
    clock = time.process_time if device.type == "cpu" else time.perf_counter
    times, out = [], None
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = clock()
        out = fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(clock() - t0)
    return min(times), out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", default="quick", choices=["quick", "cpu", "full"])
    p.add_argument("--results", default=str(REPO / "results"), help="the run whose classifier is used")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--n-images", type=int, default=32)
    p.add_argument("--batches", type=int, nargs="+", default=[32, 64, 128, 256, 512, 1024, 2048])
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    import quantus  # the reference (requirements.txt)

    from xairepro.experiments.vision.data import load_cached, test_images
    from xairepro.experiments.vision.settings import UNIT, explainer
    from xairepro.training import load_checkpoint

    config = resolve_scale(dict(yaml.safe_load((REPO / "config.yaml").read_text()), scale=a.scale))
    aopc, attr = config["vision"]["aopc"], config["vision"]["attribution"]
    device = torch.device(a.device)
    ctx = RunContext(seed=config["seed"], device=a.device, max_batch=config["attribution"]["max_batch"],
                     deterministic=device.type == "cpu")
    res = Path(a.results) / "vision"
    model = load_checkpoint(res / "models/classifier/model.pt", a.device)[0].to(device).eval()
    x, _ = test_images(load_cached(res / "data/cifar10.pt"), a.n_images, offset=1)
    x = x.to(device)
    with torch.no_grad():
        top = model(x).argmax(1)
    ig = "integrated_gradients"
    cfg = dict(attr, method_options=merged_method_options([ig], aopc.get("method_options"),
                                                          attr.get("method_options")))
    explain = explainer(model, cfg, ctx=ctx, methods=[ig], aggregation="abs", image_shape=tuple(x.shape[1:]))
    t0 = time.perf_counter()
    examples = list(x)
    scores = explain.explain(x, top)[ig].units(UNIT, examples, "abs")            # per pixel: sum of |IG| over channels
    print(f"integrated gradients of {len(x)} images: {time.perf_counter() - t0:.1f} s")
    scored = explain.scored()

    n_pixels = x.shape[-1] * x.shape[-2]
    fractions = np.linspace(0.0, float(aopc["max_fraction"]), int(aopc["steps"]) + 1)
    counts = np.rint(fractions * n_pixels).astype(int)
    a_batch = np.stack([np.asarray(s, dtype=np.float32).reshape(1, *x.shape[-2:]) for s in scores])
    metric = quantus.RegionPerturbation(patch_size=1, regions_evaluation=int(counts[-1]), order="morf", abs=False,
                                        normalise=False, perturb_baseline=0.0, disable_warnings=True,
                                        display_progressbar=False)
    x_np, y_np = x.cpu().numpy(), top.cpu().numpy()
    t_quantus, theirs = best_of(lambda: np.asarray(metric(model=model, x_batch=x_np, y_batch=y_np, a_batch=a_batch,
                                                          device=a.device, softmax=True, batch_size=len(x_np))),
                                a.repeats, device)
    print(f"Quantus {quantus.__version__} RegionPerturbation: {len(x)} curves x {counts[-1]} one-pixel steps "
          f"({len(x) * (counts[-1] + 1)} rows): {t_quantus:.3f} s")
    print(f"ours: {len(x)} curves x {len(fractions)} points ({len(x) * len(fractions)} rows), "
          f"{a.device}, {a.threads} thread(s):")
    print(f"  {'batch':>6s} {'seconds':>9s} {'ms/row':>7s} {'vs Quantus':>10s} {'max |diff|':>11s}")
    rows = {}
    for b in a.batches:
        t, ours = best_of(lambda: faithfulness_curves(scored, examples, scores, UNIT, fractions=fractions,
                                                      targets=top.tolist(), max_batch=b), a.repeats, device)
        # Quantus' value j is f(x) - f(x without j + 1 pixels); ours at step i removed counts[i] pixels
        diff = float(np.abs((ours[:, :1] - ours[:, 1:]) - theirs[:, counts[1:] - 1]).max())
        rows[b] = t
        print(f"  {b:6d} {t:9.3f} {1e3 * t / (len(x) * len(fractions)):7.3f} {t_quantus / t:9.2f}x {diff:11.2e}")
    best = min(rows, key=rows.get)
    print(f"fastest batch on {a.device}: {best} rows ({rows[best]:.3f} s, {t_quantus / rows[best]:.2f}x Quantus)")


if __name__ == "__main__":
    main()
