"""How fast is the batched attribution engine?  Attributions per second, per method.

An "attribution" is the finished map of one example (one molecule, image or
review) with all of its samples (M noise/dropout samples, or the IG path steps).
Columns:

ours     the batched engine (`xairepro.attribution`), M copies replicated into
         batches of at most --max-batch examples;
loop     one forward/backward per sample and per example, the way the reference
         implementations run (our engine with max_batch=1, so the arithmetic is
         identical); measured on the first --loop-examples examples and reported
         as a rate;
captum   captum's implementation where it has the method (Saliency,
         NoiseTunnel(Saliency) with nt_type smoothgrad, vargrad and smoothgrad_sq,
         GradientShap for expected gradients, IntegratedGradients; LayerIntegratedGradients
         and LayerGradientXActivation at the text embedding); "-" where it has none
         (MC dropout, weight noise, PyG batches);
floor    one plain batched forward + gradient at the attributed tensor over the same number
         of replicated inputs in the same chunks, with the replicated inputs
         built beforehand: the cost of the arithmetic alone (for BayesGrad and its MC-dropout
         relatives with the dropout modules on, as their samples need: a mask per sample).

Workloads: (1) GGNN (xairepro.models.gnn, else a toy GNN) on molecule-sized
random graphs (18 atoms on average), attributed at the atom embedding;
(2) ResNet-20 on random 32x32 images, at the input, with BayesGrad's relatives
(VarGrad, SmoothGrad², NoiseGrad, FusionGrad, BayesVarGrad) and expected gradients
(baselines from 16 random images); (3) the BiGRU(256) IMDB
model on random reviews, at the token embedding.  Random weights and inputs:
speed does not depend on training.  Each timing is the best of up to three
runs (two with --quick; runs over 5 s are not repeated) after a small warm-up; ours, captum's
and the floor run in turn, round after round, so a busy machine slows each alike.

    python benchmarks/attribution_speed.py --quick          # < 2 min on 2 CPU cores
    python benchmarks/attribution_speed.py --device cuda    # full sizes
    python benchmarks/attribution_speed.py --completeness   # IG rules: completeness vs steps

``--completeness`` prints, instead of the speed table, the median over examples of the
relative completeness error |sum of IG attributions - (F(x) - F(x'))| / |F(x) - F(x')|
for every integration rule and number of steps, on three small random networks with
saturating or kinked activations: an MLP with tanh and sigmoid, a CNN with ReLU and
max-pooling, and an LSTM; and the fewest steps that reach 1% per rule and model.
"""
from __future__ import annotations

import argparse
import time
from typing import Callable, Optional

import torch
from torch import nn

from xairepro.attribution import (BayesGrad, BayesVarGrad, ExpectedGradients, FusionGrad, IntegratedGradients, NoiseGrad,
                                  SmoothGrad, SmoothGradSquared, VanillaGrad, VarGrad, eval_mode, replicate)
from xairepro.attribution._utils.modes import mc_dropout
from xairepro.attribution._utils.batching import call_model, is_graph_batch, num_examples, split_inputs
from xairepro.attribution.integrated import DEFAULT_RULE, canonical_rule

#: the integration rules of the completeness table (IntegratedGradients' ``method=``)
RULES = tuple(canonical_rule(r) for r in
              ("gausslegendre", "riemann_middle", "riemann_left", "riemann_right", "trapezoid"))


# ----------------------------------------------------------------------------- helpers
def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


REPEATS = 3  # --quick uses 2


def timed(fn: Callable, device, repeats: Optional[int] = None, budget_s: float = 5.0) -> float:
    """Best of up to ``repeats`` runs; runs longer than ``budget_s`` are not repeated.

    The minimum is the least disturbed by other processes and by first-call
    allocator growth; a long run is its own warm-up."""
    best = float("inf")
    for i in range(repeats or REPEATS):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        dt = time.perf_counter() - t0
        best = min(best, dt)
        if dt > budget_s:
            break
    return best


def subset(inputs, n):
    if is_graph_batch(inputs):
        from torch_geometric.data import Batch
        return Batch.from_data_list(inputs.index_select(slice(0, n)))
    return inputs[:n]


def timed_together(fns: dict, device, repeats: Optional[int] = None, budget_s: float = 5.0) -> dict:
    """``{name: best seconds}`` of ``fns`` run in turn, round after round (ours, captum's and the floor
    alternate, so a busy machine slows each alike); a function whose runs take over ``budget_s`` is
    not repeated."""
    best = {k: float("inf") for k in fns}
    for i in range(repeats or REPEATS):
        for k, fn in fns.items():
            if i and best[k] > budget_s:
                continue
            _sync(device)
            t0 = time.perf_counter()
            fn()
            _sync(device)
            best[k] = min(best[k], time.perf_counter() - t0)
    return best


def floor_fn(model, inputs, layer, n_copies, max_batch, score_fn, device, *, dropout: bool = False) -> Callable:
    """Plain batched forward + autograd.grad at the input or at ``layer``'s output, same chunks as
    the engine; ``dropout``: with the dropout modules in train mode (Monte-Carlo dropout), the least
    work an MC-dropout method does (a mask per sample), where the plain floor runs in eval mode."""
    jobs = []
    for start, stop, piece in split_inputs(inputs, max_batch):
        per_pass = max(1, max_batch // (stop - start))
        built = {}
        for c0 in range(0, n_copies, per_pass):
            k = min(n_copies, c0 + per_pass) - c0
            if k not in built:
                built[k] = replicate(piece, k)
            jobs.append(built[k])

    rnn_cuda = any(isinstance(m, nn.RNNBase) for m in model.modules()) and \
        torch.device(device).type == "cuda"

    def run():
        with (mc_dropout(model) if dropout else eval_mode(model)), torch.enable_grad(), \
                torch.backends.cudnn.flags(enabled=not rnn_cuda):
            for rep in jobs:
                if layer is None:
                    leaf = rep.detach().requires_grad_(True)
                    out = model(leaf)
                else:
                    box = {}

                    def hook(m, a, o):
                        box["leaf"] = o.detach().requires_grad_(True)
                        return box["leaf"]
                    h = layer.register_forward_hook(hook)
                    out = call_model(model, rep)
                    h.remove()
                    leaf = box["leaf"]
                torch.autograd.grad(score_fn(out).sum(), leaf)

    return run


def fmt(rate: Optional[float]) -> str:
    if rate is None:
        return "-"
    return f"{rate:,.1f}" if rate < 100 else f"{rate:,.0f}"


# ----------------------------------------------------------------------------- workloads
def random_molecules(n, seed=0, mean_atoms=18):
    from torch_geometric.data import Batch, Data
    gen = torch.Generator().manual_seed(seed)
    elements = torch.tensor([6] * 14 + [7] * 3 + [8] * 3 + [9, 16, 17])
    graphs = []
    for _ in range(n):
        k = int(torch.randint(mean_atoms - 8, mean_atoms + 9, (1,), generator=gen))
        x = elements[torch.randint(0, len(elements), (k,), generator=gen)]
        src = torch.arange(k - 1)
        dst = src + 1
        if k >= 6:  # one six-ring
            src, dst = torch.cat([src, torch.tensor([0])]), torch.cat([dst, torch.tensor([5])])
        ei = torch.stack([torch.cat([src, dst]), torch.cat([dst, src])])
        bond = torch.randint(0, 4, (src.numel(),), generator=gen)
        graphs.append(Data(x=x, edge_index=ei, edge_attr=torch.cat([bond, bond])))
    return Batch.from_data_list(graphs)


def graph_model():
    try:
        from xairepro.models.gnn import GGNN
        return GGNN(n_atom_types=120, hidden_dim=16, n_layers=4, n_out=1, dropout=0.25), "GGNN"
    except Exception:  # pragma: no cover - before the GNN module existed
        class ToyGNN(nn.Module):
            def __init__(self):
                super().__init__()
                self.embedding = nn.Embedding(120, 16)
                self.lin = nn.Linear(16, 16)
                self.drop = nn.Dropout(0.25)
                self.out = nn.Linear(16, 1)

            def forward(self, b):
                h = self.embedding(b.x)
                s, d = b.edge_index
                h = torch.tanh(self.lin(h + torch.zeros_like(h).index_add(0, d, h[s])))
                g = torch.zeros(b.num_graphs, 16).index_add(0, b.batch, self.drop(h))
                return self.out(g).squeeze(-1)
        return ToyGNN(), "toy GNN"


#: the rows whose floor runs with dropout on: BayesGrad's samples are MC-dropout passes, so a mask per
#: sample is part of its least work (the plain floor, in eval mode, leaves it out)
MC_DROPOUT = ("BayesGrad", "BayesSmoothGrad", "BayesVarGrad")


def bench(name, model, inputs, layer, methods, captum_fns, args, score_fn):
    device = args.device
    n = num_examples(inputs)
    loop_inputs = subset(inputs, min(n, args.loop_examples))
    n_loop = num_examples(loop_inputs)
    rows = []
    for label, make, M, copies in methods:
        small = subset(inputs, min(n, 4))
        make(args.max_batch).compute(small, M=M)  # warm-up (kernels, caches)
        cap = captum_fns.get(label)
        fns = {"ours": lambda: make(args.max_batch).compute(inputs, M=M),
               "floor": floor_fn(model, inputs, layer, copies, args.max_batch, score_fn, device,
                                 dropout=label in MC_DROPOUT)}
        if cap is not None:
            cap(small)
            fns["captum"] = lambda: cap(inputs)
        best = timed_together(fns, device)
        t_ours, t_floor, t_cap = best["ours"], best["floor"], best.get("captum")
        t_loop = timed(lambda: make(1).compute(loop_inputs, M=M), device, repeats=2) \
            if args.loop_examples else None
        rows.append((name, label, M if label != "IG" else copies - 2,
                     n / t_ours, n_loop / t_loop if t_loop else None,
                     n / t_cap if t_cap else None, n / t_floor, t_ours))
        print(f"  {name:9s} {label:12s} done in {t_ours:.2f} s", flush=True)
    return rows


# ----------------------------------------------------------------------------- completeness
COMPLETENESS_STEPS = (4, 8, 16, 32, 64, 128, 256, 512)


def completeness_models(seed: int = 0):
    """(name, model, inputs) of the three networks of the completeness table (random weights)."""
    torch.manual_seed(seed)
    mlp = nn.Sequential(nn.Linear(10, 32), nn.Tanh(), nn.Linear(32, 32), nn.Sigmoid(),
                        nn.Linear(32, 1))
    x_mlp = 2.0 * torch.randn(16, 10)  # large inputs: the tanh and sigmoid units saturate

    cnn = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(16 * 4 * 4, 1))
    x_cnn = torch.rand(16, 3, 16, 16)

    class LSTMReg(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(8, 16, batch_first=True)
            self.out = nn.Linear(16, 1)

        def forward(self, x):
            h, _ = self.lstm(x)
            return self.out(h[:, -1])
    lstm = LSTMReg()
    x_lstm = 2.0 * torch.randn(16, 12, 8)
    return [("MLP tanh/sigmoid", mlp, x_mlp), ("CNN ReLU+maxpool", cnn, x_cnn),
            ("LSTM", lstm, x_lstm)]


def completeness_table(steps_grid=COMPLETENESS_STEPS, rules=RULES, tol: float = 0.01,
                       max_batch: int = 4096, seed: int = 0, out=print):
    """Median relative completeness error per (model, rule, steps); prints the table.

    Returns ``(errors, to_tol, best)``: ``errors[(model, rule)]`` the list of median errors
    over ``steps_grid``; ``to_tol[(model, rule)]`` the fewest steps of the grid reaching
    ``tol`` (None: not within the grid); ``best`` the rule whose worst case over the
    models needs the fewest steps (ties: the smaller total, then the smaller worst error
    at that number of steps).
    """
    models = completeness_models(seed)
    errors, to_tol = {}, {}
    for name, model, x in models:
        for rule in rules:
            row = []
            for steps in steps_grid:
                ig = IntegratedGradients(model, n_steps=steps, method=rule, keep_grads=False,
                                         max_batch=max_batch)
                res = ig.compute(x).path
                row.append(float(res.rel_error.double().median()))
            errors[(name, rule)] = row
            to_tol[(name, rule)] = next((s for s, e in zip(steps_grid, row) if e <= tol), None)
    big = 10 * max(steps_grid)

    def key(rule):
        need = [to_tol[(n, rule)] or big for n, _, _ in models]
        at = steps_grid.index(max(need)) if max(need) in steps_grid else -1
        return (max(need), sum(need), max(errors[(n, rule)][at] for n, _, _ in models))
    best = min(rules, key=key)
    head = f"{'model':17s} {'rule':15s} " + " ".join(f"{s:>7d}" for s in steps_grid) + \
        f" {'to ' + format(tol, '.0%'):>7s}"
    out("IG completeness: median relative error |sum attr - (F(x)-F(0))| / |F(x)-F(0)| "
        "over 16 examples, by steps")
    out(head)
    out("-" * len(head))
    for name, _, _ in models:
        for rule in rules:
            cells = " ".join(f"{100 * e:6.2f}%" for e in errors[(name, rule)])
            need = to_tol[(name, rule)]
            out(f"{name:17s} {rule:15s} {cells} {need if need else '>' + str(max(steps_grid)):>7}")
    out(f"fewest steps to {tol:.0%} on all three models: {best} (worst case {key(best)[0]} "
        f"steps, worst error there {100 * key(best)[2]:.2f}%); library default: {DEFAULT_RULE}")
    return errors, to_tol, best


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--quick", action="store_true", help="small sizes (< 2 min on 2 CPU cores)")
    p.add_argument("--max-batch", type=int, default=2048)
    p.add_argument("--loop-examples", type=int, default=None,
                   help="examples timed in the per-sample loop (rate extrapolated)")
    p.add_argument("--only", choices=["graph", "image", "text"], nargs="*")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--repeats", type=int, default=None, help="rounds of timing (default 3, 2 with --quick)")
    p.add_argument("--completeness", action="store_true",
                   help="print the IG completeness-versus-steps table per integration rule "
                        "(MLP, CNN, LSTM) instead of the speed table")
    args = p.parse_args(argv)
    if args.completeness:
        if args.threads:
            torch.set_num_threads(args.threads)
        return completeness_table()
    q = args.quick
    if args.threads:
        torch.set_num_threads(args.threads)
    global REPEATS
    if args.repeats:
        REPEATS = args.repeats
    elif q:
        REPEATS = 2
    if args.loop_examples is None:
        args.loop_examples = 2 if q else 4
    dev = torch.device(args.device)
    torch.manual_seed(0)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "CPU"
    print(f"device {dev} ({name}), torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"max_batch {args.max_batch}, {'quick' if q else 'full'} sizes", flush=True)
    only = set(args.only or ["graph", "image", "text"])
    rows = []

    # (1) graphs ------------------------------------------------------------------
    if "graph" in only:
        model, mname = graph_model()
        model.to(dev)
        n_mol, M = (100, 20) if q else (500, 100)
        steps = 16 if q else 50
        batch = random_molecules(n_mol).to(dev)
        emb = model.embedding

        def score(out):
            return out.reshape(out.shape[0], -1)[:, 0]
        kw = dict(layer=emb, output_fn=score)
        methods = [
            ("VanillaGrad", lambda mb: VanillaGrad(model, max_batch=mb, **kw), 1, 1),
            ("SmoothGrad", lambda mb: SmoothGrad(model, stdevs=0.15, max_batch=mb, **kw), M, M),
            ("BayesGrad", lambda mb: BayesGrad(model, max_batch=mb, **kw), M, M),
            ("IG", lambda mb: IntegratedGradients(model, n_steps=steps, method="riemann_middle",
                                                  max_batch=mb, **kw), 1, steps + 2),
        ]
        print(f"[1] {mname} on {n_mol} random molecules ({batch.num_nodes} atoms), M={M}",
              flush=True)
        rows += bench("graph", model, batch, emb, methods, {}, args, score)

    # (2) images ------------------------------------------------------------------
    if "image" in only:
        from xairepro.models.vision import resnet20
        model = resnet20(dropout=0.2).to(dev).eval()
        n_img, M = (32, 8) if q else (256, 30)
        steps = 16 if q else 50
        imgs = torch.rand(n_img, 3, 32, 32, device=dev)
        labels = model(imgs).argmax(1).detach()

        def score(out, labels=labels):
            return out.gather(1, labels.repeat(out.shape[0] // labels.shape[0]).view(-1, 1))[:, 0]
        kw = dict(target=labels)
        methods = [
            ("VanillaGrad", lambda mb: VanillaGrad(model, max_batch=mb, **kw), 1, 1),
            ("SmoothGrad", lambda mb: SmoothGrad(model, stdevs=0.15, noise_mode="relative",
                                                 max_batch=mb, **kw), M, M),
            ("BayesGrad", lambda mb: BayesGrad(model, max_batch=mb, **kw), M, M),
            ("IG", lambda mb: IntegratedGradients(model, n_steps=steps, method="riemann_middle",
                                                  max_batch=mb, **kw), 1, steps + 2),
            ("VarGrad", lambda mb: VarGrad(model, stdevs=0.15, max_batch=mb, **kw), M, M),
            ("SmoothGradSq", lambda mb: SmoothGradSquared(model, stdevs=0.15, max_batch=mb, **kw), M, M),
            ("ExpectedGrad", lambda mb: ExpectedGradients(model, background=background, max_batch=mb, **kw), M, M),
            ("NoiseGrad", lambda mb: NoiseGrad(model, weight_stdevs=0.2, max_batch=mb, **kw), M, M),
            ("FusionGrad", lambda mb: FusionGrad(model, weight_stdevs=0.2, stdevs=0.15, max_batch=mb, **kw), M, M),
            ("BayesVarGrad", lambda mb: BayesVarGrad(model, max_batch=mb, **kw), M, M),
        ]
        background = torch.rand(16, 3, 32, 32, device=dev)
        from captum.attr import GradientShap
        from captum.attr import IntegratedGradients as CIG
        from captum.attr import NoiseTunnel, Saliency

        def tunnel(nt_type):
            return lambda x: NoiseTunnel(Saliency(model)).attribute(
                x, nt_type=nt_type, nt_samples=M, stdevs=0.15, target=lab(x), abs=False,
                nt_samples_batch_size=max(1, args.max_batch // x.shape[0]))

        def lab(x):
            return labels[: x.shape[0]]
        captum_fns = {
            "VanillaGrad": lambda x: Saliency(model).attribute(x, target=lab(x), abs=False),
            "SmoothGrad": tunnel("smoothgrad"),
            "VarGrad": tunnel("vargrad"),
            "SmoothGradSq": tunnel("smoothgrad_sq"),
            "ExpectedGrad": lambda x: GradientShap(model).attribute(x, baselines=background, n_samples=M,
                                                                    stdevs=0.0, target=lab(x)),
            "IG": lambda x: CIG(model).attribute(
                x, target=lab(x), n_steps=steps, method="riemann_middle",
                internal_batch_size=args.max_batch),
        }
        print(f"[2] ResNet-20 on {n_img} random 32x32 images, M={M}, IG {steps} steps", flush=True)
        rows += bench("image", model, imgs, None, methods, captum_fns, args, score)

    # (3) text --------------------------------------------------------------------
    if "text" in only:
        from xairepro.models.text import BiGRUClassifier
        n_rev, length, M = (8, 100, 4) if q else (64, 500, 30)
        steps = 8 if q else 50
        model = BiGRUClassifier(20000, 100, 256, dropout=0.3, word_dropout=0.4).to(dev).eval()
        tokens = torch.randint(1, 20000, (n_rev, length), device=dev)

        def score(out):
            return out[:, 1]
        kw = dict(layer=model.embedding, target=1)
        methods = [
            ("VanillaGrad", lambda mb: VanillaGrad(model, max_batch=mb, **kw), 1, 1),
            ("SmoothGrad", lambda mb: SmoothGrad(model, stdevs=0.15, max_batch=mb, **kw), M, M),
            ("BayesGrad", lambda mb: BayesGrad(model, max_batch=mb, **kw), M, M),
            ("IG", lambda mb: IntegratedGradients(model, n_steps=steps, method="riemann_middle",
                                                  max_batch=mb, **kw), 1, steps + 2),
        ]
        from captum.attr import LayerGradientXActivation, LayerIntegratedGradients
        rnn_cuda = dev.type == "cuda"

        def with_flags(fn):
            def run(x):
                with torch.backends.cudnn.flags(enabled=not rnn_cuda):
                    return fn(x)
            return run
        captum_fns = {
            "VanillaGrad": with_flags(lambda x: LayerGradientXActivation(
                model, model.embedding, multiply_by_inputs=False).attribute(x, target=1)),
            "IG": with_flags(lambda x: LayerIntegratedGradients(model, model.embedding).attribute(
                x, baselines=torch.zeros_like(x), target=1, n_steps=steps,
                method="riemann_middle", internal_batch_size=args.max_batch)),
        }
        print(f"[3] BiGRU(256) on {n_rev} random reviews of length {length}, M={M}, "
              f"IG {steps} steps", flush=True)
        rows += bench("text", model, tokens, model.embedding, methods, captum_fns, args, score)

    # table -------------------------------------------------------------------------
    head = (f"{'workload':9s} {'method':12s} {'M/steps':>7s} {'ours':>10s} {'loop':>10s} "
            f"{'captum':>10s} {'floor':>10s} {'ours/loop':>9s} {'ours/floor':>10s}")
    print("\nattributions per second (examples explained per second, all samples included)")
    print(head)
    print("-" * len(head))
    for name, label, m, ours, loop, cap, floor, _ in rows:
        ratio = f"{ours / loop:,.0f}x" if loop else "-"
        print(f"{name:9s} {label:12s} {m:>7d} {fmt(ours):>10s} {fmt(loop):>10s} {fmt(cap):>10s} "
              f"{fmt(floor):>10s} {ratio:>9s} {ours / floor:>9.2f}x")
    return rows


if __name__ == "__main__":
    main()
