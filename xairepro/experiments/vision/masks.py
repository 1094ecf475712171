"""Explanation masks on CIFAR-10 (Phillips, Goh & Hodas, section 3.1).

The frozen classifier's pooled feature vector (256 numbers for ResNet-164, 64 for ResNet-20) is
reshaped to a square map and passed through two blocks of 2D convolutions with tanh (the first
and last activations of a block summed, a residual connection), the first block's output
upsampled to the image size; a 1x1 convolution with a sigmoid gives the mask, which multiplies all
three colour channels. The mask network is trained, the classifier frozen, on the cross-entropy of
the masked image's prediction against the classifier's own prediction on the unmasked image, plus
an L2 penalty on the mask (1e-4 in the paper: the squared mask values summed over the pixels of
the batch, as a Keras activity regularizer adds them).
"""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...attribution import ExplanationMaskNet
from ...context import RunContext
from ...training import seed_everything, train_mask_net
from .data import TensorBatches, test_images, to_float
from ...safe_io import atomic_torch_save, safe_torch_load

__all__ = ["CifarMaskNet", "load_mask_net", "mask_metrics", "rewire_mask_net", "run_mask", "save_mask_net",
           "train_vision_mask"]


class TanhBlock(nn.Module):
    """``n`` padded 3x3 convolutions with tanh; the first and the last activations are summed."""

    def __init__(self, in_ch: int, width: int, n: int = 4):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(in_ch if i == 0 else width, width, 3, padding=1) for i in range(n)])

    def forward(self, x):
        first = h = torch.tanh(self.convs[0](x))
        for conv in self.convs[1:]:
            h = torch.tanh(conv(h))
        return first + h


class CifarMaskNet(ExplanationMaskNet):
    """The paper's mask network around a frozen model that exposes ``features(x)``."""

    def __init__(self, model: nn.Module, width: int = 64, n_convs: int = 4, l2: float = 1e-4,
                 image_size: int = 32):
        super().__init__(model, task_loss="ce", sparsity=0.0)
        d = int(model.n_features)
        self.side = math.isqrt(d)
        if self.side * self.side != d:
            raise ValueError(f"the feature vector ({d}) cannot be reshaped to a square map")
        self.width, self.n_convs, self.l2, self.image_size = width, n_convs, float(l2), image_size
        self.block1 = TanhBlock(1, width, n_convs)
        self.block2 = TanhBlock(width, width, n_convs)
        self.head = nn.Conv2d(width, 1, 1)

    def _logits_from_features(self, feats, size):
        h = self.block1(feats.float().view(-1, 1, self.side, self.side))
        h = F.interpolate(h, size=size, mode="bilinear", align_corners=False)
        return self.head(self.block2(h))

    def mask_logits(self, x):
        with torch.no_grad():
            feats = self.model.features(x)
        return self._logits_from_features(feats, x.shape[-2:])

    def loss(self, inputs):
        """Cross-entropy of the masked prediction against the frozen model's class on the unmasked
        image, plus ``l2`` times the sum of squared mask values over the batch (the Keras activity
        regularizer the paper's l2 = 1e-4 refers to sums over the batch, not a mean)."""
        with torch.no_grad():
            feats = self.model.features(inputs)
            target = self.model.fc(feats).argmax(1)
        mask = torch.sigmoid(self._logits_from_features(feats, inputs.shape[-2:]))
        out = self.model(inputs * mask)
        task = F.cross_entropy(out.float(), target)
        penalty = mask.float().pow(2).sum()
        total = task + self.l2 * penalty
        return total, {"task": float(task.detach()), "l2": float(penalty.detach()),
                       "total": float(total.detach())}

    def trainable_state(self) -> dict:
        return {k: v.detach().cpu() for k, v in self.state_dict().items() if not k.startswith("model.")}


def save_mask_net(path, net: CifarMaskNet, extra: dict | None = None) -> None:
    atomic_torch_save({"state_dict": net.trainable_state(),
                "kwargs": {"width": net.width, "n_convs": net.n_convs, "l2": net.l2, "image_size": net.image_size},
                "extra": extra or {}}, path)


def load_mask_net(path, model: nn.Module, device="cpu") -> CifarMaskNet:
    """The mask network of ``path`` around the (frozen) classifier ``model`` it was trained on."""
    ckpt = safe_torch_load(path, "mask-network checkpoint", "rerun the vision_mask rule")
    net = CifarMaskNet(model, **ckpt["kwargs"])
    missing, unexpected = net.load_state_dict(ckpt["state_dict"], strict=False)
    if unexpected or any(not k.startswith("model.") for k in missing):
        raise ValueError(f"{path}: mask network weights do not match (missing {missing}, unexpected {unexpected})")
    return net.to(device).eval()


def rewire_mask_net(net: CifarMaskNet, model: nn.Module) -> CifarMaskNet:
    """The trained mask network ``net`` (its own weights) around another ``model`` of the same
    feature size, say a randomised copy of the classifier in the model-randomisation check: the mask
    then follows that model's features, as it would if the copy were the model it explains. Freezes
    ``model``'s parameters, as every mask network does."""
    other = CifarMaskNet(model, width=net.width, n_convs=net.n_convs, l2=net.l2, image_size=net.image_size)
    other.load_state_dict(net.trainable_state(), strict=False)
    device = next(net.head.parameters()).device
    return other.to(device).eval()


@torch.no_grad()
def mask_metrics(net: CifarMaskNet, x_uint8: torch.Tensor, y: torch.Tensor, batch_size: int = 250) -> dict:
    """Accuracy with and without the mask, agreement of the masked with the unmasked prediction,
    and the mask's sparsity (mean value, share of pixels below 0.5 and below 0.1)."""
    device = next(net.head.parameters()).device
    net.eval()
    hits = {"plain": 0, "masked": 0, "agree": 0}
    m_sum = below5 = below1 = 0.0
    n_pix = 0
    for i in range(0, len(y), batch_size):
        xb, yb = to_float(x_uint8[i:i + batch_size].to(device)), y[i:i + batch_size].to(device)
        plain = net.model(xb).argmax(1)
        out, mask, _ = net(xb)
        masked = out.argmax(1)
        hits["plain"] += int((plain == yb).sum())
        hits["masked"] += int((masked == yb).sum())
        hits["agree"] += int((masked == plain).sum())
        m_sum += float(mask.sum())
        below5 += float((mask < 0.5).sum())
        below1 += float((mask < 0.1).sum())
        n_pix += mask.numel()
    n = len(y)
    return {"test_accuracy": hits["plain"] / n, "masked_accuracy": hits["masked"] / n,
            "agreement": hits["agree"] / n, "mask_mean": m_sum / n_pix, "share_below_0.5": below5 / n_pix,
            "share_below_0.1": below1 / n_pix, "n_test": n}


def train_vision_mask(model: nn.Module, data: Mapping, cfg: Mapping, *, ctx: RunContext, checkpoint=None,
                      progress=None) -> dict:
    """Train the mask network of the frozen ``model`` with the project's one loop; ``ctx.seed`` is
    the mask seed (initialisation and batch order; the classifier is fixed).

    ``cfg`` keys: ``width``, ``n_convs``, ``l2``, ``epochs``, ``batch_size``, ``lr`` (Adam),
    ``n_train`` (first training images used; null: all), ``n_examples`` (test images kept for the
    figure). Returns the network, the per-epoch history,
    the test metrics and the example images with their masks.
    """
    device = ctx.torch_device
    seed_everything(ctx.seed)  # the mask network's initialization is part of the seeded run
    net = CifarMaskNet(model.to(device), width=int(cfg["width"]), n_convs=int(cfg["n_convs"]), l2=float(cfg["l2"]))
    n = cfg.get("n_train") or len(data["y_train"])
    step = max(1, len(data["y_train"]) // int(n))  # spread over the class-ordered training split
    loader = TensorBatches(data["x_train"][::step][:n], data["y_train"][::step][:n], int(cfg["batch_size"]),
                           device, shuffle=True)
    history = train_mask_net(net, loader, epochs=int(cfg["epochs"]), lr=float(cfg["lr"]), device=device,
                             seed=ctx.seed, checkpoint=None if checkpoint is None else str(checkpoint),
                             amp=device.type == "cuda")
    metrics = dict(mask_metrics(net, data["x_test"], data["y_test"]), seed=int(ctx.seed))
    x, y = test_images(data, int(cfg["n_examples"]))
    with torch.no_grad():
        out, mask, _ = net(x.to(device))
    examples = {"images": x.numpy(), "labels": y.numpy(), "masks": mask[:, 0].cpu().numpy(),
                "masked_pred": out.argmax(1).cpu().numpy(),
                "pred": net.model(x.to(device)).argmax(1).cpu().numpy()}
    return {"net": net, "history": history, "metrics": metrics,
            "examples": {k: np.asarray(v) for k, v in examples.items()}}


def run_mask(cache_path, classifier_path, cfg: Mapping, mask_path, *, ctx: RunContext, progress=None) -> dict:
    """Train the mask network of the saved classifier on the cached data and write it to
    ``mask_path``; an interrupted job resumes from the per-epoch checkpoint beside it."""
    import hashlib
    import json
    from pathlib import Path

    from ...training import load_checkpoint
    from .data import load_cached

    data = load_cached(cache_path)
    model, _ = load_checkpoint(classifier_path, ctx.torch_device)
    key = hashlib.sha1(json.dumps({"cfg": dict(cfg), "seed": ctx.seed, "model": str(classifier_path),
                                   "n": int(len(data["y_train"]))}, sort_keys=True).encode()).hexdigest()[:12]
    ckpt = Path(mask_path).parent / f"mask-checkpoint-{key}.pt"
    out = train_vision_mask(model, data, cfg, ctx=ctx, checkpoint=ckpt, progress=progress)
    save_mask_net(mask_path, out["net"], extra={"metrics": out["metrics"]})
    ckpt.unlink(missing_ok=True)
    return out
