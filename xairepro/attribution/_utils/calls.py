"""Which functions a model's forward pass calls, and swapping those calls for others.

:func:`source_calls` reads the source of a model's own module classes (what it applies as functions,
``F.relu``, ``torch.tanh``, where no module shows it); :class:`CallRules` is a
:class:`~torch.overrides.TorchFunctionMode` under which each call of a listed function runs a replacement
(guided backpropagation's ReLU, DeepLift's Rescale rule) or is refused. Both see modules and functions
alike: ``nn.ReLU`` calls ``F.relu``.
"""
from __future__ import annotations

import functools
import inspect
import re
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from ..registry import MethodNotApplicable

__all__ = ["CallRules", "RELU_CALLS", "source_calls"]

#: every way the project's models call a ReLU
RELU_CALLS = (F.relu, torch.relu, torch.relu_, Tensor.relu, Tensor.relu_)


@functools.lru_cache(maxsize=None)
def class_source(cls: type) -> str:
    try:
        return inspect.getsource(cls)
    except (OSError, TypeError):
        return ""


def source_calls(model, pattern: str) -> list[str]:
    """``Class.name`` for every call matching ``pattern`` (a regex of function names, e.g. ``relu_?``) in
    the source of the model's own module classes (those not defined by torch): what the forward passes
    apply as functions, where no module shows it. A static reading, used to say before any pass whether a
    method has something to act on."""
    found: list[str] = []
    call = re.compile(rf"(?:\bF|\btorch|\.)\.?({pattern})\s*\(")
    for cls in dict.fromkeys(type(m) for m in (model.modules() if isinstance(model, nn.Module) else [])):
        if cls.__module__.startswith("torch."):
            continue
        for name in dict.fromkeys(m.group(1) for m in call.finditer(class_source(cls))):
            found.append(f"{cls.__name__}.{name}")
    return found


class CallRules(TorchFunctionMode):
    """Within the block, each call of a function of ``rules`` (``{function: replacement}``) runs its
    replacement; ``refused`` (``{function: why}``) raise :class:`MethodNotApplicable`. ``hits`` counts
    the replaced calls."""

    def __init__(self, rules: dict, refused: Optional[dict] = None, owner: str = ""):
        super().__init__()
        self.rules, self.refused, self.owner, self.hits = rules, refused or {}, owner, 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        rule = self.rules.get(func)
        if rule is not None:
            self.hits += 1
            return rule(*args, **kwargs)
        why = self.refused.get(func)
        if why is not None:
            raise MethodNotApplicable(f"{self.owner}: the forward pass calls {getattr(func, '__name__', func)}, {why}")
        return func(*args, **kwargs)


