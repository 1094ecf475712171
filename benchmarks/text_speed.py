"""Throughput of the IMDB BiGRU: reviews per second for training (one epoch of the project's
training loop) and for word integrated gradients (all path points of one review = one review).

Random weights and random reviews whose lengths follow IMDB's (log-normal around 230 tokens, cut
to --max-len, right-padded): speed does not depend on training. Sizes default to the paper's
(vocabulary 20,002, embedding 100, BiGRU 256, 500 tokens); --quick uses the quick scale's
(BiGRU 64, 200 tokens, unpacked).

    python benchmarks/text_speed.py --quick                     # ~1 min on 2 CPU cores
    python benchmarks/text_speed.py --device cuda               # full size on a GPU (AMP on)
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from xairepro.attribution import IntegratedGradients
from xairepro.models import build_model
from xairepro.training import TrainConfig, fit


def reviews(n: int, max_len: int, vocab: int, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(np.log(230), 0.7, size=n).astype(int), 10, max_len)
    ids = torch.zeros(n, max_len, dtype=torch.long)
    for i, length in enumerate(lengths):
        ids[i, :length] = torch.from_numpy(rng.integers(2, vocab, size=length))
    return ids


def sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--n-train", type=int, default=None, help="reviews in the timed epoch")
    ap.add_argument("--n-ig", type=int, default=None, help="reviews attributed with IG")
    ap.add_argument("--ig-steps", type=int, default=64)
    ap.add_argument("--chunk", type=int, default=8, help="reviews per IG call")
    ap.add_argument("--max-batch", type=int, default=2048)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cuda = torch.device(args.device).type == "cuda"
    hidden, max_len, packed = (64, 200, False) if args.quick else (256, 500, True)
    n_train = args.n_train or (256 if args.quick else (4096 if cuda else 128))
    n_ig = args.n_ig or (16 if args.quick else (256 if cuda else 8))
    vocab = 20002
    torch.manual_seed(0)
    model = build_model("bigru", vocab_size=vocab, embed_dim=100, hidden=hidden, word_dropout=0.4, packed=packed)
    x = reviews(n_train, max_len, vocab)
    data = torch.utils.data.TensorDataset(x, torch.randint(0, 2, (n_train,)))
    cfg = TrainConfig(task="multiclass", epochs=1, batch_size=32, device=args.device, amp=cuda)
    fit(model, torch.utils.data.Subset(data, range(min(64, n_train))), cfg=cfg, progress=lambda r: None)  # warm-up
    sync(args.device)
    t0 = time.perf_counter()
    fit(model, data, cfg=cfg, progress=lambda r: None)
    sync(args.device)
    train_s = time.perf_counter() - t0
    model.eval()
    ig = IntegratedGradients(model, model.embedding, n_steps=args.ig_steps, method="trapezoid", target=1,
                             max_batch=args.max_batch)
    xi = reviews(n_ig, max_len, vocab, seed=1).to(args.device)
    ig.compute(xi[:2])  # warm-up
    sync(args.device)
    t0 = time.perf_counter()
    errors = []
    for start in range(0, n_ig, args.chunk):
        path = ig.compute(xi[start:start + args.chunk]).path
        errors.append(path.rel_error.cpu())
    sync(args.device)
    ig_s = time.perf_counter() - t0
    dev = torch.cuda.get_device_name() if cuda else f"cpu, {torch.get_num_threads()} threads"
    print(f"BiGRU({hidden}), embedding 100, vocabulary {vocab}, reviews cut to {max_len} tokens, packed={packed}; {dev}")
    print(f"training: {n_train} reviews in {train_s:.1f} s = {n_train / train_s:.1f} reviews/s "
          f"(batch 32, Adam, AMP={cuda})")
    print(f"integrated gradients: {n_ig} reviews x {args.ig_steps} steps in {ig_s:.1f} s = {n_ig / ig_s:.2f} reviews/s "
          f"(chunks of {args.chunk}; median completeness error {float(torch.cat(errors).median()):.2%})")


if __name__ == "__main__":
    main()
