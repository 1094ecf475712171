"""The model registry: every model the workflow trains is built by name from its config spec."""
from __future__ import annotations

from typing import Callable

from torch import nn

__all__ = ["MODELS", "build_model", "register_model"]

MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str):
    """Decorator: register a model factory (a class or function returning an ``nn.Module``)."""
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
