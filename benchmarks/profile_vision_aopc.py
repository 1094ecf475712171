"""Where the seconds of the ``vision_aopc`` job go: attribution of each method, the deletion/insertion
curves, the model-randomisation check, the uncertainty check, and the rest.

Runs :func:`xairepro.experiments.vision.aopc.run_aopc` on the trained models of a finished run (the
rule's own inputs, from ``results/``) with the rule's settings at ``--scale``, under cProfile, and
prints the breakdown in CPU seconds of the process: the attribution seconds of each method (the suite's cost table), the seconds in
the curves (``faithfulness_curves``), in the randomised copies' explanations, in the single-unit drops
of the uncertainty check, and the hottest functions.

    snakemake --cores 1 results/vision/models/classifier/model.pt results/vision/models/dropout/model.pt \\
        results/vision/mask/seed0/mask_net.pt
    python benchmarks/profile_vision_aopc.py --scale quick --threads 1
    python benchmarks/profile_vision_aopc.py --curve-batch 128        # the curves' rows per forward pass
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from xairepro.config import merged_method_options, resolve_scale  # noqa: E402
from xairepro.context import RunContext  # noqa: E402


def aopc_cfg(config: dict) -> dict:
    """The ``cfg`` params of the ``vision_aopc`` rule (rules/vision.smk), without Snakemake."""
    v = config["vision"]
    aopc, attr = v["aopc"], v["attribution"]
    methods = list(aopc["methods"]) + list(aopc.get("dropout_methods") or [])
    options = merged_method_options(methods, aopc.get("method_options"), attr.get("method_options"))
    return dict({k: v for k, v in aopc.items() if k != "model_seeds"},
                **{k: attr[k] for k in attr if k != "method_options"}, method_options=options)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", default="quick", choices=["quick", "cpu", "full"])
    p.add_argument("--results", default=str(REPO / "results"))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--curve-batch", type=int, default=None, help="rows per forward pass of the curves "
                   "(default: the config's vision.aopc.curve_batch for the device)")
    p.add_argument("--n-examples", type=int, default=None, help="test images (default: the config's, per model)")
    p.add_argument("--top", type=int, default=25, help="hottest functions printed")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    raw = yaml.safe_load((REPO / "config.yaml").read_text())
    config = resolve_scale(dict(raw, scale=a.scale))
    cfg = aopc_cfg(config)
    if a.n_examples:
        cfg["n_examples"] = a.n_examples
    if a.curve_batch:
        cfg["curve_batch"] = {"cpu": a.curve_batch, "cuda": a.curve_batch}
    ctx = RunContext(seed=config["seed"], device="cpu", max_batch=config["attribution"]["max_batch"],
                     deterministic=True)
    import types

    import xairepro.experiments.explainer as explainer_module
    import xairepro.experiments.suite as suite_module
    from xairepro.experiments.vision.aopc import run_aopc

    # every method's seconds (the suite's cost table) in CPU seconds too
    explainer_module.time = types.SimpleNamespace(perf_counter=time.process_time)
    # the model-randomisation check: the CPU seconds of its loop (randomised copies, their explanations, the
    # rank correlations), from the generator's first step to its end
    sanity = []
    cascade = suite_module.cascading_randomisation

    def timed_cascade(*args, **kwargs):
        t = time.process_time()
        yield from cascade(*args, **kwargs)
        sanity.append(time.process_time() - t)
    suite_module.cascading_randomisation = timed_cascade

    res = Path(a.results) / "vision"
    # CPU seconds of this process (not wall time): the breakdown holds on a machine shared with other jobs
    prof = cProfile.Profile(time.process_time)
    t0 = time.process_time()
    prof.enable()
    out = run_aopc(res / "data/cifar10.pt", res / "models/classifier/model.pt", res / "models/dropout/model.pt",
                   res / "mask/seed0/mask_net.pt", cfg, ctx=ctx)
    prof.disable()
    total = time.process_time() - t0
    stats = pstats.Stats(prof)

    def cum(fragment: str, func: str) -> float:
        """Cumulative seconds of the function ``func`` of the file whose path contains ``fragment``
        (outermost calls only: cProfile's cumulative time does not double count recursion)."""
        return sum(v[3] for (f, _, name), v in stats.stats.items() if fragment in f and name == func)

    cost = out["cost"]
    attribution = float(cost["seconds"].sum())
    curves = cum("evaluation/faithfulness.py", "faithfulness_study")
    drops = cum("evaluation/sanity.py", "single_unit_drops")
    print(f"vision_aopc at {a.scale} scale, {a.threads} thread(s), curve batch "
          f"{cfg.get('curve_batch') or ctx.max_batch}: {total:.1f} CPU s in run_aopc")
    print("attribution of the trained models, by method (the suite's cost table):")
    for model, method, seconds in cost[["model", "method", "seconds"]].itertuples(index=False):
        print(f"  {model:10s} {method:22s} {seconds:8.1f} s")
    print(f"  {'all':33s} {attribution:8.1f} s")
    print(f"deletion/insertion curves (faithfulness_study): {curves:8.1f} s")
    print(f"model-randomisation check (randomised copies explained again): {sum(sanity):8.1f} s")
    print(f"uncertainty check (single-unit drops): {drops:8.1f} s")
    print(f"rest (loading, predictions, spreads, tables): {total - attribution - curves - sum(sanity) - drops:8.1f} s")
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(a.top)
    print(buf.getvalue())


if __name__ == "__main__":
    main()
