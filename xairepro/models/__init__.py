"""Model registry: every model the workflow can train is built by name from config.

Register your own with ``@register_model("name")``; the factory receives the model's keyword
arguments from the config (plus ``n_out``) and must return an ``nn.Module``. Graph models must
expose ``.embedding`` (the attribution target) and take a PyG batch.
"""
from __future__ import annotations

from typing import Callable

from torch import nn

MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str):
    def deco(factory):
        if name in MODELS:
            raise ValueError(f"model {name!r} is already registered")
        MODELS[name] = factory
        return factory
    return deco


def build_model(name: str, **kwargs) -> nn.Module:
    try:
        factory = MODELS[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; registered: {sorted(MODELS)}") from None
    return factory(**kwargs)


from .gnn import GGNN, NFP, PairConv  # noqa: E402

register_model("ggnn")(GGNN)
register_model("nfp")(NFP)
register_model("weave")(PairConv)
