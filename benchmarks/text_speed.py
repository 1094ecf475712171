"""Throughput of the IMDB text experiment at a scale's settings, and the projected time of the whole
text experiment at that scale.

Measured on random weights and random reviews whose lengths follow IMDB's (log-normal around the
175-token median of this tokenizer, cut to the scale's ``max_len``, right-padded): speed does not
depend on training. Sizes come from config.yaml's ``text`` section resolved for ``--scale``:

* classifier training (one epoch of the project's training loop) and inference (the per-epoch test
  monitoring and the final evaluation), reviews/s;
* mask training for each reading, and the masked evaluation, reviews/s;
* every method of ``text.attribution.methods`` and ``text.faithfulness.methods`` on a few reviews
  (``mc_samples`` samples; IG with its first ``method_options.integrated_gradients.n_steps``), reviews/s;
* the faithfulness curves and the single-word drops of the uncertainty table, reviews/s.

The projection multiplies these by the scale's counts (reviews, epochs, mask seeds and readings,
attributed reviews, the sanity step's second explanation pass) and prints every rule's time and the
total on one thread, and the wall time on two cores (``snakemake --cores 2``: after training, the
mask jobs and the attribution and faithfulness jobs share two cores). Tokenizing (``text_prepare``)
is taken as measured in a run of that rule (``--prepare-s``).

    python benchmarks/text_speed.py --scale cpu --threads 1      # ~3 min on one CPU thread
    python benchmarks/text_speed.py --scale full --device cuda   # full size on a GPU (AMP on)
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from xairepro.config import load_config
from xairepro.context import RunContext
from xairepro.evaluation.faithfulness import faithfulness_curves
from xairepro.evaluation.sanity import single_unit_drops
from xairepro.experiments.text.masks import build_mask_net
from xairepro.experiments.text.settings import UNIT, explainer
from xairepro.models import build_model
from xairepro.training import TrainConfig, fit, predict
from xairepro.training.masks import train_mask_net

ROOT = Path(__file__).resolve().parents[1]
VOCAB = 20002
N_TRAIN_FULL = N_TEST_FULL = 25000


def reviews(n: int, max_len: int, vocab: int = VOCAB, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(np.log(175), 0.7, size=n).astype(int), 10, max_len)
    ids = torch.zeros(n, max_len, dtype=torch.long)
    for i, length in enumerate(lengths):
        ids[i, :length] = torch.from_numpy(rng.integers(2, vocab, size=length))
    return ids


def sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device):
    sync(device)
    t0 = time.perf_counter()
    out = fn()
    sync(device)
    return time.perf_counter() - t0, out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", default="cpu", choices=["quick", "cpu", "full"])
    ap.add_argument("--quick", action="store_true", help="same as --scale quick")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--n-train", type=int, default=None, help="reviews in the timed training epochs")
    ap.add_argument("--n-attr", type=int, default=8, help="reviews attributed per method")
    ap.add_argument("--prepare-s", type=float, default=60.0, help="measured text_prepare seconds at this scale")
    ap.add_argument("--max-batch", type=int, default=2048)
    args = ap.parse_args()
    scale = "quick" if args.quick else args.scale
    if args.threads:
        torch.set_num_threads(args.threads)
    cuda = torch.device(args.device).type == "cuda"
    cfg = load_config(ROOT / "config.yaml", {"scale": scale, "device": args.device})["text"]
    spec = dict(next(iter(cfg["models"].values())))
    arch = spec.pop("arch")
    data, train, att, mcfg, fcfg = cfg["data"], cfg["train"], cfg["attribution"], cfg["mask"], cfg["faithfulness"]
    max_len = int(data["max_len"])
    n_train = data["n_train"] or N_TRAIN_FULL
    n_test = data["n_test"] or N_TEST_FULL
    torch.manual_seed(0)
    model = build_model(arch, vocab_size=VOCAB, padding_idx=0, **spec).to(args.device)
    n_bench = args.n_train or (4096 if cuda else 512)
    x = reviews(n_bench, max_len)
    ds = torch.utils.data.TensorDataset(x, torch.randint(0, 2, (n_bench,)))
    tcfg = TrainConfig(task="multiclass", epochs=1, batch_size=int(train["batch_size"]), device=args.device, amp=cuda)
    fit(model, torch.utils.data.Subset(ds, range(min(64, n_bench))), cfg=tcfg, progress=lambda r: None)  # warm-up
    train_s, _ = timed(lambda: fit(model, ds, cfg=tcfg, progress=lambda r: None), args.device)
    model.eval()
    infer_s, _ = timed(lambda: predict(model, ds, 4 * int(train["batch_size"]), args.device), args.device)
    rates = {"train": n_bench / train_s, "infer": n_bench / infer_s}

    # masks: one epoch per reading on a slice, then the masked evaluation
    n_mask = max(64, n_bench // 4)
    head_spec = dict(mcfg["head"])
    head_arch = head_spec.pop("arch")
    mask_rates = {}
    for reading, pen in mcfg["readings"].items():
        head = build_model(head_arch, in_dim=2 * model.gru.hidden_size, **head_spec)
        net = build_mask_net(reading, model, head, entropy=pen["entropy"], sparsity=pen.get("sparsity", 0.0),
                             length=max_len).to(args.device)
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x[:n_mask]), batch_size=int(mcfg["batch_size"]))
        s, _ = timed(lambda: train_mask_net(net, loader, epochs=1, lr=1e-3, device=args.device, amp=cuda), args.device)
        mask_rates[reading] = n_mask / s
        with torch.no_grad():
            s, _ = timed(lambda: [net(x[i:i + 128].to(args.device)) for i in range(0, n_mask, 128)], args.device)
        rates[f"mask_eval_{reading}"] = n_mask / s
        mask_net = net
    model.eval()

    # attribution of every configured method (the faithfulness list is a superset)
    names = list(dict.fromkeys(list(att["methods"]) + list(fcfg["methods"])))
    xa = reviews(args.n_attr, max_len, seed=1)
    with torch.no_grad():
        classes = model(xa.to(args.device)).argmax(1).cpu()
    ctx = RunContext(seed=0, device=args.device, max_batch=args.max_batch)
    seconds = explainer(model, att, ctx=ctx, length=max_len, methods=names, mask_net=mask_net,
                        keep_grads=False).explain(xa, classes).seconds
    method_rates = {m: args.n_attr / s for m, s in seconds.items() if s > 0}
    steps = int(fcfg["steps"]) + 1
    reviews_list = list(xa)
    sc = [UNIT.scores_at_units(r, np.random.rand(max_len)) for r in reviews_list]
    s, _ = timed(lambda: faithfulness_curves(model, reviews_list, sc, UNIT, fractions=np.linspace(0, 1, steps),
                                             targets=classes.tolist(), max_batch=args.max_batch), args.device)
    rates["curve"] = args.n_attr / s
    s, _ = timed(lambda: single_unit_drops(model, reviews_list, UNIT, targets=classes.tolist()), args.device)
    rates["drops"] = args.n_attr / s

    dev = torch.cuda.get_device_name() if cuda else f"cpu, {torch.get_num_threads()} threads"
    print(f"scale {scale}: BiGRU({spec.get('hidden')}), embedding {spec.get('embed_dim', 100)}, vocabulary {VOCAB}, "
          f"reviews cut to {max_len} tokens, packed={spec.get('packed', False)}; {dev}")
    print(f"training {rates['train']:.1f} reviews/s (batch {train['batch_size']}, Adam, AMP={cuda}); inference "
          f"{rates['infer']:.0f} reviews/s")
    for reading, r in mask_rates.items():
        print(f"mask ({reading}) training {r:.1f} reviews/s; masked evaluation {rates[f'mask_eval_{reading}']:.0f} reviews/s")
    print("attribution, reviews/s: " + ", ".join(f"{m} {r:.2f}" for m, r in method_rates.items()))
    print(f"faithfulness curves (2 modes x {steps} steps) {rates['curve'] / 2:.1f} reviews/s per method and mode; "
          f"single-word drops {rates['drops']:.1f} reviews/s")

    # projection at this scale (one thread per job)
    epochs, n_att = int(train["epochs"]), int(att["n_reviews"])
    seeds, readings = int(mcfg["seeds"]), list(mcfg["readings"])
    m_train = min(mcfg.get("n_train") or n_train, n_train)
    m_test = min(mcfg.get("n_test") or n_test, n_test)
    m_epochs = int(mcfg["epochs"])
    attr_names = [m for m in att["methods"] if m in method_rates]
    fresh = [m for m in fcfg["methods"] if m in method_rates and m not in att["methods"]]
    applied = [m for m in fcfg["methods"] if m in method_rates]
    sanity = fcfg.get("sanity_steps", [])
    sanity_passes = 1 if sanity == "all" else (0 if sanity is None else (len(sanity) or 3))
    per_rule = {
        "text_prepare": args.prepare_s,
        "text_train": epochs * (n_train / rates["train"] + n_test / rates["infer"]) + n_test / rates["infer"],
        "text_attribute": sum(n_att / method_rates[m] for m in attr_names),
    }
    mask_one = {r: m_epochs * m_train / mask_rates[r] + m_test / rates[f"mask_eval_{r}"] + n_att * steps / rates["curve"]
                for r in readings}
    per_rule["text_mask (each job)"] = float(np.mean(list(mask_one.values())))
    masks_total = seeds * sum(mask_one.values())
    faith = (sum(n_att / method_rates[m] for m in fresh) + sanity_passes * sum(n_att / method_rates[m] for m in applied)
             + n_att * (len(applied) + 4 + len(readings)) / rates["curve"] + 2 * n_att / rates["drops"])
    per_rule["text_faithfulness"] = faith
    overhead = 10.0 * (4 + seeds * len(readings) + 3)  # python start, imports, loading the cache, per job
    one_thread = per_rule["text_prepare"] + per_rule["text_train"] + per_rule["text_attribute"] + masks_total + faith + overhead
    after_train = masks_total + per_rule["text_attribute"] + faith
    wall = per_rule["text_prepare"] + per_rule["text_train"] + max(after_train / 2, per_rule["text_attribute"] + faith) + overhead / 2
    print(f"\nprojected at scale {scale} ({n_train:,} training / {n_test:,} test reviews, {epochs} epochs; "
          f"{seeds} mask seeds x {len(readings)} readings on {m_train:,} reviews, {m_epochs} epoch(s); {n_att} attributed reviews):")
    for rule, s in per_rule.items():
        print(f"  {rule:24s} {s / 60:6.1f} min")
    print(f"  {'text_mask (all jobs)':24s} {masks_total / 60:6.1f} min")
    print(f"  total on one thread {one_thread / 60:.1f} min; wall on 2 cores (--cores 2) about {wall / 60:.1f} min")


if __name__ == "__main__":
    main()
