"""Saturation of the intermediate layers (counterfactuals Fig. 12, measured on the CIFAR-10 ResNet).

For each test image ``x`` and each ``alpha`` in [0, 1], the activations of every residual block
(and of the pooled feature vector) at the scaled image ``alpha * x`` are compared with those at
``x`` itself: the relative L2 distance ``||a(alpha x) - a(x)|| / ||a(x)||`` and the cosine distance
``1 - cos(a(alpha x), a(x))``. The paper finds that these curves flatten as alpha grows (most of the
change happens at small alpha). The summary reads, per block, the share of the whole change of the
relative distance that is done by ``alpha = share_alpha``: ``(d(0) - d(a)) / (d(0) - d(1))`` with
``d(1) = 0``. A block whose activations respond affinely to the scaling (a linear layer on the
normalised input) gives exactly ``share_alpha``; a saturating one more.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

__all__ = ["block_modules", "layer_distances", "layer_summary"]


def block_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` of every residual unit of the pre-activation ResNet, input side first
    (``stage1.0`` ... ``stage3.<n-1>``)."""
    out = []
    for stage in ("stage1", "stage2", "stage3"):
        seq = getattr(model, stage, None)
        if seq is None:
            raise ValueError(f"{type(model).__name__} has no {stage}: layer saturation reads a pre-activation ResNet")
        out += [(f"{stage}.{i}", unit) for i, unit in enumerate(seq)]
    return out


@torch.no_grad()
def layer_distances(model: nn.Module, x: torch.Tensor, alphas: Sequence[float], max_batch: int = 2048) -> pd.DataFrame:
    """Rows ``image, block, depth, alpha, rel_l2, cosine``: each block's distance between its
    activations at ``alpha * x`` and at ``x`` (``alphas`` must end at 1). ``depth`` orders the
    blocks from the input (0) to the pooled features (last)."""
    alphas = np.asarray(alphas, float)
    if not np.isclose(alphas[-1], 1.0):
        raise ValueError("alphas must end at 1 (the actual image)")
    model.eval()
    device = next(model.parameters()).device
    blocks = block_modules(model)
    names = [n for n, _ in blocks] + ["features"]
    a = torch.as_tensor(alphas, dtype=torch.float32, device=device)
    per_chunk = max(1, int(max_batch) // len(a))
    rows: list[dict] = []
    for start in range(0, len(x), per_chunk):
        xb = x[start:start + per_chunk].to(device)
        n = len(xb)
        got: dict[str, torch.Tensor] = {}

        def distances(out: torch.Tensor):
            act = out.float().reshape(n, len(a), -1)
            ref = act[:, -1:]
            rel = (act - ref).norm(dim=-1) / ref.norm(dim=-1).clamp_min(1e-12)
            cos = torch.nn.functional.cosine_similarity(act, ref.expand_as(act), dim=-1, eps=1e-12)
            return torch.stack([rel, 1.0 - cos]).cpu()  # (2, n, A)

        def hook(name):
            return lambda _m, _i, out: got.__setitem__(name, distances(out))

        handles = [m.register_forward_hook(hook(name)) for name, m in blocks]
        try:
            scaled = (a.view(1, -1, 1, 1, 1) * xb.unsqueeze(1)).flatten(0, 1)
            got["features"] = distances(model.features(scaled))
        finally:
            for h in handles:
                h.remove()
        for depth, name in enumerate(names):
            rel, cos = got[name].numpy()
            rows += [{"image": start + i, "block": name, "depth": depth, "alpha": float(al),
                      "rel_l2": float(rel[i, j]), "cosine": float(cos[i, j])}
                     for i in range(n) for j, al in enumerate(alphas)]
    return pd.DataFrame(rows)


def _at(g: pd.DataFrame, value: str, alpha: float) -> float:
    g = g.sort_values("alpha")
    return float(np.interp(alpha, g["alpha"].to_numpy(), g[value].to_numpy()))


def layer_summary(distances: pd.DataFrame, share_alpha: float = 0.5, cosine_alpha: float = 0.6) -> dict:
    """Per block (in depth order): the median over images of the share of the relative-distance
    change done by ``share_alpha`` and of the cosine distance at ``cosine_alpha``; the smallest
    block share; the deepest residual block's median cosine distance at ``cosine_alpha``."""
    per_image = []
    for (block, depth, image), g in distances.groupby(["block", "depth", "image"]):
        d0, dm = _at(g, "rel_l2", 0.0), _at(g, "rel_l2", share_alpha)
        per_image.append({"block": block, "depth": depth, "image": image,
                          "share": (d0 - dm) / d0 if d0 > 1e-12 else np.nan,
                          "cosine_at": _at(g, "cosine", cosine_alpha)})
    frame = pd.DataFrame(per_image)
    med = frame.groupby(["depth", "block"])[["share", "cosine_at"]].median().reset_index().sort_values("depth")
    blocks = [b for b in med["block"] if b != "features"]
    deepest = blocks[-1] if blocks else "features"
    return {"share_alpha": float(share_alpha), "cosine_alpha": float(cosine_alpha),
            "n_images": int(distances["image"].nunique()), "blocks": list(med["block"]),
            "block_share": dict(zip(med["block"], med["share"].astype(float))),
            "block_cosine": dict(zip(med["block"], med["cosine_at"].astype(float))),
            "min_block_share": float(med["share"].min()),
            "min_share_block": str(med.loc[med["share"].idxmin(), "block"]),
            "deepest_block": deepest,
            "deepest_cosine": float(med.set_index("block").loc[deepest, "cosine_at"])}
