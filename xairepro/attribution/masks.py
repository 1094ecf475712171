"""Learned explanation masks (Phillips, Goh & Hodas, "Explanatory masks").

A second network looks at the input (or at features of the frozen model) and
emits a mask in [0, 1] that is multiplied into the input or into a hooked target
(the token or SMILES-character embeddings, applied equally across the embedding
channels).  The frozen model then predicts from the masked input.  Training the
mask network only (the model's weights are frozen and it stays in eval mode, so
batch-norm statistics and dropout do not move) trades

* fidelity: the masked prediction must match the frozen model's own prediction
  on the unmasked input (the explanation is of the *model*, not of the labels),
* size: the mean mask value (sparsity weight), and
* decisiveness: the binary entropy of the mask (entropy weight), which the paper
  uses for its text model to push mask values to 0 or 1.

A subclass supplies :meth:`ExplanationMaskNet.mask_logits`; the mask network is trained by the
project's one training loop (:func:`xairepro.training.train_mask_net`). A trained one explains
like any other method through :class:`ExplanationMask`, registered as ``explanation_mask``: its
attribution is the mask weight of each element.
"""
from __future__ import annotations

import copy
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._utils.batching import as_tuple, call_model, first_tensor, is_graph_batch
from ._utils.hooks import LAYER_IO, replace_layer
from .core import Attribution, Call, Result
from .registry import register_method

__all__ = ["ExplanationMask", "ExplanationMaskNet"]


class ExplanationMaskNet(nn.Module):
    """Base class: a mask network around a frozen model.

    model
        the pre-trained network; its parameters get ``requires_grad=False`` and it is kept in eval
        mode whatever ``train()`` is called on this module.
    layer, layer_io
        ``None``: mask the first input tensor (``batch.x`` for graphs); a module: mask its output (or
        first input). ``mask_logits`` returns a tensor broadcastable to that tensor, e.g. ``(B, T, 1)``
        for token embeddings.
    task_loss
        ``"mse"`` (regression), ``"bce"`` (one logit per output, soft targets sigmoid(reference)),
        ``"ce"`` (class logits, soft targets softmax(reference)), or a callable ``(masked_output,
        reference_output)``.
    sparsity, entropy
        weights of the mean mask value and of its mean binary entropy.
    """

    def __init__(self, model: nn.Module, layer: Optional[nn.Module] = None, layer_io: str = "output",
                 task_loss="mse", sparsity: float = 1e-3, entropy: float = 0.0):
        super().__init__()
        if layer is not None and not isinstance(layer, nn.Module):
            raise TypeError("ExplanationMaskNet: layer= takes the masked nn.Module")
        if layer_io not in LAYER_IO:
            raise ValueError(f"layer_io must be one of {LAYER_IO}, got {layer_io!r}")
        self.model = model
        for p in model.parameters():
            p.requires_grad_(False)
        model.eval()
        self.layer, self.layer_io = layer, layer_io
        self.task_loss, self.sparsity, self.entropy = task_loss, float(sparsity), float(entropy)

    def train(self, mode: bool = True):
        super().train(mode)
        self.model.eval()  # the explained model never changes mode
        return self

    # -- to implement ----------------------------------------------------------
    def mask_logits(self, inputs) -> Tensor:
        raise NotImplementedError

    # -- mask application ------------------------------------------------------
    def mask(self, inputs) -> Tensor:
        return torch.sigmoid(self.mask_logits(inputs))

    def _masked_call(self, inputs, mask: Tensor):
        if self.layer is not None:
            with replace_layer(self.layer, lambda value: value * mask, self.layer_io):
                return call_model(self.model, inputs)
        if is_graph_batch(inputs):
            b = copy.copy(inputs)
            b.x = inputs.x * mask
            return call_model(self.model, b)
        if isinstance(inputs, Tensor):
            return self.model(inputs * mask)
        items = list(as_tuple(inputs))
        i, v = first_tensor(items)
        items[i] = v * mask
        return self.model(*items)

    def _reference_loss(self, out, reference):
        if callable(self.task_loss):
            return self.task_loss(out, reference)
        if self.task_loss == "mse":
            return F.mse_loss(out, reference)
        if self.task_loss == "bce":
            return F.binary_cross_entropy_with_logits(out, torch.sigmoid(reference))
        if self.task_loss == "ce":
            return F.cross_entropy(out, torch.softmax(reference, -1))
        raise ValueError("task_loss must be 'mse', 'bce', 'ce' or a callable")

    def _label_loss(self, out, labels):
        if callable(self.task_loss):
            return self.task_loss(out, labels)
        if self.task_loss == "mse":
            return F.mse_loss(out, labels.to(out.dtype).view(out.shape))
        if self.task_loss == "bce":
            return F.binary_cross_entropy_with_logits(out, labels.to(out.dtype).view(out.shape))
        if self.task_loss == "ce":
            return F.cross_entropy(out, labels.long().view(-1))
        raise ValueError("task_loss must be 'mse', 'bce', 'ce' or a callable")

    def forward(self, inputs):
        """``(masked model output, mask, mask logits)``."""
        logits = self.mask_logits(inputs)
        mask = torch.sigmoid(logits)
        return self._masked_call(inputs, mask), mask, logits

    def loss(self, inputs, labels: Optional[Tensor] = None) -> tuple[Tensor, dict]:
        """Mask network loss. Without ``labels`` the task term asks the masked prediction to match the
        frozen model's own prediction (an explanation of the model); with ``labels`` it is the task
        loss against the labels (the masked input must still predict the truth), as the
        explanatory-masks paper trains its mask networks."""
        out, mask, logits = self(inputs)
        if labels is not None:
            task = self._label_loss(out, labels)
        else:
            with torch.no_grad():
                reference = call_model(self.model, inputs)
            task = self._reference_loss(out, reference)
        size = mask.mean()
        # binary entropy from the logits, stable where the mask saturates
        ent = (mask * F.softplus(-logits) + (1 - mask) * F.softplus(logits)).mean()
        total = task + self.sparsity * size + self.entropy * ent
        parts = {"task": task, "mask_mean": size, "entropy": ent, "total": total}
        return total, {k: float(v.detach()) for k, v in parts.items()}


@register_method("explanation_mask")
class ExplanationMask(Attribution):
    """The weights of a trained :class:`ExplanationMaskNet` as an attribution: one sample, the mask as
    the mask network emits it, of a shape that broadcasts to the tensor it multiplies (one weight per
    word or character, ``(B, T, 1)``; one per pixel, ``(B, 1, H, W)``), so a unit's score is its weight.

    mask_net
        the trained mask network for this model (``create_method`` finds it in the experiment's
        settings; without one the method does not apply).
    """

    def __init__(self, model, layer=None, *, mask_net: ExplanationMaskNet, **kwargs):
        super().__init__(model, layer, **kwargs)
        if not isinstance(mask_net, ExplanationMaskNet):
            raise TypeError(f"mask_net= takes a trained ExplanationMaskNet, got {type(mask_net).__name__}")
        self.mask_net = mask_net
        self.options.update(mask_net=type(mask_net).__name__)

    @classmethod
    def applicable(cls, model, settings):
        if settings.get("mask_net") is None:
            return "no explanation mask network is trained for this model"
        return None

    def _attribute(self, model, call: Call, inputs, M: int, seed) -> Result:
        net = self.mask_net.eval()
        with torch.no_grad():
            mask = net.mask(inputs).float()
            output = call.score_fn(call_model(net.model, inputs), 0, len(mask), 1).float()
        return Result(mask.unsqueeze(0), output.unsqueeze(0))
