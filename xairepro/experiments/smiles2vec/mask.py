"""The SMILES2vec explanation mask network (section 3.3) and its training.

Input: the frozen model's character embeddings ``(B, T, E)``. A 1D convolution to ``hidden``
channels, then ``n_layers - 1`` residual convolutions (``h + SELU(conv(h))``, "same" padding), a
length-1 convolution to one channel, batch norm and softplus: one non-negative weight per
character, multiplied into that character's embedding across all channels (a hook on
``model.embedding``). The loss is the mean squared error of the masked prediction against the
fitting target plus L1 and L2 on the mask, summed over the characters of a molecule and averaged
over the batch (Keras' activity-regularizer convention). The fitting target (:data:`MASK_TARGETS`)
is ``prediction``, fidelity to the frozen model's own prediction
(:class:`~xairepro.attribution.ExplanationMaskNet`'s design, the mask the explanation studies read),
or ``labels``, the measured log S of the training molecules (the paper's masked RMSE 0.831 below
the unmasked 0.846 reads as a mask trained against the labels). A mask seed ``s`` trains with the
run seed plus ``s`` (seed 0 is the run's own mask). The softplus replaces the base class's sigmoid, so ``forward`` and ``loss`` are
overridden; the freezing, the eval-mode base model and the embedding hook are the base class's.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...attribution import ExplanationMaskNet
from ...context import RunContext, resolve_device
from ...training import train_mask_net
from .data import SmilesData
from .training import rmse
from ...safe_io import atomic_torch_save, safe_torch_load

__all__ = ["MASK_TARGETS", "SmilesMaskNet", "load_mask_net", "mask_seed_context", "mask_weights",
           "masked_predictions", "rewire_mask_net", "save_mask_net", "train_smiles2vec_mask"]

#: What a mask network is fitted to -> ``train_mask_net``'s ``target``.
MASK_TARGETS = {"prediction": "model", "labels": "labels"}


class SmilesMaskNet(ExplanationMaskNet):
    def __init__(self, model: nn.Module, hidden: int = 32, n_layers: int = 20, kernel_size: int = 3,
                 l1: float = 1e-3, l2: float = 1e-4):
        super().__init__(model, layer=model.embedding, task_loss="mse", sparsity=l1, entropy=0.0)
        if n_layers < 1:
            raise ValueError(f"smiles2vec mask: n_layers must be >= 1, got {n_layers}")
        dim = model.embedding.embedding_dim
        self.l2 = float(l2)
        self.first = nn.Conv1d(dim, hidden, kernel_size, padding="same")
        self.blocks = nn.ModuleList(nn.Conv1d(hidden, hidden, kernel_size, padding="same")
                                    for _ in range(n_layers - 1))
        self.final = nn.Conv1d(hidden, 1, 1)
        self.norm = nn.BatchNorm1d(1)

    def mask_logits(self, tokens):
        with torch.no_grad():
            emb = self.model.embedding(tokens.long())
        h = F.selu(self.first(emb.transpose(1, 2)))
        for conv in self.blocks:
            h = h + F.selu(conv(h))
        return self.norm(self.final(h)).transpose(1, 2)                 # (B, T, 1)

    def mask(self, tokens):
        return F.softplus(self.mask_logits(tokens))

    def forward(self, tokens):
        logits = self.mask_logits(tokens)
        mask = F.softplus(logits)
        # cuDNN's GRU refuses backward in eval mode; the frozen model stays in eval mode
        with torch.backends.cudnn.flags(enabled=False):
            out = self._masked_call(tokens, mask)
        return out, mask, logits

    def loss(self, tokens, labels=None):
        """MSE of the masked prediction against ``labels`` (the measured log S) or, without labels,
        against the frozen model's prediction; plus the L1 and L2 penalties on the mask."""
        out, mask, _ = self(tokens)
        if labels is None:
            with torch.no_grad():
                reference = self.model(tokens)
        else:
            reference = labels.to(out.dtype).view(out.shape)
        task = F.mse_loss(out, reference)
        l1 = mask.abs().sum((1, 2)).mean()
        l2 = mask.pow(2).sum((1, 2)).mean()
        total = task + self.sparsity * l1 + self.l2 * l2
        return total, {k: float(v.detach()) for k, v in (("task", task), ("l1", l1), ("l2", l2), ("total", total))}


def mask_seed_context(ctx: RunContext, seed: int) -> RunContext:
    """The context mask seed ``seed`` trains with: the run seed plus ``seed``."""
    return replace(ctx, seed=int(ctx.seed) + int(seed))


def train_smiles2vec_mask(model, data: SmilesData, split: str, spec: Mapping, *, ctx: RunContext,
                          target: str = "prediction") -> tuple[SmilesMaskNet, list[dict]]:
    """Build and train the mask network on the training molecules of ``split``, fitted to
    ``target`` (``prediction`` or ``labels``, :data:`MASK_TARGETS`)."""
    if target not in MASK_TARGETS:
        raise ValueError(f"smiles2vec mask: target must be one of {sorted(MASK_TARGETS)}, got {target!r}")
    torch.manual_seed(ctx.seed)
    net = SmilesMaskNet(model, hidden=int(spec["hidden"]), n_layers=int(spec["n_layers"]),
                        kernel_size=int(spec["kernel_size"]), l1=float(spec["l1"]), l2=float(spec["l2"]))
    ds = data.dataset(data.splits[split]["train"])
    loader = torch.utils.data.DataLoader(ds, batch_size=int(spec["batch_size"]), shuffle=True,
                                         generator=torch.Generator().manual_seed(ctx.seed))
    history = train_mask_net(net, loader, epochs=int(spec["epochs"]), lr=float(spec["lr"]),
                             device=str(ctx.torch_device), seed=ctx.seed, target=MASK_TARGETS[target])
    return net, history


@torch.no_grad()
def _batched(fn, tokens: np.ndarray, device, size: int = 256) -> np.ndarray:
    out = [fn(torch.as_tensor(tokens[i:i + size], device=device)).cpu() for i in range(0, len(tokens), size)]
    return torch.cat(out).numpy()


def mask_weights(net: SmilesMaskNet, tokens: np.ndarray, device) -> np.ndarray:
    """(N, T) mask weight of every character (eval mode: batch norm's running statistics)."""
    net.eval()
    return _batched(lambda t: net.mask(t)[..., 0], tokens, device)


def masked_predictions(net: SmilesMaskNet, data: SmilesData, split: str, device) -> dict:
    """RMSE of the masked and the unmasked model on each part of ``split``."""
    net.eval()
    out = {}
    for part, idx in data.splits[split].items():
        tokens = data.tokens[idx]
        masked = _batched(lambda t: net(t)[0], tokens, device)
        plain = _batched(net.model, tokens, device)
        out[f"{part}_masked_rmse"] = rmse(data.y[idx], masked)["rmse"]
        out[f"{part}_rmse"] = rmse(data.y[idx], plain)["rmse"]
        out[f"{part}_fidelity_rmse"] = rmse(plain, masked)["rmse"]
    return out


_NET_KEYS = ("hidden", "n_layers", "kernel_size", "l1", "l2")
#: State-dict prefixes of the frozen model (``layer`` is its embedding, registered a second time).
_FROZEN = ("model.", "layer.")


def rewire_mask_net(net: SmilesMaskNet, model: nn.Module) -> SmilesMaskNet:
    """The trained mask network ``net`` (its own weights) around another ``model`` of the same
    embedding size, say a randomised copy in the model-randomisation check: the mask then reads
    that model's embeddings, as it would if the copy were the model it explains."""
    if net.model is model:
        return net
    other = SmilesMaskNet(model, hidden=net.first.out_channels, n_layers=len(net.blocks) + 1,
                          kernel_size=net.first.kernel_size[0], l1=net.sparsity, l2=net.l2)
    own = {k: v for k, v in net.state_dict().items() if not k.startswith(_FROZEN)}  # not the frozen model's
    other.load_state_dict(own, strict=False)
    return other.to(next(net.final.parameters()).device).eval()


def save_mask_net(path, net: SmilesMaskNet, spec: Mapping) -> None:
    """The mask network's own weights (not the frozen model's) and its constructor settings."""
    state = {k: v.detach().cpu() for k, v in net.state_dict().items() if not k.startswith(_FROZEN)}
    atomic_torch_save({"spec": {k: spec[k] for k in _NET_KEYS}, "state_dict": state}, path)


def load_mask_net(path, model, device="cpu") -> SmilesMaskNet:
    """The mask network saved at ``path`` around ``model`` (frozen), on ``device`` (``auto`` resolves as
    the run context does), in eval mode."""
    ckpt = safe_torch_load(path, "mask-network checkpoint", "rerun the smiles2vec_mask rule")
    spec = ckpt["spec"]
    net = SmilesMaskNet(model, hidden=int(spec["hidden"]), n_layers=int(spec["n_layers"]),
                        kernel_size=int(spec["kernel_size"]), l1=float(spec["l1"]), l2=float(spec["l2"]))
    missing, unexpected = net.load_state_dict(ckpt["state_dict"], strict=False)
    if unexpected or any(not k.startswith(_FROZEN) for k in missing):
        raise ValueError(f"{path}: mask network weights do not match (missing {missing}, unexpected {unexpected})")
    return net.to(resolve_device(device)).eval()
