"""The CIFAR-10 model-randomisation check of one trained classifier, outside the workflow: the
cascade steps of the scale's ``vision.aopc.sanity_steps`` (cpu: half of the layers, then all), every
named method explained on the trained and on each randomised copy, the mean Spearman correlation per
method and step, and the verdict of :func:`xairepro.evaluation.verdicts.sanity_verdicts` (the same
functions the ``vision_aopc`` rule runs, on a classifier the workflow trained).

    snakemake --cores all --config scale=cpu -- results/vision/models/classifier/model.pt
    python benchmarks/vision_sanity.py --scale cpu --n-images 32

Adebayo et al. (2018): guided backprop keeps its maps when the top layers are re-initialised, so it
should fail; the gradient methods should pass.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from xairepro.config import resolve_scale  # noqa: E402
from xairepro.context import RunContext  # noqa: E402
from xairepro.evaluation.verdicts import sanity_verdicts  # noqa: E402
from xairepro.experiments.explainer import applicable  # noqa: E402
from xairepro.experiments.suite import sanity_rows  # noqa: E402
from xairepro.experiments.vision.data import load_cached, test_images  # noqa: E402
from xairepro.experiments.vision.settings import UNIT, example_section, explainer  # noqa: E402
from xairepro.training import load_checkpoint  # noqa: E402

METHODS = ["guided_backprop", "vanilla_grad", "integrated_gradients", "smoothgrad", "grad_cam"]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", default="cpu", choices=["quick", "cpu", "full"])
    p.add_argument("--results", default=str(REPO / "results"))
    p.add_argument("--n-images", type=int, default=32, help="test images (after the first)")
    p.add_argument("--methods", nargs="+", default=METHODS)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = resolve_scale(yaml.safe_load((REPO / "config.yaml").read_text()), args.scale)["vision"]
    results = Path(args.results)
    ctx = RunContext(seed=0, device="cpu", max_batch=256)
    model, _ = load_checkpoint(results / "vision/models/classifier/model.pt", "cpu")
    model.eval()
    x, y = test_images(load_cached(results / "vision/data/cifar10.pt"), args.n_images, offset=1)
    with torch.no_grad():
        top = model(x).argmax(1)
    print(f"{len(x)} test images, accuracy {float((top == torch.as_tensor(y)).float().mean()):.3f}")
    exp = explainer(model, example_section(cfg), ctx=ctx, methods=args.methods)
    ref = applicable(exp.explain(x, top))
    labels = dict(experiment="vision", modality="image", unit="pixel", model="classifier", replicate=0)
    rows = sanity_rows(exp, x, ref, UNIT, steps=cfg["aopc"]["sanity_steps"], labels=labels, target=top)
    table = sanity_verdicts(rows)
    print(table.groupby(["method", "randomisation"])["spearman"].mean().unstack().round(3).to_string())
    print(table.groupby("method")[["verdict_rho", "passes"]].first().round(3).to_string())


if __name__ == "__main__":
    main()
