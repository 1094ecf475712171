"""What the CIFAR-10 studies explain with: the pixel unit, the settings every method is built from,
and the :class:`~xairepro.experiments.explainer.Explainer` of a configured method list.

The studies name canonical methods in config (``aopc.methods``, ``aopc.dropout_methods``,
``saliency.methods``) and never branch on a name: each method takes the settings it accepts
(:func:`xairepro.attribution.create_method`). What the settings say, for images:

* ``baselines`` 0.0, the black image (the networks normalize their [0, 1] input inside);
* SmoothGrad and BayesSmoothGrad: ``stdevs`` (``method_options.<method>.stdevs``) a fraction of each
  image's value range (``noise_mode="relative"``, SmoothGrad's scaling);
* integrated gradients: the trapezoid rule (``method_options.integrated_gradients.n_steps`` points);
* the explanation mask: the trained mask network of the explained model (when there is one),
  rewired to a randomised copy's features when the copy is explained;
* Shapley sampling's chimera estimator: ``background`` training images (:func:`background_images`).

Everything else is a method option of ``vision.attribution.method_options`` (captum's names):
occlusion's ``sliding_window_shapes``/``strides`` (lists, ``(C, h, w)``), Shapley sampling's
``estimator`` and ``feature_mask``. A ``feature_mask`` given in the config as an integer ``p`` means
square ``p`` x ``p`` patches of the image (:func:`square_patches`), the id tensor a config cannot
hold; the random floor's number of orders is its ``M``.
"""
from __future__ import annotations

from typing import Mapping, Optional, Sequence

import torch

from ...attribution import SoftmaxScore
from ...context import RunContext
from ...data.loaders import CIFAR10_CLASSES
from ...evaluation.operators import bind_operators
from ...evaluation.units import PixelUnit, Unit
from ..examples import example_labels, study_section
from ..explainer import Explainer
from .data import to_float
from .masks import CifarMaskNet, rewire_mask_net

__all__ = ["EXAMPLE_SECTION", "IMAGE_SHAPE", "OPERATORS", "TASK", "UNIT", "background_images", "cam_layer",
           "example_dataset", "example_explainer", "example_inputs", "example_mask_net", "example_model_kwargs",
           "example_section", "example_targets", "explainer", "image_options", "mean_colour", "operator_units",
           "settings", "square_patches"]

#: the unit of the faithfulness protocol: a pixel (all channels) set to the black baseline
UNIT = PixelUnit(baseline=0.0)
#: CIFAR-10 images, (C, H, W) floats in [0, 1]
IMAGE_SHAPE = (3, 32, 32)
#: the removal operators of a pixel (:mod:`xairepro.evaluation.operators`): black, the training mean
#: colour, the Gaussian-blurred image, ROAD's noisy linear imputation (in distribution)
OPERATORS = ("baseline", "mean_colour", "blur", "road")


def mean_colour(data: Mapping, chunk: int = 4096) -> torch.Tensor:
    """The mean colour ``(3,)`` of the cache's training images (float [0, 1])."""
    x = data["x_train"]
    if not len(x):
        raise ValueError("vision: the cache holds no training image")
    total = sum(to_float(x[i:i + chunk]).double().sum((0, 2, 3)) for i in range(0, len(x), chunk))
    return (total / (len(x) * x.shape[2] * x.shape[3])).float()


def operator_units(data: Mapping, cfg: Mapping, *, seed: int = 0) -> dict[str, Unit]:
    """``{operator: pixel unit}`` of ``vision.aopc.operators`` (``cfg``: that section; default
    :data:`OPERATORS`), :data:`UNIT` as ``baseline``; the mean colour is the cache's training images'
    (the colour ROAD gives an image with every pixel removed), ``seed`` ROAD's noise."""
    names = list(cfg.get("operators") or OPERATORS)
    statistics = {"seed": int(seed)}
    if {"mean_colour", "road"} & set(names):
        statistics["mean_colour"] = mean_colour(data)
    return bind_operators(UNIT, names, statistics, key="vision.aopc.operators")


def square_patches(height: int, width: int, size: int) -> torch.Tensor:
    """``(height, width)`` integer ids of ``size`` x ``size`` patches, row-major (border patches
    cropped), shared by the channels: Shapley's players."""
    if int(size) < 1:
        raise ValueError(f"a feature_mask patch size must be >= 1, got {size}")
    per_row = -(-int(width) // int(size))
    rows = torch.arange(int(height)) // int(size)
    cols = torch.arange(int(width)) // int(size)
    return rows.view(-1, 1) * per_row + cols.view(1, -1)


def background_images(data: Mapping, n: int) -> Optional[torch.Tensor]:
    """``n`` training images spread over the class-ordered training split (float [0, 1]), the
    chimera Shapley estimator's background; ``None`` when ``n`` is 0."""
    if not n:
        return None
    total = len(data["y_train"])
    step = max(1, total // int(n))
    return to_float(data["x_train"][::step][:int(n)])


def settings(model, cfg: Mapping, *, max_batch: int, mask_net=None, background: Optional[torch.Tensor] = None) -> dict:
    """The settings every method takes what it accepts from (``model`` and ``cfg`` are not read: an
    image's settings do not depend on the network, and every configured option is a method option).
    ``mask_net``: the mask network of ``model`` itself; ``background``: Shapley's chimera background."""
    return {"baselines": 0.0, "max_batch": int(max_batch), "noise_mode": "relative", "method": "trapezoid",
            "keep_grads": False, "mask_net": mask_net, "background": background, "cam_layer": cam_layer(model)}


def cam_layer(model) -> Optional[torch.nn.Module]:
    """Grad-CAM's feature maps: the network's last residual stage (ResNet-20's ``layer3``, the
    pre-activation ResNet's ``stage3``: 8 x 8 maps); ``None`` (the last convolution) for another network."""
    stages = [getattr(model, name, None) for name in ("layer3", "stage3")]
    return next((s for s in stages if isinstance(s, torch.nn.Module)), None)


def image_options(method_options: Optional[Mapping], image_shape: Sequence[int] = IMAGE_SHAPE) -> dict:
    """``method_options`` with every integer ``feature_mask`` turned into square patches of that size
    (:func:`square_patches` over the image's height and width)."""
    _, h, w = (int(v) for v in image_shape)
    out = {}
    for name, options in dict(method_options or {}).items():
        options = dict(options or {})
        if isinstance(options.get("feature_mask"), int) and not isinstance(options["feature_mask"], bool):
            options["feature_mask"] = square_patches(h, w, options["feature_mask"])
        out[name] = options
    return out


def explainer(model, cfg: Mapping, *, ctx: RunContext, methods: Sequence[str], mask_net=None,
              background: Optional[torch.Tensor] = None, score=SoftmaxScore,
              image_shape: Sequence[int] = IMAGE_SHAPE, aggregation: str = "raw") -> Explainer:
    """The explainer of ``methods`` on ``model`` from a vision study's config (``mc_samples`` the
    sampling methods' M, ``method_options``), explaining ``score(model)`` (the softmax probability
    by default), all images in one call drawing with ``ctx.seed``.

    ``mask_net`` was trained around ``model``: on another model (a randomised copy in the sanity
    check) the same trained network is rewired to that model's features, as it would read them if
    the copy were the model it explains."""
    trained = model

    def bound(m):
        net = mask_net if mask_net is None or m is trained else rewire_mask_net(mask_net, m)
        return settings(m, cfg, max_batch=ctx.max_batch, mask_net=net, background=background)

    return Explainer(model, list(methods), settings=bound,
                     method_options=image_options(cfg.get("method_options"), image_shape),
                     M=int(cfg.get("mc_samples", 1)), aggregation=aggregation, score=score, seed=int(ctx.seed))


def example_inputs(n: int, cfg: Mapping, *, seed: int = 0) -> torch.Tensor:
    """``n`` random images of the experiment's shape (``(n, 3, 32, 32)`` in [0, 1]; ``cfg``, the
    resolved ``vision`` section, does not change the shape of CIFAR-10)."""
    return torch.rand((int(n), *IMAGE_SHAPE), generator=torch.Generator().manual_seed(int(seed)))


#: what the experiment's models are trained for (:func:`example_dataset`)
TASK = "multiclass"
#: the section :func:`example_section` is read from (a test's overrides go there)
EXAMPLE_SECTION = "attribution"


def example_section(cfg: Mapping) -> dict:
    """The section the example explainer explains with, of the resolved vision section ``cfg``: the attribution section
    over ``aopc`` (the aopc study reads its samples and options)."""
    return study_section(cfg, EXAMPLE_SECTION, base="aopc", shared=tuple(cfg["aopc"]))


def example_model_kwargs(cfg: Mapping) -> dict:
    """The data-dependent keywords training adds to a model spec: one logit per CIFAR-10 class."""
    return {"n_out": len(CIFAR10_CLASSES)}


def example_mask_net(model, cfg: Mapping) -> CifarMaskNet:
    """The mask network of the resolved vision section ``cfg`` (its ``mask``) around ``model``, untrained."""
    m = cfg["mask"]
    return CifarMaskNet(model, width=int(m["width"]), n_convs=int(m["n_convs"]), l2=float(m["l2"]))


def example_explainer(model, cfg: Mapping, *, ctx: RunContext, methods: Sequence[str], mask_net=None) -> Explainer:
    """:func:`explainer` of ``methods`` on ``model`` with the aopc study's section of the resolved vision
    section ``cfg``, its Shapley background ``attribution.background`` random images (seed 2)."""
    n = int(cfg["attribution"].get("background", 16))
    background = example_inputs(n, cfg, seed=2).to(ctx.torch_device) if n else None
    return explainer(model, example_section(cfg), ctx=ctx, methods=methods, mask_net=mask_net,
                     background=background)


def example_dataset(n: int, cfg: Mapping) -> torch.utils.data.TensorDataset:
    """``n`` labelled training examples of the resolved vision section ``cfg`` as ``training.fit`` takes them:
    :func:`example_inputs` and random class labels."""
    return torch.utils.data.TensorDataset(example_inputs(n, cfg), example_labels(n, TASK, len(CIFAR10_CLASSES)))


def example_targets(n: int, cfg: Mapping):
    """The explained output of each of ``n`` :func:`example_inputs`: random classes (seeded with ``n``)."""
    return example_labels(n, TASK, len(CIFAR10_CLASSES))
